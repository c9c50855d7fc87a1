package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Algorithm is a JWS algorithm keyless signs with (RFC 7518 section 3.1).
type Algorithm string

// Algorithms. RS256 is the default: every relying party takes it.
const (
	RS256 Algorithm = "RS256"
	ES256 Algorithm = "ES256"
	ES384 Algorithm = "ES384"
)

// Algorithms are the algorithms keyless keeps keys for, in the order they
// are published.
var Algorithms = []Algorithm{RS256, ES256, ES384}

// ParseAlgorithm checks an algorithm's name.
func ParseAlgorithm(s string) (Algorithm, bool) {
	a := Algorithm(s)
	return a, slices.Contains(Algorithms, a)
}

// rsaBits is the size of RSA keys: 2048 bits, what AWS STS and every
// relying party take (NIST SP 800-57 Part 1: 112-bit security).
const rsaBits = 2048

// Options configure Keys.
type Options struct {
	Store storage.SigningKeys
	// KEK seals the private keys at rest. Required.
	KEK    *kek.Set
	Clock  clock.Clock
	Random io.Reader
	Logger *slog.Logger
	// Publish is how long a next key is published before it may sign:
	// the relying parties' cache period plus the refresh interval.
	Publish time.Duration
	// Retain is how long a retired key stays published: the longest
	// token lifetime plus the relying parties' cache period.
	Retain time.Duration
	// RotateEvery rotates an active key once it is this old, provided
	// its next key has been published for Publish (0: on request only).
	RotateEvery time.Duration
}

// Keys is the in-memory view of the stored signing keys.
type Keys struct {
	o   Options
	kek atomic.Pointer[kek.Set]
	cur atomic.Pointer[view]
	// resealPending: a re-seal under the current key-encryption key did
	// not finish; Maintain retries it.
	resealPending atomic.Bool
	refreshMu     sync.Mutex
}

// view is one loaded state of the keys: immutable once built.
type view struct {
	all    []*key // published: next, active and retired, as stored
	active map[Algorithm]*key
	next   map[Algorithm]*key
	jwks   []byte // the published key set, encoded once
}

// key is a stored key opened: its private half only when it can sign.
type key struct {
	stored storage.SigningKey
	alg    Algorithm
	jwk    JWK
	signer crypto.Signer
	header string // the JWS protected header, base64url, ending in "."
}

