package exchange

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Challenges issues and checks server challenges: a workload signs one into
// its GetCallerIdentity request (X-Keyless-Challenge), so that a request is
// fresh by the server's clock and good for one exchange only, as
// Teleport's IAM join binds a challenge (security.md V-08, GCIX-11).
// A challenge is sealed, not stored: key id, nonce, and the AEAD-sealed
// expiry, with the audience as additional data.
type Challenges struct {
	ring    *keyring.Ring
	clock   clock.Clock
	random  io.Reader
	ttl     time.Duration
	useOnce func(ctx context.Context, key string, until time.Time) error
}

// ChallengeTTL is how long a challenge may be used.
const ChallengeTTL = 2 * time.Minute

const (
	challengeVersion = 1
	challengeNonce   = 12
	challengeBody    = 8 + 16 // expiry, random
	challengeLen     = 1 + 4 + challengeNonce + challengeBody + 16
)

// ErrChallenge is every challenge refusal.
var ErrChallenge = errors.New("exchange: challenge missing, expired, used, or for another audience")

// NewChallenges returns a challenge issuer; useOnce records used ones.
// With SingleUse, an operator's dry run checks a challenge without
// consuming it, and still refuses one already used.
func NewChallenges(ring *keyring.Ring, c clock.Clock, random io.Reader, useOnce func(context.Context, string, time.Time) error) *Challenges {
	return &Challenges{ring: ring, clock: c, random: random, ttl: ChallengeTTL, useOnce: useOnce}
}

// Issue returns a challenge for audience and when it expires.
func (c *Challenges) Issue(audience string) (string, time.Time, error) {
	id, aead, err := c.ring.Active(keyring.ExchangeChallenge)
	if err != nil {
		return "", time.Time{}, err
	}
	expires := c.clock.Now().Add(c.ttl).UTC().Truncate(time.Second)
	out := make([]byte, 1+4+challengeNonce, challengeLen)
	out[0] = challengeVersion
	binary.BigEndian.PutUint32(out[1:5], id)
	body := make([]byte, challengeBody)
	binary.BigEndian.PutUint64(body, uint64(expires.Unix()))
	if _, err := io.ReadFull(c.random, out[5:]); err != nil {
		return "", time.Time{}, err
	}
	if _, err := io.ReadFull(c.random, body[8:]); err != nil {
		return "", time.Time{}, err
	}
	out = aead.Seal(out, out[5:5+challengeNonce], body, []byte("challenge|"+audience))
	return base64.RawURLEncoding.EncodeToString(out), expires, nil
}

// CheckChallenge accepts a challenge issued for audience, unexpired, once.
func (c *Challenges) CheckChallenge(ctx context.Context, value, audience string) error {
	if len(value) != base64.RawURLEncoding.EncodedLen(challengeLen) {
		return ErrChallenge
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(value)
	if err != nil || raw[0] != challengeVersion {
		return ErrChallenge
	}
	aead, err := c.ring.Lookup(ctx, binary.BigEndian.Uint32(raw[1:5]), keyring.ExchangeChallenge)
	if err != nil {
		return ErrChallenge
	}
	body, err := aead.Open(nil, raw[5:5+challengeNonce], raw[5+challengeNonce:], []byte("challenge|"+audience))
	if err != nil || len(body) != challengeBody {
		return ErrChallenge
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(body)), 0)
	if !c.clock.Now().Before(expires) {
		return ErrChallenge
	}
	sum := sha256.Sum256(raw)
	err = c.useOnce(ctx, "challenge:"+hex.EncodeToString(sum[:]), expires)
	switch {
	case errors.Is(err, storage.ErrConflict):
		return ErrChallenge
	case err != nil:
		// An outage, not a bad challenge: the client should retry.
		return challengeUnavailable{err}
	}
	return nil
}

// challengeUnavailable is a single-use store failure (Unavailable() for
// the AWS verifier's classification).
type challengeUnavailable struct{ cause error }

func (e challengeUnavailable) Error() string {
	return "exchange: challenge store unavailable: " + e.cause.Error()
}
func (e challengeUnavailable) Unwrap() error     { return e.cause }
func (e challengeUnavailable) Unavailable() bool { return true }
