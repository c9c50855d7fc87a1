package authmsg

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"strings"

	"github.com/keyless-dev/keyless/internal/keyring"
)

const (
	version   = 0x01
	headerLen = 1 + 4
	nonceLen  = 12
	aadLabel  = "keyless/authorization-message/v1"
	// pad rounds plaintexts up to a multiple of this many bytes, so that
	// the length of a message says little about what it holds (whether a
	// role exists, how many statements matched).
	pad = 256
)

// MaxEncoded is the longest message DecodeAuthorizationMessage accepts
// (encodedMessageType, 10240 characters).
const MaxEncoded = 10240

// ErrInvalid means the message was not sealed here for that account, was
// altered, or its key is gone.
var ErrInvalid = errors.New("authmsg: invalid message")

// MessageSealer seals and opens messages.
type MessageSealer struct {
	ring   *keyring.Ring
	random io.Reader
}

// NewMessageSealer returns a MessageSealer.
func NewMessageSealer(ring *keyring.Ring, random io.Reader) *MessageSealer {
	return &MessageSealer{ring: ring, random: random}
}

// Seal encrypts plain for account.
func (s *MessageSealer) Seal(account string, plain []byte) (string, error) {
	id, aead, err := s.ring.Active(keyring.AuthorizationMessage)
	if err != nil {
		return "", err
	}
	// Padding: a length prefix, the text, zeros.
	n := 4 + len(plain)
	padded := make([]byte, (n+pad-1)/pad*pad)
	binary.BigEndian.PutUint32(padded, uint32(len(plain)))
	copy(padded[4:], plain)
	out := make([]byte, headerLen+nonceLen, headerLen+nonceLen+len(padded)+aead.Overhead())
	out[0] = version
	binary.BigEndian.PutUint32(out[1:5], id)
	if _, err := io.ReadFull(s.random, out[headerLen:]); err != nil {
		return "", err
	}
	out = aead.Seal(out, out[headerLen:], padded, aad(account))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a message sealed for account.
func (s *MessageSealer) Open(ctx context.Context, account, encoded string) ([]byte, error) {
	if len(encoded) > MaxEncoded || len(encoded) < base64.RawURLEncoding.EncodedLen(headerLen+nonceLen+16) {
		return nil, ErrInvalid
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(encoded)
	if err != nil || strings.ContainsAny(encoded, "\r\n") || raw[0] != version {
		return nil, ErrInvalid
	}
	aead, err := s.ring.Lookup(ctx, binary.BigEndian.Uint32(raw[1:5]), keyring.AuthorizationMessage)
	if errors.Is(err, keyring.ErrUnknownKey) {
		return nil, ErrInvalid
	}
	if err != nil {
		return nil, err
	}
	padded, err := aead.Open(nil, raw[headerLen:headerLen+nonceLen], raw[headerLen+nonceLen:], aad(account))
	if err != nil || len(padded) < 4 {
		return nil, ErrInvalid
	}
	n := binary.BigEndian.Uint32(padded)
	if uint64(n) > uint64(len(padded)-4) {
		return nil, ErrInvalid
	}
	return padded[4 : 4+n], nil
}

func aad(account string) []byte { return append([]byte(aadLabel+"|"), account...) }
