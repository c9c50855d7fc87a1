package signing_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/signing"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

var ctx = context.Background()

const (
	publish = 65 * time.Minute // an hour's cache plus a refresh
	retain  = 2 * time.Hour
)

type fixture struct {
	store *memory.Store
	clock *clock.Fake
	set   *kek.Set
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	set, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{store: memory.New(), clock: clock.NewFake(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)), set: set}
}

func (f *fixture) open(t *testing.T, rotateEvery time.Duration) *signing.Keys {
	t.Helper()
	k, err := signing.Open(ctx, signing.Options{Store: f.store, KEK: f.set, Clock: f.clock, Random: rand.Reader,
		Logger: slog.New(slog.DiscardHandler), Publish: publish, Retain: retain, RotateEvery: rotateEvery})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// verify checks token against a key set as a relying party does, with
// go-jose (an implementation independent of keyless's), and returns its
// claims.
func verify(t *testing.T, keySet []byte, token string, alg signing.Algorithm) (map[string]any, error) {
	t.Helper()
	return verifyWith(t, parseSet(t, keySet), token, alg)
}

func parseSet(t *testing.T, keySet []byte) *jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(keySet, &set); err != nil {
		t.Fatalf("go-jose cannot read the key set: %v", err)
	}
	return &set
}

func verifyWith(t *testing.T, set *jose.JSONWebKeySet, token string, alg signing.Algorithm) (map[string]any, error) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		return nil, err
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		return nil, errors.New("kid " + jws.Signatures[0].Header.KeyID + " is not in the cached key set")
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims, nil
}

