package login_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/dpop"
	"github.com/keyless-dev/keyless/internal/login"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage/memory"
	"github.com/keyless-dev/keyless/internal/sts"
)

var (
	ctx   = context.Background()
	t0    = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	alice = login.Principal{ARN: "arn:aws:iam::111122223333:user/alice", ID: "AIDAALICE"}
)

// keys are MAC keys by id; active is the one new tokens use.
type keys struct {
	mu     sync.Mutex
	active uint32
	byID   map[uint32][]byte
}

func newKeys() *keys {
	return &keys{active: 1, byID: map[uint32][]byte{1: []byte("key-one-key-one-key-one-key-one!")}}
}

func (k *keys) ActiveMACKey() (uint32, []byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.active, k.byID[k.active], nil
}

func (k *keys) MACKey(_ context.Context, id uint32) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.byID[id]; ok {
		return b, nil
	}
	return nil, login.ErrUnknownKey
}

func (k *keys) rotate() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.active++
	k.byID[k.active] = []byte(strings.Repeat("k", 31) + string(rune('0'+k.active)))
}

// issuer issues numbered credentials and can be told to refuse.
type issuer struct {
	n               atomic.Int64
	refuse          atomic.Pointer[login.Error]
	failCredentials atomic.Bool
	onCheck         func() // run once by Check, when set (single goroutine tests)
}

func (i *issuer) Check(context.Context, login.Principal, string, time.Time, sts.Origin) error {
	if i.onCheck != nil {
		i.onCheck()
	}
	if e := i.refuse.Load(); e != nil {
		return e
	}
	return nil
}

func (i *issuer) Credentials(_ context.Context, p login.Principal, expires time.Time) (sts.Credentials, error) {
	if i.failCredentials.Load() {
		return sts.Credentials{}, errors.New("issuer down")
	}
	n := i.n.Add(1)
	return sts.Credentials{AccessKeyID: "ASIA" + strings.Repeat("X", 12) + string(rune('A'+n%26)), Secret: secret.NewString("s"),
		SessionToken: secret.NewString("t"), Expiration: expires}, nil
}

func (i *issuer) IDToken(_ context.Context, p login.Principal, client string) (secret.String, error) {
	return secret.NewString("id-token-for-" + p.ARN + "-" + client), nil
}

type fixture struct {
	s     *login.Service
	clock *clock.Fake
	keys  *keys
	iss   *issuer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clock: clock.NewFake(t0), keys: newKeys(), iss: &issuer{}}
	f.s = login.New(login.Options{Store: memory.New(), Keys: f.keys, Issuer: f.iss, Clock: f.clock, Random: rand.Reader})
	return f
}

const verifierValue = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-more-than-43-chars"

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

const redirect = "http://127.0.0.1:53121/oauth/callback"

