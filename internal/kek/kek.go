package kek

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/keyless-dev/keyless/internal/secret"
)

// Wrapper is one key-encryption key.
type Wrapper interface {
	// ID names the key without revealing it; it is stored with every key
	// it wraps, so that the right one is asked to unwrap.
	ID() string
	// Wrap encrypts plaintext, authenticating aad with it.
	Wrap(random io.Reader, plaintext, aad []byte) ([]byte, error)
	// Unwrap reverses Wrap; any change to the ciphertext or aad fails.
	Unwrap(ciphertext, aad []byte) ([]byte, error)
}

// KeySize is the size of a Local key: AES-256.
const KeySize = 32

// Local is a key-encryption key held in this process: AES-256-GCM.
type Local struct {
	id   string
	aead cipher.AEAD
}

// NewLocal returns the wrapper for a 32-byte key.
func NewLocal(key secret.Bytes) (*Local, error) {
	if key.Len() != KeySize {
		return nil, fmt.Errorf("a key-encryption key is %d bytes, not %d", KeySize, key.Len())
	}
	block, err := aes.NewCipher(key.Reveal())
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte("keyless key-encryption key id\x00"), key.Reveal()...))
	return &Local{id: "local:" + hex.EncodeToString(sum[:8]), aead: aead}, nil
}

// ID implements Wrapper: "local:" and 16 hex digits of a hash of the key.
func (l *Local) ID() string { return l.id }

// Wrap implements Wrapper: a random 96-bit nonce, then the GCM sealed box.
func (l *Local) Wrap(random io.Reader, plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, l.aead.NonceSize(), l.aead.NonceSize()+len(plaintext)+l.aead.Overhead())
	if _, err := io.ReadFull(random, nonce); err != nil {
		return nil, err
	}
	return l.aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Unwrap implements Wrapper.
func (l *Local) Unwrap(ciphertext, aad []byte) ([]byte, error) {
	n := l.aead.NonceSize()
	if len(ciphertext) < n+l.aead.Overhead() {
		return nil, errUnwrap
	}
	out, err := l.aead.Open(nil, ciphertext[:n], ciphertext[n:], aad)
	if err != nil {
		return nil, errUnwrap
	}
	return out, nil
}

var errUnwrap = errors.New("kek: the wrapped key does not open with this key-encryption key (altered, or wrapped under another)")

// Encode is the text form of a Local key in a file or an environment
// variable: standard base64 of its 32 bytes.
func Encode(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// Parse reads the text form of a Local key; surrounding white space is
// ignored.
func Parse(text secret.String) (*Local, error) {
	s := strings.TrimSpace(text.Reveal())
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != KeySize {
		return nil, fmt.Errorf("a key-encryption key is the base64 of %d random bytes (`keyless keys encryption-key FILE` makes one)", KeySize)
	}
	return NewLocal(secret.NewBytes(b))
}

// Generate makes a new random Local key and returns it with its text form.
func Generate(random io.Reader) (*Local, secret.String, error) {
	b := make([]byte, KeySize)
	if _, err := io.ReadFull(random, b); err != nil {
		return nil, secret.String{}, err
	}
	l, err := NewLocal(secret.NewBytes(b))
	if err != nil {
		return nil, secret.String{}, err
	}
	return l, secret.NewString(Encode(b)), nil
}

// magic starts every sealed blob: the format's version.
var magic = []byte("KLS1")

// Set is the key-encryption key that seals, and those that still unseal.
type Set struct {
	Current  Wrapper
	Previous []Wrapper
}

// State is how a sealed blob was opened.
type State int

// States.
const (
	// Sealed under the current key.
	Current State = iota + 1
	// SealedPrevious: sealed under a previous key; re-seal it.
	SealedPrevious
)

// ErrUnknownKEK means a blob was sealed under a key-encryption key that the
// set does not have.
var ErrUnknownKEK = errors.New("kek: sealed under a key-encryption key that is not configured")

// ErrNotSealed means a blob is not in the sealed format (a key stored in
// the clear by a keyless that predates sealing).
var ErrNotSealed = errors.New("kek: not sealed")

// Seal wraps plaintext under the current key: magic, the key's id
// (length-prefixed), the wrapped bytes.
func (s *Set) Seal(random io.Reader, plaintext, aad []byte) ([]byte, error) {
	id := s.Current.ID()
	if len(id) == 0 || len(id) > 255 {
		return nil, fmt.Errorf("kek: key-encryption key id of %d bytes", len(id))
	}
	w, err := s.Current.Wrap(random, plaintext, bind(id, aad))
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(magic)+1+len(id)+len(w))
	out = append(append(append(append(out, magic...), byte(len(id))), id...), w...)
	return out, nil
}

// Open unwraps a blob that Seal made with any key of the set.
func (s *Set) Open(blob, aad []byte) ([]byte, State, error) {
	id, body, err := SealedWith(blob)
	if err != nil {
		return nil, 0, err
	}
	for i, w := range append([]Wrapper{s.Current}, s.Previous...) {
		if w.ID() != id {
			continue
		}
		out, err := w.Unwrap(body, bind(id, aad))
		if err != nil {
			return nil, 0, err
		}
		if i == 0 {
			return out, Current, nil
		}
		return out, SealedPrevious, nil
	}
	return nil, 0, fmt.Errorf("%w: %s (configured: %s)", ErrUnknownKEK, id, strings.Join(s.IDs(), ", "))
}

// IDs are the ids of the set's keys, the current one first.
func (s *Set) IDs() []string {
	ids := []string{s.Current.ID()}
	for _, w := range s.Previous {
		ids = append(ids, w.ID())
	}
	return ids
}

// SealedWith returns the id of the key-encryption key a blob was sealed
// under, and the wrapped bytes.
func SealedWith(blob []byte) (string, []byte, error) {
	if !bytes.HasPrefix(blob, magic) || len(blob) < len(magic)+1 {
		return "", nil, ErrNotSealed
	}
	n := int(blob[len(magic)])
	rest := blob[len(magic)+1:]
	if n == 0 || len(rest) < n {
		return "", nil, ErrNotSealed
	}
	return string(rest[:n]), rest[n:], nil
}

// bind makes the key's id part of what is authenticated, so that a blob's
// header cannot be changed to name another key.
func bind(id string, aad []byte) []byte {
	return append(append([]byte(id), 0), aad...)
}

// Ephemeral is a set of one random key that exists only in this process:
// for a store that keeps nothing at rest (the memory driver) and tests.
func Ephemeral(random io.Reader) (*Set, error) {
	l, _, err := Generate(random)
	if err != nil {
		return nil, err
	}
	return &Set{Current: l}, nil
}
