package integration_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/integration"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/signing"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

var ctx = context.Background()

const (
	issuer = "https://keyless.example.com"
	role   = "arn:aws:iam::210987654321:role/Scanner"
)

// target is a target STS double: it verifies WIF tokens against the
// issuer's published keys as AWS would, answers what the test sets, and
// counts calls.
type target struct {
	keys    *signing.Keys
	mu      sync.Mutex
	fail    error // answered to every AssumeRole* call when set
	wantSub string
	calls   atomic.Int32
	gci     atomic.Int32
	tokens  []map[string]any
	now     func() time.Time
	life    time.Duration
}

func (t *target) session() integration.Session {
	return integration.Session{AssumedRoleARN: "arn:aws:sts::210987654321:assumed-role/Scanner/keyless-scan",
		Credentials: integration.Credentials{AccessKeyID: "ASIATARGET" + strings.Repeat("X", 10), Secret: secret.NewString("target-secret"),
			SessionToken: secret.NewString("target-token"), Expiration: t.now().Add(t.life)}}
}

func (t *target) AssumeRoleWithWebIdentity(_ context.Context, _ integration.Endpoint, r integration.WebIdentityRequest) (integration.Session, error) {
	t.calls.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fail != nil {
		return integration.Session{}, t.fail
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(t.keys.JWKS(), &set); err != nil {
		return integration.Session{}, err
	}
	jws, err := jose.ParseSignedCompact(r.Token.Reveal(), []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.ES384})
	if err != nil {
		return integration.Session{}, &integration.TargetError{Code: "InvalidIdentityToken", Message: err.Error(), Status: 400}
	}
	ks := set.Key(jws.Signatures[0].Header.KeyID)
	if len(ks) != 1 {
		return integration.Session{}, &integration.TargetError{Code: "InvalidIdentityToken", Message: "unknown kid", Status: 400}
	}
	payload, err := jws.Verify(ks[0])
	if err != nil {
		return integration.Session{}, &integration.TargetError{Code: "InvalidIdentityToken", Message: err.Error(), Status: 400}
	}
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	t.tokens = append(t.tokens, claims)
	if t.wantSub != "" && claims["sub"] != t.wantSub {
		return integration.Session{}, &integration.TargetError{Code: "AccessDenied", Message: "Not authorized to perform sts:AssumeRoleWithWebIdentity", Status: 403}
	}
	return t.session(), nil
}