func TestOpenPublishesAnActiveAndANextKeyPerAlgorithm(t *testing.T) {
	f := newFixture(t)
	k := f.open(t, 0)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(k.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 6 {
		t.Fatalf("%d keys published, want an active and a next key for each of 3 algorithms: %s", len(set.Keys), k.JWKS())
	}
	allowed := map[string]bool{"kty": true, "use": true, "alg": true, "kid": true, "n": true, "e": true, "crv": true, "x": true, "y": true}
	for _, j := range set.Keys {
		for m := range j {
			if !allowed[m] {
				t.Errorf("published key has member %q: %v", m, j)
			}
		}
		if j["use"] != "sig" || j["kid"] == "" {
			t.Errorf("key %v lacks use or kid", j)
		}
	}
	// go-jose reads every key as public, and the kid is the RFC 7638
	// thumbprint.
	var js jose.JSONWebKeySet
	if err := json.Unmarshal(k.JWKS(), &js); err != nil {
		t.Fatal(err)
	}
	crvs := map[string]int{}
	for _, j := range js.Keys {
		if !j.IsPublic() || !j.Valid() {
			t.Errorf("key %s is not a valid public key", j.KeyID)
		}
		tp, err := j.Thumbprint(cryptoSHA256)
		if err != nil || base64.RawURLEncoding.EncodeToString(tp) != j.KeyID {
			t.Errorf("kid %s is not the thumbprint: %v", j.KeyID, err)
		}
		crvs[j.Algorithm]++
	}
	if crvs["RS256"] != 2 || crvs["ES256"] != 2 || crvs["ES384"] != 2 {
		t.Errorf("algorithms published: %v", crvs)
	}
	states := map[storage.SigningKeyState]int{}
	stored, err := f.store.ListSigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range signing.Describe(stored, retain) {
		states[key.State]++
		if key.Sealed != nil {
			t.Errorf("List shows a sealed private key")
		}
	}
	if states[storage.SigningKeyActive] != 3 || states[storage.SigningKeyNext] != 3 {
		t.Errorf("states: %v", states)
	}
	// A second node on the same store adopts the keys.
	k2 := f.open(t, 0)
	if string(k2.JWKS()) != string(k.JWKS()) {
		t.Error("a second node published a different key set")
	}
}

func TestSignedTokensVerifyWithAnIndependentLibrary(t *testing.T) {
	f := newFixture(t)
	k := f.open(t, 0)
	for _, alg := range signing.Algorithms {
		tok, err := k.Sign(alg, []byte(`{"sub":"s","aud":"a","iat":1,"exp":2}`))
		if err != nil {
			t.Fatal(err)
		}
		claims, err := verify(t, k.JWKS(), tok, alg)
		if err != nil || claims["sub"] != "s" {
			t.Fatalf("%s: %v %v", alg, claims, err)
		}
		hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
		var h map[string]string
		if err := json.Unmarshal(hdr, &h); err != nil || h["typ"] != "JWT" || h["alg"] != string(alg) || len(h) != 3 {
			t.Errorf("%s header %s", alg, hdr)
		}
		// A token is not valid under another algorithm's name.
		other := signing.RS256
		if alg == signing.RS256 {
			other = signing.ES384
		}
		if _, err := verify(t, k.JWKS(), tok, other); err == nil {
			t.Errorf("%s token verified as %s", alg, other)
		}
		// Tampering with the payload breaks it.
		parts := strings.Split(tok, ".")
		parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"t","aud":"a","iat":1,"exp":2}`))
		if _, err := verify(t, k.JWKS(), strings.Join(parts, "."), alg); err == nil {
			t.Errorf("%s: a changed payload verified", alg)
		}
	}
}

func TestRotateWaitsUntilTheNextKeyWasPublishedLongEnough(t *testing.T) {
	f := newFixture(t)
	k := f.open(t, 0)
	_, err := k.Rotate(ctx, signing.RS256)
	var soon *signing.TooSoonError
	if !errors.As(err, &soon) || !soon.Ready.Equal(f.clock.Now().Add(publish)) {
		t.Fatalf("rotation right away: %v", err)
	}
	before := activeKid(t, k, signing.RS256)
	f.clock.Advance(publish)
	r, err := k.Rotate(ctx, signing.RS256)
	if err != nil {
		t.Fatal(err)
	}
	if r.Retired != before || r.Active == before || r.Next == "" || r.Next == r.Active {
		t.Fatalf("rotation %+v from %s", r, before)
	}
	if got := activeKid(t, k, signing.RS256); got != r.Active {
		t.Errorf("signing with %s after rotating to %s", got, r.Active)
	}
	// The retired key stays published for Retain, then goes.
	if !strings.Contains(string(k.JWKS()), before) {
		t.Error("the retired key left the key set at once")
	}
	f.clock.Advance(retain)
	if err := k.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(k.JWKS()), before) {
		t.Error("the retired key left the key set before Retain had passed")
	}
	f.clock.Advance(time.Second)
	if err := k.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(k.JWKS()), before) {
		t.Error("the retired key is still published after Retain")
	}
}

func activeKid(t *testing.T, k *signing.Keys, alg signing.Algorithm) string {
	t.Helper()
	tok, err := k.Sign(alg, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	var h map[string]string
	if err := json.Unmarshal(hdr, &h); err != nil {
		t.Fatal(err)
	}
	return h["kid"]
}

// Nodes rotating at once rotate once: every node ends up signing with the
// same key, and no algorithm has two active or two next keys. A node
// that loses the race reports the winner's rotation, or, if it looked
// after the winner was done, that the new next key is too young.
func TestConcurrentRotationsRotateOnce(t *testing.T) {
	f := newFixture(t)
	nodes := []*signing.Keys{f.open(t, 0), f.open(t, 0), f.open(t, 0), f.open(t, 0)}
	f.clock.Advance(publish)
	var wg sync.WaitGroup
	results := make([]signing.Rotation, len(nodes))
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = n.Rotate(ctx, signing.ES384)
		}()
	}
	wg.Wait()
	active := ""
	for i := range nodes {
		var soon *signing.TooSoonError
		switch {
		case errs[i] == nil && (active == "" || results[i].Active == active):
			active = results[i].Active
		case errs[i] == nil:
			t.Errorf("node %d reports %s active, another node %s", i, results[i].Active, active)
		case !errors.As(errs[i], &soon):
			t.Errorf("node %d: %v", i, errs[i])
		}
	}
	if active == "" {
		t.Fatal("no node rotated")
	}
	for i, n := range nodes {
		if err := n.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if got := activeKid(t, n, signing.ES384); got != active {
			t.Errorf("node %d signs with %s, not %s", i, got, active)
		}
	}
	keys, err := f.store.ListSigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	count := map[storage.SigningKeyState]int{}
	for _, s := range keys {
		if s.Algorithm == "ES384" {
			count[s.State()]++
		}
	}
	if count[storage.SigningKeyActive] != 1 || count[storage.SigningKeyNext] != 1 || count[storage.SigningKeyRetired] != 1 {
		t.Errorf("ES384 keys after concurrent rotations: %v", count)
	}
}

// A relying party that caches the key set for the promised period (and
// never fetches early, even for an unknown kid) verifies every token
// across any number of automatic rotations.
func TestARelyingPartyCachingForThePeriodVerifiesAcrossRotations(t *testing.T) {
	const (
		cachePeriod = time.Hour
		tokenLife   = time.Hour
		rotateEvery = 20 * time.Minute // shorter than Publish: Publish decides
		step        = 10 * time.Minute
	)
	f := newFixture(t)
	nodeA, nodeB := f.open(t, rotateEvery), f.open(t, rotateEvery)
	var cached *jose.JSONWebKeySet
	var fetchedAt time.Time
	type issued struct {
		token string
		alg   signing.Algorithm
		exp   time.Time
	}
	var live []issued
	rotations := map[string]bool{}
	start := f.clock.Now()
	for f.clock.Now().Sub(start) < 16*time.Hour {
		// Each node maintains every step (the refresh interval is far
		// shorter in keyless); they take turns serving.
		for _, n := range []*signing.Keys{nodeA, nodeB} {
			if err := n.Maintain(ctx); err != nil {
				t.Fatal(err)
			}
		}
		now := f.clock.Now()
		if cached == nil || now.Sub(fetchedAt) >= cachePeriod {
			cached, fetchedAt = parseSet(t, nodeB.JWKS()), now
		}
		for i, alg := range signing.Algorithms {
			signer := nodeA
			if i%2 == 1 {
				signer = nodeB
			}
			tok, err := signer.Sign(alg, []byte(`{"sub":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			rotations[activeKid(t, signer, alg)] = true
			live = append(live, issued{tok, alg, now.Add(tokenLife)})
		}
		kept := live[:0]
		for _, tok := range live {
			if now.After(tok.exp) {
				continue
			}
			if _, err := verifyWith(t, cached, tok.token, tok.alg); err != nil {
				t.Fatalf("at %s (key set cached at %s): a live %s token does not verify: %v",
					now.Sub(start), fetchedAt.Sub(start), tok.alg, err)
			}
			kept = append(kept, tok)
		}
		live = kept
		f.clock.Advance(step)
	}
	if len(rotations) < 3*8 {
		t.Fatalf("only %d signing keys were used in 16 hours; rotation did not happen", len(rotations))
	}
	if n := strings.Count(string(nodeA.JWKS()), `"kid"`); n > 3*4 {
		t.Errorf("%d keys published after 16 hours of rotations; retired keys are not unpublished", n)
	}
}

