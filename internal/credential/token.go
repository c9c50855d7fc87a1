package credential

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"strings"

	"github.com/keyless-dev/keyless/internal/accesskey"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/secret"
)

const (
	version   = 0x01
	headerLen = 1 + 4
	nonceLen  = 12
	tagLen    = 16
	aadLabel  = "keyless/session-token/v1"
)

// MaxTokenLen bounds a session token before any decoding or decryption.
const MaxTokenLen = 4096

// ErrInvalidToken means the token is not one this deployment issued for
// that access key id, or its key is gone. The caller answers
// InvalidClientTokenId and learns nothing more.
var ErrInvalidToken = errors.New("credential: invalid session token")

// TokenSealer mints temporary credentials and seals and opens session tokens.
type TokenSealer struct {
	ring         *keyring.Ring
	deploymentID string
	random       io.Reader
}

// NewTokenSealer returns a sealer for one deployment.
func NewTokenSealer(ring *keyring.Ring, deploymentID string, random io.Reader) *TokenSealer {
	return &TokenSealer{ring: ring, deploymentID: deploymentID, random: random}
}

// Issue fills in a fresh ASIA... access key id (encoding the principal's
// account) and a fresh 40-character secret, and returns the sealed token.
func (s *TokenSealer) Issue(sess *Session) (token secret.String, err error) {
	sess.AccessKeyID, err = accesskey.New(accesskey.TemporaryPrefix, sess.Principal.Account, s.random)
	if err != nil {
		return secret.String{}, err
	}
	raw := make([]byte, secretLen)
	if _, err := io.ReadFull(s.random, raw); err != nil {
		return secret.String{}, err
	}
	sess.Secret = secret.NewString(base64.StdEncoding.EncodeToString(raw))
	id, aead, err := s.ring.Active(keyring.SessionToken)
	if err != nil {
		return secret.String{}, err
	}
	out := make([]byte, headerLen+nonceLen, headerLen+nonceLen+200)
	out[0] = version
	binary.BigEndian.PutUint32(out[1:5], id)
	if _, err := io.ReadFull(s.random, out[headerLen:]); err != nil {
		return secret.String{}, err
	}
	out = aead.Seal(out, out[headerLen:], encodeClaims(*sess, raw), s.aad(id, sess.AccessKeyID))
	return secret.NewString(base64.RawURLEncoding.EncodeToString(out)), nil
}

// Open authenticates and decrypts a token presented with accessKeyID. It
// does not check expiry or whether the principal still exists.
func (s *TokenSealer) Open(ctx context.Context, accessKeyID, token string) (Session, error) {
	if len(token) > MaxTokenLen || len(token) < base64.RawURLEncoding.EncodedLen(headerLen+nonceLen+tagLen) {
		return Session{}, ErrInvalidToken
	}
	// The decoder skips CR and LF; a token has exactly one spelling.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || strings.ContainsAny(token, "\r\n") || raw[0] != version {
		return Session{}, ErrInvalidToken
	}
	id := binary.BigEndian.Uint32(raw[1:5])
	aead, err := s.ring.Lookup(ctx, id, keyring.SessionToken)
	if errors.Is(err, keyring.ErrUnknownKey) {
		return Session{}, ErrInvalidToken
	}
	if err != nil {
		return Session{}, err // storage trouble: not the client's fault
	}
	plain, err := aead.Open(nil, raw[headerLen:headerLen+nonceLen], raw[headerLen+nonceLen:], s.aad(id, accessKeyID))
	if err != nil {
		return Session{}, ErrInvalidToken
	}
	sess, rawSecret, err := decodeClaims(plain)
	if err != nil {
		return Session{}, ErrInvalidToken
	}
	sess.AccessKeyID = accessKeyID
	sess.Secret = secret.NewString(base64.StdEncoding.EncodeToString(rawSecret))
	return sess, nil
}

func (s *TokenSealer) aad(keyID uint32, accessKeyID string) []byte {
	b := make([]byte, 0, len(aadLabel)+2+len(s.deploymentID)+4+len(accessKeyID))
	b = append(b, aadLabel...)
	b = binary.AppendUvarint(b, uint64(len(s.deploymentID)))
	b = append(b, s.deploymentID...)
	b = binary.BigEndian.AppendUint32(b, keyID)
	return append(b, accessKeyID...)
}