func (f *fixture) code(t *testing.T, client string) string {
	t.Helper()
	c, err := f.s.IssueCode(ctx, login.Grant{Client: client, RedirectURI: redirect, Challenge: challenge(verifierValue), Principal: alice, SignedInAt: f.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return c.Reveal()
}

var jtiN atomic.Int64

func proof(jkt string, at time.Time) dpop.Proof {
	return dpop.Proof{JKT: jkt, JTI: "jti-" + string(rune('a'+jtiN.Add(1)%26)) + time.Now().String(), IssuedAt: at}
}

func (f *fixture) redeem(t *testing.T, code string) login.Tokens {
	t.Helper()
	tok, err := f.s.Redeem(ctx, login.Redemption{Client: login.SameDevice, Code: secret.NewString(code), RedirectURI: redirect, Verifier: secret.NewString(verifierValue),
		Proof: proof("jkt-1", f.clock.Now())})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (f *fixture) refresh(token string) (login.Tokens, error) {
	return f.s.Refresh(ctx, login.RefreshRequest{Client: login.SameDevice, Token: secret.NewString(token), Proof: proof("jkt-1", f.clock.Now())})
}

func code(err error) login.Code {
	var e *login.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestRedeemAndRefresh(t *testing.T) {
	f := newFixture(t)
	first := f.redeem(t, f.code(t, login.SameDevice))
	if first.Generation != 1 || first.IDToken.Reveal() != "id-token-for-"+alice.ARN+"-"+login.SameDevice || first.Principal.ARN != alice.ARN {
		t.Fatalf("first tokens: %+v", first)
	}
	if want := t0.Add(15 * time.Minute); !first.Credentials.Expiration.Equal(want) {
		t.Errorf("credentials expire at %v, want %v", first.Credentials.Expiration, want)
	}
	f.clock.Advance(15 * time.Minute)
	second, err := f.refresh(first.RefreshToken.Reveal())
	if err != nil || second.Generation != 2 || second.RefreshToken.Equal(first.RefreshToken) || !second.IDToken.IsZero() {
		t.Fatalf("refresh: %+v %v", second, err)
	}
	// Another process that read the cache file before the refresh: within
	// the grace window it is given the current token, not a new one.
	f.clock.Advance(time.Minute)
	again, err := f.refresh(first.RefreshToken.Reveal())
	if err != nil || !again.Graced || !again.RefreshToken.Equal(second.RefreshToken) || again.Generation != 2 {
		t.Fatalf("the replaced token within the grace window: %+v %v", again, err)
	}
	// Past the grace window the replaced token is a reuse: the family
	// ends, the current token with it.
	f.clock.Advance(2 * time.Minute)
	if _, err := f.refresh(first.RefreshToken.Reveal()); code(err) != login.TokenExpired {
		t.Fatalf("the replaced token after the grace window: %v", err)
	}
	if _, err := f.refresh(second.RefreshToken.Reveal()); code(err) != login.TokenExpired || !strings.Contains(err.Error(), "sign in again") {
		t.Fatalf("the current token after a reuse: %v", err)
	}
}

// A second redemption of a code fails and ends what the first started
// (security.md TOKEN-04); a code is good for 60 s (TOKEN-07), for its
// client (TOKEN-05), redirect URI (TOKEN-06) and verifier (TOKEN-01/03).
func TestRedeemRefusals(t *testing.T) {
	f := newFixture(t)
	c := f.code(t, login.SameDevice)
	first := f.redeem(t, c)
	_, err := f.s.Redeem(ctx, login.Redemption{Client: login.SameDevice, Code: secret.NewString(c), RedirectURI: redirect, Verifier: secret.NewString(verifierValue), Proof: proof("jkt-1", t0)})
	if code(err) != login.InvalidRequest {
		t.Fatalf("TOKEN-04 second redemption: %v", err)
	}
	if _, err := f.refresh(first.RefreshToken.Reveal()); code(err) != login.TokenExpired {
		t.Fatalf("TOKEN-04 the first redemption's family still lives: %v", err)
	}
	for _, tc := range []struct {
		id   string
		r    func(c string) login.Redemption
		want login.Code
	}{
		{"TOKEN-01 wrong verifier", func(c string) login.Redemption {
			return login.Redemption{Client: login.SameDevice, Code: secret.NewString(c), RedirectURI: redirect, Verifier: secret.NewString(strings.Repeat("a", 43))}
		}, login.InvalidRequest},
		{"TOKEN-03 short verifier", func(c string) login.Redemption {
			return login.Redemption{Client: login.SameDevice, Code: secret.NewString(c), RedirectURI: redirect, Verifier: secret.NewString(strings.Repeat("a", 42))}
		}, login.InvalidRequest},
		{"TOKEN-03 verifier with a space", func(c string) login.Redemption {
			return login.Redemption{Client: login.SameDevice, Code: secret.NewString(c), RedirectURI: redirect, Verifier: secret.NewString(strings.Repeat("a", 42) + " ")}
		}, login.InvalidRequest},
		{"TOKEN-05 other client", func(c string) login.Redemption {
			return login.Redemption{Client: login.CrossDevice, Code: secret.NewString(c), RedirectURI: redirect, Verifier: secret.NewString(verifierValue)}
		}, login.InvalidRequest},
		{"TOKEN-06 other port", func(c string) login.Redemption {
			return login.Redemption{Client: login.SameDevice, Code: secret.NewString(c), RedirectURI: "http://127.0.0.1:53122/oauth/callback", Verifier: secret.NewString(verifierValue)}
		}, login.InvalidRequest},
		{"unknown code", func(string) login.Redemption {
			return login.Redemption{Client: login.SameDevice, Code: secret.NewString("nope"), RedirectURI: redirect, Verifier: secret.NewString(verifierValue)}
		}, login.AuthcodeExpired},
	} {
		c := f.code(t, login.SameDevice)
		r := tc.r(c)
		r.Proof = proof("jkt-1", f.clock.Now())
		if _, err := f.s.Redeem(ctx, r); code(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.id, err, tc.want)
		}
		// A refused redemption spends the code all the same.
		if tc.want == login.InvalidRequest && !strings.HasPrefix(tc.id, "TOKEN-03") {
			if _, err := f.s.Redeem(ctx, login.Redemption{Client: login.SameDevice, Code: secret.NewString(c), RedirectURI: redirect, Verifier: secret.NewString(verifierValue),
				Proof: proof("jkt-1", f.clock.Now())}); err == nil {
				t.Errorf("%s: the code was redeemed after a refused try", tc.id)
			}
		}
	}
	same, cross := f.code(t, login.SameDevice), f.code(t, login.CrossDevice)
	f.clock.Advance(61 * time.Second)
	if _, err := f.s.Redeem(ctx, login.Redemption{Client: login.SameDevice, Code: secret.NewString(same), RedirectURI: redirect, Verifier: secret.NewString(verifierValue),
		Proof: proof("jkt-1", f.clock.Now())}); code(err) != login.AuthcodeExpired {
		t.Errorf("TOKEN-07 a same-device code after 61 s: %v", err)
	}
	// A cross-device code is typed into a terminal: five minutes.
	if _, err := f.s.Redeem(ctx, login.Redemption{Client: login.CrossDevice, Code: secret.NewString(cross), RedirectURI: redirect, Verifier: secret.NewString(verifierValue),
		Proof: proof("jkt-1", f.clock.Now())}); err != nil {
		t.Errorf("a cross-device code after 61 s: %v", err)
	}
}

// TOKEN-08: of 20 concurrent redemptions of one code, exactly one wins.
func TestRedeemConcurrent(t *testing.T) {
	f := newFixture(t)
	c := f.code(t, login.SameDevice)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := f.s.Redeem(ctx, login.Redemption{Client: login.SameDevice, Code: secret.NewString(c), RedirectURI: redirect, Verifier: secret.NewString(verifierValue),
				Proof: proof("jkt-1", t0)}); err == nil {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d redemptions won", wins.Load())
	}
}

// Processes sharing one cache file refresh with the same token at once:
// every one is answered, with one rotation between them.
func TestRefreshConcurrent(t *testing.T) {
	f := newFixture(t)
	first := f.redeem(t, f.code(t, login.SameDevice))
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		tokens = map[string]int{}
	)
	for range 10 {
		wg.Go(func() {
			got, err := f.refresh(first.RefreshToken.Reveal())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("a racing refresh: %v", err)
				return
			}
			tokens[got.RefreshToken.Reveal()]++
		})
	}
	wg.Wait()
	if len(tokens) != 1 {
		t.Fatalf("%d different tokens given to racing refreshes, want 1", len(tokens))
	}
}

func TestRefreshRefusals(t *testing.T) {
	f := newFixture(t)
	first := f.redeem(t, f.code(t, login.SameDevice))
	tok := first.RefreshToken.Reveal()
	b, _ := base64.RawURLEncoding.DecodeString(tok)
	b[len(b)-1] ^= 1
	tampered := base64.RawURLEncoding.EncodeToString(b)
	b[len(b)-1] ^= 1
	b[1] = 9 // another key id
	otherKey := base64.RawURLEncoding.EncodeToString(b)
	replayed := proof("jkt-1", f.clock.Now())
	for _, tc := range []struct {
		name string
		r    login.RefreshRequest
		want login.Code
	}{
		{"a tampered token", login.RefreshRequest{Client: login.SameDevice, Token: secret.NewString(tampered), Proof: proof("jkt-1", t0)}, login.TokenExpired},
		{"a token under an unknown key", login.RefreshRequest{Client: login.SameDevice, Token: secret.NewString(otherKey), Proof: proof("jkt-1", t0)}, login.TokenExpired},
		{"not a token", login.RefreshRequest{Client: login.SameDevice, Token: secret.NewString("garbage"), Proof: proof("jkt-1", t0)}, login.TokenExpired},
		{"another DPoP key", login.RefreshRequest{Client: login.SameDevice, Token: secret.NewString(tok), Proof: proof("jkt-2", t0)}, login.InvalidRequest},
		{"another client", login.RefreshRequest{Client: login.CrossDevice, Token: secret.NewString(tok), Proof: proof("jkt-1", t0)}, login.InvalidRequest},
		{"a DPoP proof already used", login.RefreshRequest{Client: login.SameDevice, Token: secret.NewString(tok), Proof: replayed}, ""},
		{"the same proof again", login.RefreshRequest{Client: login.SameDevice, Token: secret.NewString(tok), Proof: replayed}, login.InvalidRequest},
	} {
		if _, err := f.s.Refresh(ctx, tc.r); code(err) != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// The session ends at its cap (12 hours, or the role's maximum), and
// credentials never outlive it; a password change or a revocation ends
// it with USER_CREDENTIALS_CHANGED; rotating the master key does not.
func TestSessionEnds(t *testing.T) {
	f := newFixture(t)
	c, err := f.s.IssueCode(ctx, login.Grant{Client: login.SameDevice, RedirectURI: redirect, Challenge: challenge(verifierValue), Principal: alice,
		SignedInAt: t0, MaxSession: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tok := f.redeem(t, c.Reveal())
	for range 3 {
		f.clock.Advance(15 * time.Minute)
		f.keys.rotate()
		if tok, err = f.refresh(tok.RefreshToken.Reveal()); err != nil {
			t.Fatalf("a refresh within the hour, after a key rotation: %v", err)
		}
	}
	f.clock.Advance(10 * time.Minute) // 55 minutes in
	tok, err = f.refresh(tok.RefreshToken.Reveal())
	if err != nil || !tok.Credentials.Expiration.Equal(t0.Add(time.Hour)) {
		t.Fatalf("credentials near the cap: %v %v", tok.Credentials.Expiration, err)
	}
	f.clock.Advance(5 * time.Minute)
	if _, err := f.refresh(tok.RefreshToken.Reveal()); code(err) != login.TokenExpired {
		t.Fatalf("at the cap: %v", err)
	}

	g := newFixture(t)
	tok = g.redeem(t, g.code(t, login.SameDevice))
	g.iss.refuse.Store(&login.Error{Code: login.CredentialsChanged, Reason: "password_changed", Msg: "changed"})
	if _, err := g.refresh(tok.RefreshToken.Reveal()); code(err) != login.CredentialsChanged {
		t.Fatalf("after a password change: %v", err)
	}
	g.iss.refuse.Store(nil)
	if _, err := g.refresh(tok.RefreshToken.Reveal()); code(err) != login.CredentialsChanged {
		t.Fatalf("the family came back after the change: %v", err)
	}
}

// A replay that proves what the redemption had to ends the session even
// while the first redemption is still issuing (review finding M2): the
// first then fails rather than start a session that outlives its code's
// replay. A replay that proves less (someone who only saw the code) ends
// nothing (L2).
func TestCodeReplays(t *testing.T) {
	f := newFixture(t)
	c := f.code(t, login.SameDevice)
	replay := func(verifier string) error {
		_, err := f.s.Redeem(ctx, login.Redemption{Client: login.SameDevice, Code: secret.NewString(c), RedirectURI: redirect, Verifier: secret.NewString(verifier),
			Proof: proof("jkt-2", f.clock.Now())})
		return err
	}
	f.iss.onCheck = func() {
		f.iss.onCheck = nil
		if err := replay(verifierValue); code(err) != login.InvalidRequest {
			t.Errorf("the replay during the first redemption: %v", err)
		}
	}
	if _, err := f.s.Redeem(ctx, login.Redemption{Client: login.SameDevice, Code: secret.NewString(c), RedirectURI: redirect, Verifier: secret.NewString(verifierValue),
		Proof: proof("jkt-1", f.clock.Now())}); code(err) != login.InvalidRequest {
		t.Fatalf("the first redemption after a replay ended its family: %v", err)
	}

	g := newFixture(t)
	c = g.code(t, login.SameDevice)
	first := g.redeem(t, c)
	if _, err := g.s.Redeem(ctx, login.Redemption{Client: login.SameDevice, Code: secret.NewString(c), RedirectURI: redirect, Verifier: secret.NewString(strings.Repeat("x", 43)),
		Proof: proof("jkt-2", g.clock.Now())}); code(err) != login.InvalidRequest {
		t.Fatalf("a replay with a wrong verifier: %v", err)
	}
	if _, err := g.refresh(first.RefreshToken.Reveal()); err != nil {
		t.Fatalf("a replay that proved nothing ended the session: %v", err)
	}
}

// A refresh whose credentials could not be issued does not advance the
// family (review finding L1): its token is still current later, beyond
// the grace window.
func TestRefreshIssuingFails(t *testing.T) {
	f := newFixture(t)
	first := f.redeem(t, f.code(t, login.SameDevice))
	f.iss.failCredentials.Store(true)
	if _, err := f.refresh(first.RefreshToken.Reveal()); err == nil {
		t.Fatal("a refresh succeeded without credentials")
	}
	f.iss.failCredentials.Store(false)
	f.clock.Advance(10 * time.Minute)
	if got, err := f.refresh(first.RefreshToken.Reveal()); err != nil || got.Generation != 2 || got.Graced {
		t.Fatalf("the refresh after the failure: %+v %v", got, err)
	}
}

// A DPoP proof is accepted once per session while it could be accepted
// at all (its jti kept until iat plus the skew); the family remembers at
// most 64, the oldest dropped first.
func TestProofReplay(t *testing.T) {
	f := newFixture(t)
	tok := f.redeem(t, f.code(t, login.SameDevice))
	p := proof("jkt-1", f.clock.Now())
	next, err := f.s.Refresh(ctx, login.RefreshRequest{Client: login.SameDevice, Token: tok.RefreshToken, Proof: p})
	if err != nil {
		t.Fatal(err)
	}
	var e *login.Error
	_, err = f.s.Refresh(ctx, login.RefreshRequest{Client: login.SameDevice, Token: next.RefreshToken, Proof: p})
	if !errors.As(err, &e) || e.Reason != "dpop_replayed" {
		t.Fatalf("the same proof again: %v", err)
	}
	// 70 more proofs: the first of them is forgotten, the last is not.
	var proofs []dpop.Proof
	cur := next.RefreshToken
	for range 70 {
		pr := proof("jkt-1", f.clock.Now())
		proofs = append(proofs, pr)
		n, err := f.s.Refresh(ctx, login.RefreshRequest{Client: login.SameDevice, Token: cur, Proof: pr})
		if err != nil {
			t.Fatal(err)
		}
		cur = n.RefreshToken
	}
	if _, err := f.s.Refresh(ctx, login.RefreshRequest{Client: login.SameDevice, Token: cur, Proof: proofs[69]}); !errors.As(err, &e) || e.Reason != "dpop_replayed" {
		t.Errorf("the last proof again: %v", err)
	}
	if _, err := f.s.Refresh(ctx, login.RefreshRequest{Client: login.SameDevice, Token: cur, Proof: proofs[0]}); err != nil {
		t.Errorf("the first of 70 proofs, forgotten beyond 64: %v", err)
	}
}