func TestKeysAreSealedAndChecked(t *testing.T) {
	f := newFixture(t)
	f.open(t, 0)
	other, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signing.Open(ctx, signing.Options{Store: f.store, KEK: other, Clock: f.clock, Random: rand.Reader,
		Logger: slog.New(slog.DiscardHandler), Publish: publish, Retain: retain}); err == nil {
		t.Fatal("keys opened with another key-encryption key")
	}
	// A new key-encryption key, the old one previous: keys are re-sealed.
	rotated := &kek.Set{Current: other.Current, Previous: []kek.Wrapper{f.set.Current}}
	k := f.open(t, 0)
	if err := k.UseKEK(ctx, rotated); err != nil {
		t.Fatal(err)
	}
	keys, err := f.store.ListSigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range keys {
		if id, _, err := kek.SealedWith(s.Sealed); err != nil || id != other.Current.ID() {
			t.Errorf("key %s sealed with %q after re-sealing: %v", s.ID, id, err)
		}
	}
	if err := k.Opens(ctx, other); err != nil {
		t.Errorf("the new key-encryption key alone does not open the keys: %v", err)
	}
	// A stored public key swapped for another key's is caught.
	a, b := keys[0], keys[0]
	for _, s := range keys[1:] {
		if s.Algorithm == a.Algorithm {
			b = s
		}
	}
	tampered := memory.New()
	a.Public = b.Public
	if err := tampered.AddSigningKey(ctx, storage.SigningKey{ID: a.ID, Algorithm: a.Algorithm, Public: a.Public, Sealed: a.Sealed, CreatedAt: a.CreatedAt}); err != nil {
		t.Fatal(err)
	}
	if _, err := signing.Open(ctx, signing.Options{Store: tampered, KEK: other, Clock: f.clock, Random: rand.Reader,
		Logger: slog.New(slog.DiscardHandler), Publish: publish, Retain: retain}); !errors.Is(err, signing.ErrTampered) {
		t.Errorf("a swapped public key: %v", err)
	}
}
