package password

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/keyless-dev/keyless/internal/secret"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// Default is RFC 9106 section 4's second recommended option (64 MiB,
// three passes), with two lanes.
var Default = Params{Memory: 64 << 10, Time: 3, Threads: 2}

// Bounds a stored hash's parameters must keep: a configuration cannot
// make one check take a gigabyte or a minute.
const (
	maxMemory  = 1 << 20 // 1 GiB in KiB
	maxTime    = 16
	maxThreads = 16
	minMemory  = 8 << 10
	saltLen    = 16
	keyLen     = 32
)

var b64 = base64.RawStdEncoding // PHC string format: unpadded standard base64

// Hash hashes pw with argon2id under p and a random salt, in the PHC
// string format: $argon2id$v=19$m=M,t=T,p=P$SALT$HASH.
func Hash(pw secret.String, p Params) (string, error) {
	if p.Memory < minMemory || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime || p.Threads < 1 || p.Threads > maxThreads {
		return "", errors.New("password: parameters out of bounds")
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw.Reveal()), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt),
		b64.EncodeToString(key)), nil
}

// Stored is a parsed stored hash.
type Stored struct {
	encoded string
	bcrypt  bool
	params  Params
	salt    []byte
	key     []byte
}

// Parse reads a stored hash, refusing unknown algorithms and parameters
// out of bounds.
func Parse(encoded string) (Stored, error) {
	if len(encoded) > 512 {
		return Stored{}, errors.New("password: hash too long")
	}
	switch {
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil || cost > 16 {
			return Stored{}, errors.New("password: not a bcrypt hash of cost 4 to 16")
		}
		return Stored{encoded: encoded, bcrypt: true}, nil
	case strings.HasPrefix(encoded, "$argon2id$"):
	default:
		return Stored{}, errors.New("password: not an argon2id or bcrypt hash")
	}
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Stored{}, errors.New("password: not an argon2id v=19 PHC string")
	}
	var p Params
	for kv := range strings.SplitSeq(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Stored{}, errors.New("password: argon2id parameters malformed")
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return Stored{}, errors.New("password: argon2id parameters malformed")
			}
			p.Threads = uint8(n)
		default:
			return Stored{}, errors.New("password: argon2id parameters malformed")
		}
	}
	if p.Memory < minMemory || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime || p.Threads < 1 || p.Threads > maxThreads {
		return Stored{}, fmt.Errorf("password: argon2id parameters out of bounds (m %d..%d KiB, t 1..%d, p 1..%d)", minMemory, maxMemory, maxTime, maxThreads)
	}
	salt, errS := b64.Strict().DecodeString(parts[4])
	key, errK := b64.Strict().DecodeString(parts[5])
	if errS != nil || errK != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return Stored{}, errors.New("password: argon2id salt or hash malformed")
	}
	return Stored{encoded: encoded, params: p, salt: salt, key: key}, nil
}

// Stamp identifies the stored hash without revealing anything of it, so
// that a session can tell the password changed since it began.
func (s Stored) Stamp() string {
	sum := sha256.Sum256([]byte("keyless password stamp\x00" + s.encoded))
	return hex.EncodeToString(sum[:8])
}

// match reports whether pw matches s, in time that does not depend on
// where they differ.
func (s Stored) match(pw secret.String) bool {
	if s.bcrypt {
		return bcrypt.CompareHashAndPassword([]byte(s.encoded), []byte(pw.Reveal())) == nil
	}
	key := argon2.IDKey([]byte(pw.Reveal()), s.salt, s.params.Time, s.params.Memory, s.params.Threads, uint32(len(s.key)))
	return subtle.ConstantTimeCompare(key, s.key) == 1
}

// ErrBusy means every verification slot stayed taken for the Checker's
// wait: the caller answers "try again later".
var ErrBusy = errors.New("password: too many sign-ins at once")

// Checker verifies passwords, a bounded number at once.
type Checker struct {
	slots chan struct{}
	wait  time.Duration
	// dummy is verified for users who do not exist (or have no
	// password), so that the answer takes as long either way.
	dummy Stored
}

// NewChecker runs at most n verifications at once; a verification waits
// at most wait for a slot.
func NewChecker(n int, wait time.Duration) *Checker {
	enc, err := Hash(secret.NewString("keyless dummy password"), Default)
	if err != nil {
		panic(err) // Default is within bounds; only the random source can fail
	}
	dummy, _ := Parse(enc)
	return &Checker{slots: make(chan struct{}, max(n, 1)), wait: wait, dummy: dummy}
}

// Verify reports whether pw matches stored. A nil stored (no such user,
// or no password) verifies a dummy hash and reports false.
func (c *Checker) Verify(ctx context.Context, stored *Stored, pw secret.String) (bool, error) {
	select {
	case c.slots <- struct{}{}: // a free slot is taken at once
	default:
		t := time.NewTimer(c.wait)
		defer t.Stop()
		select {
		case c.slots <- struct{}{}:
		case <-t.C:
			return false, ErrBusy
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	defer func() { <-c.slots }()
	if stored == nil {
		c.dummy.match(pw)
		return false, nil
	}
	return stored.match(pw), nil
}