func (t *target) AssumeRole(_ context.Context, _ integration.Endpoint, key integration.Credentials, _ integration.RoleRequest) (integration.Session, error) {
	t.calls.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fail != nil {
		return integration.Session{}, t.fail
	}
	if key.AccessKeyID != "AKIATARGETUSERKEY001" || key.Secret.Reveal() != "target-user-secret" {
		return integration.Session{}, &integration.TargetError{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid.", Status: 403}
	}
	return t.session(), nil
}

func (t *target) GetSessionToken(context.Context, integration.Endpoint, integration.Credentials, time.Duration) (integration.Session, error) {
	return integration.Session{}, errors.New("not used")
}

func (t *target) GetCallerIdentity(context.Context, integration.Endpoint, integration.Credentials) (string, error) {
	t.gci.Add(1)
	return "arn:aws:sts::210987654321:assumed-role/Scanner/keyless-scan", nil
}

func (t *target) set(err error) {
	t.mu.Lock()
	t.fail = err
	t.mu.Unlock()
}

// sealer seals under a test key-encryption key.
type sealer struct{ set *kek.Set }

func (k sealer) Seal(p, aad []byte) ([]byte, error) { return k.set.Seal(rand.Reader, p, aad) }
func (k sealer) Open(s, aad []byte) ([]byte, error) {
	p, _, err := k.set.Open(s, aad)
	return p, err
}
func (k sealer) Stale(s []byte) bool {
	id, _, err := kek.SealedWith(s)
	return err != nil || id != k.set.Current.ID()
}

type fixture struct {
	set     *kek.Set
	store   *memory.Store
	clock   *clock.Fake
	keys    *signing.Keys
	target  *target
	changes []string
	mu      sync.Mutex
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: memory.New(), clock: clock.NewFake(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))}
	set, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.set = set
	f.keys, err = signing.Open(ctx, signing.Options{Store: f.store, KEK: set, Clock: f.clock, Random: rand.Reader,
		Logger: slog.New(slog.DiscardHandler), Publish: time.Hour, Retain: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f.target = &target{keys: f.keys, now: f.clock.Now, life: time.Hour}
	return f
}

func (f *fixture) service(t *testing.T, specs ...integration.Spec) *integration.Service {
	t.Helper()
	svc := integration.New(integration.Options{Issuer: issuer,
		Sign:   func(alg string, claims []byte) (string, error) { return f.keys.Sign(signing.Algorithm(alg), claims) },
		Target: f.target, States: f.store, IDs: f.store, Leases: f.store, Keys: f.store, Sealer: sealer{f.set}, Clock: f.clock, Random: rand.Reader,
		Logger: slog.New(slog.DiscardHandler), CheckEvery: 15 * time.Minute, MissingAfter: time.Hour, KeyMaxAge: 90 * 24 * time.Hour,
		Changed: func(_ context.Context, before, after storage.IntegrationState) {
			f.mu.Lock()
			f.changes = append(f.changes, before.Status+">"+after.Status)
			f.mu.Unlock()
		}})
	use, err := svc.Prepare(ctx, specs)
	if err != nil {
		t.Fatal(err)
	}
	use()
	return svc
}

func wifSpec() integration.Spec {
	return integration.Spec{Account: "111122223333", Space: "acme-prod", Name: "scan", RoleARN: role, Audience: "keyless",
		Endpoint: integration.Endpoint{URL: "https://sts.us-east-1.amazonaws.com", Region: "us-east-1"}, SessionName: "keyless-scan",
		SessionDuration: time.Hour, Method: integration.WIF, Algorithm: "RS256"}
}

const arn = "arn:aws:keyless::111122223333:integration/acme-prod/scan"

func status(t *testing.T, svc *integration.Service) integration.View {
	t.Helper()
	for _, v := range svc.Views() {
		if v.ARN == arn {
			return v
		}
	}
	t.Fatalf("no view of %s in %+v", arn, svc.Views())
	return integration.View{}
}

func TestLifecycle(t *testing.T) {
	f := newFixture(t)
	svc := f.service(t, wifSpec())
	in, _ := svc.Lookup(arn)
	if len(in.ID) != 32 || in.Subject != in.ID+"@integrations.acme-prod.spaces.keyless.example.com" {
		t.Fatalf("id %q subject %q", in.ID, in.Subject)
	}
	// The id is stable: a restart (a new service on the same store) and
	// another node see the same one.
	if again, _ := f.service(t, wifSpec()).Lookup(arn); again.ID != in.ID {
		t.Fatalf("id changed from %s to %s", in.ID, again.ID)
	}
	// Declared: configuring. The first sweep checks it at once.
	f.target.wantSub = "somebody-else"
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	v := status(t, svc)
	if v.Status != integration.Error || v.Failure != integration.FailTrust || !strings.Contains(v.Diagnosis, in.Subject) ||
		!strings.Contains(v.Diagnosis, `"keyless.example.com:sub": "`+in.Subject+`"`) {
		t.Fatalf("trust refused: %+v", v)
	}
	// The token was keyless's: issuer, subject, audience, 5 minutes.
	tok := f.target.tokens[0]
	if tok["iss"] != issuer || tok["sub"] != in.Subject || tok["aud"] != "keyless" || tok["exp"].(float64)-tok["iat"].(float64) != 300 {
		t.Errorf("token claims %v", tok)
	}
	// Trust fixed: a ping makes it active.
	f.target.wantSub = in.Subject
	f.clock.Advance(2 * time.Second) // a ping at the same instant would take the last check
	v, err := svc.Ping(ctx, arn)
	if err != nil || v.Status != integration.Active || v.AssumedARN == "" || v.Failure != "" || v.Diagnosis != "" {
		t.Fatalf("after the fix: %+v %v", v, err)
	}
	// The target goes away: error, unreachable.
	f.target.set(&integration.TargetError{Unreachable: true, Cause: errors.New("connection refused")})
	f.clock.Advance(2 * time.Second)
	v, _ = svc.Ping(ctx, arn)
	if v.Status != integration.Error || v.Failure != integration.FailUnreachable || !strings.Contains(v.Diagnosis, "could not be reached") {
		t.Fatalf("unreachable: %+v", v)
	}
	// An hour without success: missing, on the next sweep.
	f.clock.Advance(61 * time.Minute)
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if v := status(t, svc); v.Status != integration.Missing {
		t.Fatalf("after an hour of failures: %+v", v)
	}
	// Removed from the configuration: deleted, its record kept.
	use, err := svc.Prepare(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	use()
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if v := status(t, svc); v.Status != integration.Deleted || v.ID != in.ID {
		t.Fatalf("removed: %+v", v)
	}
	// Declared again within a day (a rolling reload, an operator's
	// undo): the same id. A day after its removal, its id is released:
	// declared again, it gets a new id and subject, so that a target's
	// trust in the old one does not carry over.
	if again := f.service(t, wifSpec()); func() string { v, _ := again.Lookup(arn); return v.ID }() != in.ID {
		t.Error("re-declared within a day with a new id")
	}
	f.clock.Advance(25 * time.Hour)
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	use, err = svc.Prepare(ctx, []integration.Spec{wifSpec()})
	if err != nil {
		t.Fatal(err)
	}
	use()
	if again, _ := svc.Lookup(arn); again.ID == in.ID || again.Subject == in.Subject {
		t.Errorf("re-declared with the old id %s", again.ID)
	}
	want := []string{">configuring", "configuring>error", "error>active", "active>error", "error>missing", "missing>deleted"}
	if strings.Join(f.changes, " ") != strings.Join(want, " ") {
		t.Errorf("status changes %v, want %v", f.changes, want)
	}
}

// Two nodes sweeping at once check each integration once per period and
// report each status change once.
func TestChecksRunOncePerDeployment(t *testing.T) {
	f := newFixture(t)
	a, b := f.service(t, wifSpec()), f.service(t, wifSpec())
	in, _ := a.Lookup(arn)
	f.target.wantSub = in.Subject
	for round := range 8 {
		var wg sync.WaitGroup
		for _, n := range []*integration.Service{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := n.Sweep(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if round%2 == 1 {
			f.clock.Advance(15 * time.Minute)
		}
	}
	// The first check, then one per 15-minute period: 4 periods passed.
	if n := f.target.calls.Load(); n < 4 || n > 5 {
		t.Errorf("%d checks in an hour on two nodes, want one per period (4 or 5)", n)
	}
	if strings.Join(f.changes, " ") != ">configuring configuring>active" {
		t.Errorf("status changes reported %v", f.changes)
	}
}

// A thousand consumers are one AssumeRole call; credentials are replaced
// shortly before they expire, and when the integration changes.
func TestCredentialsAreCached(t *testing.T) {
	f := newFixture(t)
	svc := f.service(t, wifSpec())
	in, _ := svc.Lookup(arn)
	f.target.wantSub = in.Subject
	var wg sync.WaitGroup
	var cached atomic.Int32
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := svc.Credentials(ctx, arn)
			if err != nil {
				t.Error(err)
				return
			}
			if h.Cached {
				cached.Add(1)
			}
			if h.AccessKeyID == "" || h.Expiration.Sub(f.clock.Now()) < 5*time.Minute {
				t.Errorf("handed out %+v", h.Credentials)
			}
		}()
	}
	wg.Wait()
	if n := f.target.calls.Load(); n != 1 || cached.Load() != 999 {
		t.Fatalf("%d target calls, %d cached hand-outs for 1000 consumers", n, cached.Load())
	}
	f.clock.Advance(54 * time.Minute) // 6 minutes left: still handed out
	if h, _ := svc.Credentials(ctx, arn); !h.Cached {
		t.Error("credentials with 6 minutes left were replaced")
	}
	f.clock.Advance(2 * time.Minute) // 4 minutes left: replaced
	if h, _ := svc.Credentials(ctx, arn); h.Cached || f.target.calls.Load() != 2 {
		t.Error("credentials with 4 minutes left were handed out")
	}
	// A changed role: the cache is not used.
	spec := wifSpec()
	spec.SessionDuration = 2 * time.Hour
	use, _ := svc.Prepare(ctx, []integration.Spec{spec})
	use()
	if h, _ := svc.Credentials(ctx, arn); h.Cached {
		t.Error("credentials of the previous configuration were handed out")
	}
	if _, err := svc.Credentials(ctx, "arn:aws:keyless::111122223333:integration/acme-prod/other"); !errors.Is(err, integration.ErrUnknown) {
		t.Errorf("an unknown integration: %v", err)
	}
	// A failure is handed out as one, never as stale credentials.
	f.target.set(&integration.TargetError{Code: "AccessDenied", Message: "no", Status: 403})
	f.clock.Advance(2 * time.Hour)
	if _, err := svc.Credentials(ctx, arn); err == nil {
		t.Error("expired credentials were handed out while the target refuses")
	}
	// While it refuses, a flood of consumers is one target call a
	// second; concurrent pings are one check at a time.
	calls := f.target.calls.Load()
	for range 50 {
		if _, err := svc.Credentials(ctx, arn); err == nil {
			t.Fatal("handed out while the target refuses")
		}
	}
	if n := f.target.calls.Load() - calls; n != 0 {
		t.Errorf("%d target calls for 50 refused consumers in the same second", n)
	}
	var pings sync.WaitGroup
	for range 20 {
		pings.Add(1)
		go func() {
			defer pings.Done()
			if _, err := svc.Ping(ctx, arn); err != nil {
				t.Error(err)
			}
		}()
	}
	pings.Wait()
	// The clock stands still: every ping waited for the first one's check.
	if n := f.target.calls.Load() - calls; n != 1 {
		t.Errorf("%d target calls for 20 concurrent pings, want 1", n)
	}
	calls = f.target.calls.Load()
	f.clock.Advance(2 * time.Second)
	_, _ = svc.Credentials(ctx, arn)
	if n := f.target.calls.Load() - calls; n != 1 {
		t.Errorf("%d target calls a second later, want 1", n)
	}
}

// The set-up commands quote what a shell would read otherwise.
func TestSetupCommandsAreQuoted(t *testing.T) {
	f := newFixture(t)
	spec := wifSpec()
	spec.Audience = "partner $(touch pwned) 'x'"
	svc := f.service(t, spec)
	s, err := svc.Setup(arn)
	if err != nil {
		t.Fatal(err)
	}
	want := "--client-id-list 'partner $(touch pwned) '\\''x'\\'''"
	if !strings.Contains(s.Commands[0], want) || !strings.Contains(s.Commands[0], "--url https://keyless.example.com ") ||
		!strings.Contains(s.Commands[2], "--role-name Scanner ") {
		t.Errorf("commands %q, want %s", s.Commands, want)
	}
}

func TestAccessKeyIntegration(t *testing.T) {
	f := newFixture(t)
	spec := wifSpec()
	spec.Method, spec.Audience, spec.Algorithm = integration.AccessKey, "", ""
	spec.Key = &integration.Key{ID: "AKIATARGETUSERKEY001", Secret: secret.NewString("target-user-secret"),
		CreatedAt: f.clock.Now().Add(-100 * 24 * time.Hour)}
	svc := f.service(t, spec)
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	v := status(t, svc)
	if v.Status != integration.Active || v.KeyID != "AKIATARGETUSERKEY001" || v.KeyAge != 100*24*time.Hour ||
		!strings.Contains(v.KeyWarning, "100 days") || v.Subject != "" {
		t.Fatalf("%+v", v)
	}
	if s, err := svc.Setup(arn); err != nil || s.ProviderURL != "" {
		t.Errorf("an access key integration has set-up %+v %v", s, err)
	}
	// The secret is kept sealed in storage: a configuration without it
	// (after a restart) uses the stored one; never in the clear.
	in, _ := svc.Lookup(arn)
	stored, err := f.store.SealedKey(ctx, "integration-access-key/"+in.ID+"/AKIATARGETUSERKEY001")
	if err != nil || bytes.Contains(stored.Sealed, []byte("target-user-secret")) {
		t.Fatalf("stored %v %v", stored, err)
	}
	bare := spec
	bare.Key = &integration.Key{ID: spec.Key.ID, CreatedAt: spec.Key.CreatedAt}
	restarted := f.service(t, bare)
	f.clock.Advance(2 * time.Second)
	if v, err := restarted.Ping(ctx, arn); err != nil || v.Status != integration.Active {
		t.Errorf("after a restart without the secret: %+v %v", v, err)
	}
	other := newFixture(t) // a store that never saw the secret
	svc2 := integration.New(integration.Options{Issuer: issuer, Target: other.target, States: other.store, IDs: other.store, Leases: other.store,
		Keys: other.store, Sealer: sealer{other.set}, Clock: other.clock, Random: rand.Reader, Logger: slog.New(slog.DiscardHandler),
		CheckEvery: time.Minute, MissingAfter: time.Hour})
	if _, err := svc2.Prepare(ctx, []integration.Spec{bare}); !errors.Is(err, integration.ErrNoSecret) {
		t.Errorf("no secret anywhere: %v", err)
	}
	// A wrong secret: the key is diagnosed, never shown.
	spec.Key.Secret = secret.NewString("wrong")
	use, _ := svc.Prepare(ctx, []integration.Spec{spec})
	use()
	f.clock.Advance(2 * time.Second)
	v, _ = svc.Ping(ctx, arn)
	if v.Failure != integration.FailKeyInvalid || strings.Contains(v.Diagnosis, "wrong") || strings.Contains(v.Diagnosis, "target-user-secret") {
		t.Errorf("%+v", v)
	}
}

func TestDiagnoses(t *testing.T) {
	f := newFixture(t)
	svc := f.service(t, wifSpec())
	rows := []struct {
		err  *integration.TargetError
		code string
		says string
	}{
		{&integration.TargetError{Code: "InvalidIdentityToken", Message: "No OpenIDConnect provider found in your account for https://keyless.example.com", Status: 400},
			integration.FailNoProvider, "provider URL https://keyless.example.com and audience keyless"},
		{&integration.TargetError{Code: "InvalidIdentityToken", Message: "Couldn't retrieve verification key from your identity provider", Status: 400},
			integration.FailTokenUnverified, "https://keyless.example.com/.well-known/openid-configuration"},
		{&integration.TargetError{Code: "IDPCommunicationError", Message: "timeout", Status: 400}, integration.FailTokenUnverified, "within about 5 seconds"},
		{&integration.TargetError{Code: "InvalidIdentityToken", Message: "Incorrect token audience", Status: 400}, integration.FailAudience, "client ID list"},
		{&integration.TargetError{Code: "AccessDenied", Message: "Not authorized to perform sts:AssumeRoleWithWebIdentity", Status: 403},
			integration.FailTrust, "trust policy"},
		{&integration.TargetError{Code: "ExpiredTokenException", Message: "Token expired", Status: 400}, integration.FailTokenExpired, "clocks"},
		{&integration.TargetError{Code: "RegionDisabledException", Message: "STS is not activated", Status: 403}, integration.FailRegionDisabled, "Activate"},
		{&integration.TargetError{Code: "Throttling", Message: "Rate exceeded", Status: 400}, integration.FailUnavailable, "try again"},
		{&integration.TargetError{Code: "InternalFailure", Status: 500}, integration.FailUnavailable, "unavailable"},
		{&integration.TargetError{Unreachable: true, Cause: errors.New("dial tcp: connection refused")}, integration.FailUnreachable, "could not be reached"},
		{&integration.TargetError{Code: "ValidationError", Message: "1 validation error", Status: 400}, integration.FailRoleInvalid, role},
	}
	for _, r := range rows {
		f.target.set(r.err)
		f.clock.Advance(2 * time.Second)
		v, err := svc.Ping(ctx, arn)
		if err != nil || v.Failure != r.code || !strings.Contains(v.Diagnosis, r.says) {
			t.Errorf("%s %q: %s %q, want %s mentioning %q", r.err.Code, r.err.Message, v.Failure, v.Diagnosis, r.code, r.says)
		}
	}
}