// Open loads the stored keys and, for each algorithm, makes what is
// missing: an active key (at once, when an algorithm has none: nothing has
// been signed with it, so no relying party can hold a stale set for it)
// and a next key.
func Open(ctx context.Context, o Options) (*Keys, error) {
	if o.KEK == nil {
		return nil, errors.New("signing: no key-encryption key")
	}
	k := &Keys{o: o}
	k.kek.Store(o.KEK)
	if err := k.Refresh(ctx); err != nil {
		return nil, err
	}
	if err := k.complete(ctx); err != nil {
		return nil, err
	}
	if err := k.reseal(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// sealedFor binds a sealed private key to its id and algorithm.
func sealedFor(id string, alg string) []byte {
	return []byte("keyless signing key\x00" + alg + "\x00" + id)
}

// generate makes a new key pair for alg and its stored form.
func (k *Keys) generate(alg Algorithm) (storage.SigningKey, error) {
	var (
		priv crypto.Signer
		err  error
	)
	// Key generation and signing read crypto/rand: since Go 1.24 the
	// standard library ignores any other reader for them, so Options.Random
	// (which seals) is not offered to them.
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		crv, _ := alg.curve()
		if crv == nil {
			return storage.SigningKey{}, fmt.Errorf("signing: unknown algorithm %q", alg)
		}
		priv, err = ecdsa.GenerateKey(crv, rand.Reader)
	}
	if err != nil {
		return storage.SigningKey{}, err
	}
	j, err := publicJWK(alg, priv.Public())
	if err != nil {
		return storage.SigningKey{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return storage.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return storage.SigningKey{}, err
	}
	id := j.Thumbprint()
	sealed, err := k.kek.Load().Seal(k.o.Random, der, sealedFor(id, string(alg)))
	clear(der)
	if err != nil {
		return storage.SigningKey{}, err
	}
	return storage.SigningKey{ID: id, Algorithm: string(alg), Public: pub, Sealed: sealed, CreatedAt: k.o.Clock.Now().UTC()}, nil
}

// ErrTampered means a stored key is not what its id and public half say.
var ErrTampered = errors.New("signing: a stored key does not match its public key or id")

// open checks a stored key and opens its private half with set. stale
// reports a key sealed under a previous key-encryption key.
func open(set *kek.Set, s storage.SigningKey) (k *key, stale bool, err error) {
	alg, ok := ParseAlgorithm(s.Algorithm)
	if !ok {
		return nil, false, fmt.Errorf("signing key %s: unknown algorithm %q", s.ID, s.Algorithm)
	}
	pub, err := x509.ParsePKIXPublicKey(s.Public)
	if err != nil {
		return nil, false, fmt.Errorf("signing key %s: %w", s.ID, err)
	}
	j, err := publicJWK(alg, pub)
	if err != nil {
		return nil, false, fmt.Errorf("signing key %s: %w", s.ID, err)
	}
	if j.Kid = j.Thumbprint(); j.Kid != s.ID {
		return nil, false, fmt.Errorf("signing key %s: %w", s.ID, ErrTampered)
	}
	k = &key{stored: s, alg: alg, jwk: j}
	der, state, err := set.Open(s.Sealed, sealedFor(s.ID, s.Algorithm))
	if err != nil {
		return nil, false, fmt.Errorf("signing key %s: %w", s.ID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, false, fmt.Errorf("signing key %s: %w", s.ID, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, false, fmt.Errorf("signing key %s: %w", s.ID, ErrTampered)
	}
	if p, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !p.Equal(pub) {
		return nil, false, fmt.Errorf("signing key %s: %w", s.ID, ErrTampered)
	}
	k.signer = signer
	hdr, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{string(alg), s.ID, "JWT"})
	k.header = b64.EncodeToString(hdr) + "."
	return k, state == kek.SealedPrevious, nil
}

// Opens reports whether every stored key opens with set.
func (k *Keys) Opens(ctx context.Context, set *kek.Set) error {
	stored, err := k.o.Store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	for _, s := range stored {
		if _, _, err := open(set, s); err != nil {
			return err
		}
	}
	return nil
}

// Refresh reloads the keys from storage.
func (k *Keys) Refresh(ctx context.Context) error {
	k.refreshMu.Lock()
	defer k.refreshMu.Unlock()
	_, err := k.refreshLocked(ctx)
	return err
}

// refreshLocked loads the keys and returns those sealed under a previous
// key-encryption key.
func (k *Keys) refreshLocked(ctx context.Context) ([]*key, error) {
	stored, err := k.o.Store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	set := k.kek.Load()
	old := k.cur.Load()
	v := &view{active: map[Algorithm]*key{}, next: map[Algorithm]*key{}}
	var stale []*key
	for _, s := range stored {
		var e *key
		if old != nil {
			// Opening an RSA key costs a millisecond: keep what is
			// loaded while its stored form is unchanged.
			if p := old.find(s.ID); p != nil && bytes.Equal(p.stored.Sealed, s.Sealed) {
				c := *p
				c.stored = s
				e = &c
			}
		}
		if e == nil {
			var isStale bool
			if e, isStale, err = open(set, s); err != nil {
				return nil, err
			}
			if isStale {
				stale = append(stale, e)
			}
		} else if id, _, err := kek.SealedWith(s.Sealed); err == nil && id != set.Current.ID() {
			stale = append(stale, e)
		}
		v.all = append(v.all, e)
		switch s.State() {
		case storage.SigningKeyActive:
			v.active[e.alg] = e
		case storage.SigningKeyNext:
			v.next[e.alg] = e
		}
	}
	v.jwks = v.encode()
	k.cur.Store(v)
	return stale, nil
}

func (v *view) find(id string) *key {
	for _, e := range v.all {
		if e.stored.ID == id {
			return e
		}
	}
	return nil
}

// encode renders the published key set: by algorithm in the order of
// Algorithms, then oldest first.
func (v *view) encode() []byte {
	set := JWKS{Keys: []JWK{}}
	for _, alg := range Algorithms {
		for _, e := range v.all {
			if e.alg == alg {
				set.Keys = append(set.Keys, e.jwk)
			}
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		panic("signing: encoding the key set: " + err.Error()) // strings only
	}
	return b
}

// JWKS is the published key set, encoded: the same bytes until the keys
// change.
func (k *Keys) JWKS() []byte { return k.cur.Load().jwks }

// complete makes, for each algorithm, the keys it lacks: a next key, and
// an active key if it has none (its next key, activated at once with a
// new next key). Once complete, an algorithm stays so: a rotation
// replaces its next key in the same step. Another node completing at
// once wins some of the races; its keys are adopted.
func (k *Keys) complete(ctx context.Context) error {
	for _, alg := range Algorithms {
		for range 3 {
			v := k.cur.Load()
			if v.next[alg] != nil && v.active[alg] != nil {
				break
			}
			s, err := k.generate(alg)
			if err != nil {
				return err
			}
			if v.next[alg] == nil {
				err = k.o.Store.AddSigningKey(ctx, s)
			} else {
				err = k.o.Store.ActivateSigningKey(ctx, v.next[alg].stored.ID, "", s.CreatedAt, s)
			}
			if err != nil && !errors.Is(err, storage.ErrConflict) {
				return fmt.Errorf("complete the %s keys: %w", alg, err)
			}
			if err := k.Refresh(ctx); err != nil {
				return err
			}
		}
		if v := k.cur.Load(); v.next[alg] == nil || v.active[alg] == nil {
			return fmt.Errorf("signing: the %s keys stay incomplete", alg)
		}
	}
	return nil
}
