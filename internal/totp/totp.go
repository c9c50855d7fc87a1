package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"time"
)

// Algorithm is the HMAC hash (RFC 6238 section 1.2).
type Algorithm int

// Algorithms.
const (
	SHA1 Algorithm = iota
	SHA256
	SHA512
)

func (a Algorithm) new() func() hash.Hash {
	switch a {
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	default:
		return sha1.New
	}
}

// Params describe a TOTP device. The zero value is not usable; use Default.
type Params struct {
	Digits    int           // 6 or 8
	Period    time.Duration // X in RFC 6238 section 4.1
	Algorithm Algorithm
	Skew      int // steps accepted on either side of the current one
}

// Default returns what AWS virtual MFA devices use: 6 digits, 30 s, HMAC-SHA1,
// one step of skew.
func Default() Params {
	return Params{Digits: 6, Period: 30 * time.Second, Algorithm: SHA1, Skew: 1}
}

// StepAt returns the time step T for t (RFC 6238 section 4.2, T0 = 0).
func (p Params) StepAt(t time.Time) int64 {
	return t.Unix() / int64(p.Period/time.Second)
}

// Code computes the code for a time step (RFC 4226 section 5.3).
func (p Params) Code(seed []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(p.Algorithm.new(), seed)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	out := make([]byte, p.Digits)
	for i := p.Digits - 1; i >= 0; i-- {
		out[i] = byte('0' + bin%10)
		bin /= 10
	}
	return string(out)
}

// Verify reports the time step whose code equals code, among the steps within
// Skew of now. Every candidate is computed and compared in constant time, so
// the response time does not reveal which step matched. The caller must
// check that the step is newer than the last one accepted for this device.
func (p Params) Verify(seed []byte, code string, now time.Time) (step int64, ok bool) {
	if len(code) != p.Digits {
		return 0, false
	}
	cur := p.StepAt(now)
	for s := cur - int64(p.Skew); s <= cur+int64(p.Skew); s++ {
		match := subtle.ConstantTimeCompare([]byte(p.Code(seed, s)), []byte(code)) == 1
		if match {
			step, ok = s, true
		}
	}
	return step, ok
}
