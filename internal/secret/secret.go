package secret

import (
	"crypto/subtle"
	"log/slog"
)

// Redacted is what every secret prints as.
const Redacted = "[REDACTED]"

// String is a secret string.
type String struct{ v string }

// NewString wraps s.
func NewString(s string) String { return String{v: s} }

// Reveal returns the secret value. Call it only where the value must be used.
func (s String) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s String) IsZero() bool { return s.v == "" }

// Equal compares two secrets in constant time.
func (s String) Equal(o String) bool {
	return subtle.ConstantTimeCompare([]byte(s.v), []byte(o.v)) == 1
}

// String implements fmt.Stringer with a placeholder.
func (String) String() string { return Redacted }

// GoString implements fmt.GoStringer with a placeholder.
func (String) GoString() string { return Redacted }

// LogValue implements slog.LogValuer with a placeholder.
func (String) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalText keeps the secret out of JSON, YAML and text encodings.
func (String) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Bytes is a secret byte string, such as key material or a TOTP seed.
type Bytes struct{ v []byte }

// NewBytes wraps b. The caller must not modify b afterwards.
func NewBytes(b []byte) Bytes { return Bytes{v: b} }

// Reveal returns the secret bytes. The caller must not modify them.
func (b Bytes) Reveal() []byte { return b.v }

// Len returns the number of secret bytes.
func (b Bytes) Len() int { return len(b.v) }

// String implements fmt.Stringer with a placeholder.
func (Bytes) String() string { return Redacted }

// GoString implements fmt.GoStringer with a placeholder.
func (Bytes) GoString() string { return Redacted }

// LogValue implements slog.LogValuer with a placeholder.
func (Bytes) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalText keeps the secret out of JSON, YAML and text encodings.
func (Bytes) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
