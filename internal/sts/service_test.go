package sts_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/authmsg"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
	"github.com/keyless-dev/keyless/internal/sts"
	"github.com/keyless-dev/keyless/internal/totp"
)

var ctx = context.Background()

const (
	account = "111122223333"
	bobMFA  = "arn:aws:iam::111122223333:mfa/bob"
)

var (
	alice   = iam.Principal{Type: iam.User, Account: account, Name: "alice", Path: "/", UniqueID: "AIDAALICEALICEALICE01"}
	bob     = iam.Principal{Type: iam.User, Account: account, Name: "bob", Path: "/engineering/", UniqueID: "AIDABOBBOBBOBBOBBOB01"}
	root    = iam.Principal{Type: iam.Root, Account: account, UniqueID: account}
	bobSeed = []byte("0123456789abcdef0123")
)

type fixture struct {
	svc       *sts.Service
	clock     *clock.Fake
	store     *memory.Store
	mfa       *faultyMFA
	dir       *iam.Directory
	ring      *keyring.Ring
	revokedMu sync.Mutex
	revoked   map[string]time.Time
	// keys are the OIDC providers' key sets, by issuer.
	keys map[string]idtoken.KeySource
}

// mfaState is what the service keeps per MFA device.
type mfaState interface {
	storage.MFA
	storage.Attempts
}

// faultyMFA wraps a store's MFA state and fails on command (fault injection).
type faultyMFA struct {
	mfaState
	fail atomic.Bool
}

var errDown = errors.New("storage is down")

func (f *faultyMFA) UseTOTPStep(ctx context.Context, s string, step int64) error {
	if f.fail.Load() {
		return errDown
	}
	return f.mfaState.UseTOTPStep(ctx, s, step)
}

func (f *faultyMFA) TakeAttempt(ctx context.Context, key string, w time.Time) (int, error) {
	if f.fail.Load() {
		return 0, errDown
	}
	return f.mfaState.TakeAttempt(ctx, key, w)
}

func directory(t testing.TB, users ...iam.Principal) *iam.Directory {
	d, err := iam.NewDirectory(contents(t, users...))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// selfService lets a principal use the STS actions that need permission.
const selfService = `{"Version":"2012-10-17","Statement":{"Sid":"SelfService","Effect":"Allow",
	"Action":["sts:GetAccessKeyInfo","sts:DecodeAuthorizationMessage","sts:GetFederationToken"],"Resource":"*"}}`

func mustParse(t testing.TB, kind policy.Kind, text string) *policy.Document {
	t.Helper()
	d, err := policy.Parse(kind, text)
	if err != nil {
		t.Fatalf("%v in %s", err, text)
	}
	return d
}

// contents is alice and bob (with selfService, keys and bob's MFA device)
// and root's key; tests add roles and policies.
func contents(t testing.TB, users ...iam.Principal) iam.Contents {
	var infos []iam.UserInfo
	for _, u := range users {
		infos = append(infos, iam.UserInfo{Principal: u, Policies: []policy.Named{{Name: "inline policy SelfService of user/" + u.Name, Doc: mustParse(t, policy.Identity, selfService)}}})
	}
	keys := []iam.AccessKey{{ID: "AKIAROOT000000000000", Secret: secret.NewString("root-secret-0123456789"), Active: true, Owner: root}}
	var devices []iam.MFADevice
	for _, u := range users {
		switch u.Name {
		case "alice":
			keys = append(keys, iam.AccessKey{ID: "AKIAIOSFODNN7EXAMPLE", Secret: secret.NewString("alice-secret-0123456789"), Active: true, Owner: u},
				iam.AccessKey{ID: "AKIAALICEINACTIVE000", Secret: secret.NewString("old-secret-0123456789"), Active: false, Owner: u})
		case "bob":
			keys = append(keys, iam.AccessKey{ID: "AKIABTX3GSDS7NXV2MXY", Secret: secret.NewString("bob-secret-0123456789"), Active: true, Owner: u})
			devices = append(devices, iam.MFADevice{Serial: bobMFA, Seed: secret.NewBytes(bobSeed), TOTP: totp.Default(), Owner: u})
		}
	}
	return iam.Contents{Accounts: []iam.Account{{ID: account}}, Users: infos, AccessKeys: keys, MFADevices: devices}
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	store := memory.New()
	c := clock.NewFake(time.Date(2026, 11, 21, 12, 0, 10, 0, time.UTC))
	kekSet, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Open(ctx, keyring.Options{KEK: kekSet, Store: store, Clock: c, Random: rand.Reader,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Retain: 37 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{clock: c, store: store, mfa: &faultyMFA{mfaState: store}, dir: directory(t, alice, bob)}
	f.ring = ring
	f.svc = f.service(f.dir, credential.NewTokenSealer(ring, "test", rand.Reader))
	return f
}

func (f *fixture) service(d *iam.Directory, sealer *credential.TokenSealer) *sts.Service {
	o := f.options(d)
	o.Tokens = sealer
	return sts.New(o)
}

// options are the fixture's service options for directory d, changed by
// edit.
func (f *fixture) options(d *iam.Directory, edit ...func(*sts.Options)) sts.Options {
	o := sts.Options{Directory: d, Tokens: credential.NewTokenSealer(f.ring, "test", rand.Reader), Messages: authmsg.NewMessageSealer(f.ring, rand.Reader),
		MFA: f.mfa, Attempts: f.mfa, Clock: f.clock, MFAMaxFailures: 5, MFALockoutWindow: 5 * time.Minute, RevokedBefore: f.revokedBefore,
		ProviderKeys: func(p *iam.OIDCProvider) idtoken.KeySource { return f.keys[p.URL] }}
	for _, e := range edit {
		e(&o)
	}
	return o
}

func (f *fixture) revokedBefore(id string) time.Time {
	f.revokedMu.Lock()
	defer f.revokedMu.Unlock()
	return f.revoked[id]
}

func (f *fixture) code(offset int64) string {
	p := totp.Default()
	return p.Code(bobSeed, p.StepAt(f.clock.Now())+offset)
}

// session opens issued credentials as a later request would.
func (f *fixture) session(t testing.TB, c sts.Credentials) *credential.Session {
	t.Helper()
	sc, err := f.svc.LookupCredentials(ctx, c.AccessKeyID, c.SessionToken.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	return sc.Caller.Session
}

func caller(t testing.TB, f *fixture, akid string) sts.Caller {
	t.Helper()
	c, err := f.svc.LookupCredentials(ctx, akid, "")
	if err != nil {
		t.Fatal(err)
	}
	return c.Caller
}

func wantCode(t testing.TB, err error, code sts.Code, reason string) {
	t.Helper()
	var e *sts.Error
	if !errors.As(err, &e) || e.Code != code || (reason != "" && e.Reason != reason) {
		t.Fatalf("got %v, want code %d reason %s", err, code, reason)
	}
}

func TestLookupCredentials(t *testing.T) {
	f := newFixture(t)
	c, err := f.svc.LookupCredentials(ctx, "AKIAIOSFODNN7EXAMPLE", "")
	if err != nil || c.Caller.Principal != alice || c.Secret.Reveal() != "alice-secret-0123456789" || c.Caller.Session != nil {
		t.Fatalf("alice: %+v %v", c, err)
	}
	cases := map[string][2]string{
		"access_key_unknown":               {"AKIAUNKNOWN000000000", ""},
		"access_key_inactive":              {"AKIAALICEINACTIVE000", ""},
		"session_token_with_long_term_key": {"AKIAIOSFODNN7EXAMPLE", "sometoken"},
		"session_token_missing":            {"ASIAIOSFODNN7EXAMPLE", ""},
		"session_token_invalid":            {"ASIAIOSFODNN7EXAMPLE", "sometoken"},
	}
	for reason, in := range cases {
		_, err := f.svc.LookupCredentials(ctx, in[0], in[1])
		wantCode(t, err, sts.InvalidClientTokenID, reason)
	}
}

func TestGetCallerIdentity(t *testing.T) {
	f := newFixture(t)
	for akid, want := range map[string]sts.Identity{
		"AKIAIOSFODNN7EXAMPLE": {account, "arn:aws:iam::111122223333:user/alice", alice.UniqueID},
		"AKIABTX3GSDS7NXV2MXY": {account, "arn:aws:iam::111122223333:user/engineering/bob", bob.UniqueID},
		"AKIAROOT000000000000": {account, "arn:aws:iam::111122223333:root", account},
	} {
		if got := f.svc.GetCallerIdentity(ctx, caller(t, f, akid)); got != want {
			t.Errorf("%s: %+v", akid, got)
		}
	}
}

func TestGetSessionTokenDurations(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		akid string
		ask  time.Duration
		want time.Duration
	}{
		{"AKIAIOSFODNN7EXAMPLE", 0, 12 * time.Hour},
		{"AKIAIOSFODNN7EXAMPLE", 900 * time.Second, 900 * time.Second},
		{"AKIAIOSFODNN7EXAMPLE", 36 * time.Hour, 36 * time.Hour},
		{"AKIAROOT000000000000", 0, time.Hour},
		{"AKIAROOT000000000000", 36 * time.Hour, time.Hour}, // GST-02: silently capped
		{"AKIAROOT000000000000", 1000 * time.Second, 1000 * time.Second},
	}
	for _, c := range cases {
		creds, err := f.svc.GetSessionToken(ctx, caller(t, f, c.akid), sts.GetSessionTokenRequest{Duration: c.ask})
		if err != nil {
			t.Fatal(err)
		}
		if got := creds.Expiration.Sub(f.clock.Now().Truncate(time.Second)); got != c.want {
			t.Errorf("%s asked %v: got %v", c.akid, c.ask, got)
		}
		if f.session(t, creds).MFA() {
			t.Error("MFA recorded without a code")
		}
	}
}

// The session credentials work for the next request until they expire, and
// stop working the instant they do.
func TestSessionLifecycle(t *testing.T) {
	f := newFixture(t)
	creds, err := f.svc.GetSessionToken(ctx, caller(t, f, "AKIAIOSFODNN7EXAMPLE"), sts.GetSessionTokenRequest{Duration: 900 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := f.svc.LookupCredentials(ctx, creds.AccessKeyID, creds.SessionToken.Reveal())
	if err != nil || !sc.Secret.Equal(creds.Secret) || sc.Caller.Principal != alice {
		t.Fatalf("lookup: %+v %v", sc, err)
	}
	if err := f.svc.CheckCaller(sc.Caller); err != nil {
		t.Fatal(err)
	}
	if got := f.svc.GetCallerIdentity(ctx, sc.Caller); got.ARN != alice.ARN() || got.UserID != alice.UniqueID {
		t.Errorf("identity with session creds: %+v", got)
	}
	_, err = f.svc.GetSessionToken(ctx, sc.Caller, sts.GetSessionTokenRequest{})
	wantCode(t, err, sts.AccessDenied, "session_credentials") // GST-01
	_, err = f.svc.GetAccessKeyInfo(ctx, sc.Caller, "AKIAIOSFODNN7EXAMPLE")
	wantCode(t, err, sts.AccessDenied, "session_credentials")

	f.clock.Set(creds.Expiration.Add(-time.Millisecond))
	if err := f.svc.CheckCaller(sc.Caller); err != nil {
		t.Fatalf("1 ms before expiry: %v", err)
	}
	f.clock.Set(creds.Expiration)
	wantCode(t, f.svc.CheckCaller(sc.Caller), sts.ExpiredToken, "session_expired") // SIG-24

	// GCI-06: a valid token for a user who has since been deleted (or
	// re-created with a new unique id) is refused.
	recreated := bob
	recreated.Name, recreated.UniqueID = "alice", "AIDANEWALICENEWALICE1"
	gone := f.service(directory(t, recreated, bob), nil)
	f.clock.Set(creds.Expiration.Add(-time.Minute))
	wantCode(t, gone.CheckCaller(sc.Caller), sts.InvalidClientTokenID, "session_principal_gone")
}

func TestGetSessionTokenMFA(t *testing.T) {
	f := newFixture(t)
	bobC := caller(t, f, "AKIABTX3GSDS7NXV2MXY")
	gst := func(serial, code string) error {
		creds, err := f.svc.GetSessionToken(ctx, bobC, sts.GetSessionTokenRequest{SerialNumber: serial, TokenCode: secret.NewString(code)})
		if err == nil && !f.session(t, creds).MFA() {
			t.Fatal("MFA session without MFA flag")
		}
		return err
	}
	if err := gst(bobMFA, f.code(0)); err != nil {
		t.Fatalf("valid code: %v", err)
	}
	wantCode(t, gst(bobMFA, f.code(0)), sts.AccessDenied, "mfa_code_reused")  // GST-05
	wantCode(t, gst(bobMFA, f.code(-1)), sts.AccessDenied, "mfa_code_reused") // GST-08: older than the last used
	if err := gst(bobMFA, f.code(1)); err != nil {                            // GST-07: t+1 is newer
		t.Fatalf("next step: %v", err)
	}
	wantCode(t, gst(bobMFA, ""), sts.AccessDenied, "mfa_incomplete") // GST-03
	wantCode(t, gst("", "123456"), sts.AccessDenied, "mfa_incomplete")
	aliceC := caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	_, err := f.svc.GetSessionToken(ctx, aliceC, sts.GetSessionTokenRequest{SerialNumber: bobMFA, TokenCode: secret.NewString(f.code(0))})
	wantCode(t, err, sts.AccessDenied, "mfa_device_not_owned") // GST-10
	f.clock.Advance(30 * time.Second)
	wantCode(t, gst(bobMFA, f.code(2)), sts.AccessDenied, "mfa_code_invalid") // GST-08: t+2
}

// GST-11: after MFAMaxFailures wrong codes, even a correct code is refused
// until the lockout window ends.
func TestMFALockout(t *testing.T) {
	f := newFixture(t)
	bobC := caller(t, f, "AKIABTX3GSDS7NXV2MXY")
	req := func(code string) error {
		_, err := f.svc.GetSessionToken(ctx, bobC, sts.GetSessionTokenRequest{SerialNumber: bobMFA, TokenCode: secret.NewString(code)})
		return err
	}
	for range 5 {
		wantCode(t, req("000000"), sts.AccessDenied, "")
	}
	wantCode(t, req(f.code(0)), sts.AccessDenied, "mfa_locked_out")
	f.clock.Advance(5 * time.Minute)
	if err := req(f.code(0)); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// F-16: the same code sent 50 times at once succeeds exactly once.
func TestMFAConcurrentReuse(t *testing.T) {
	f := newFixture(t)
	bobC := caller(t, f, "AKIABTX3GSDS7NXV2MXY")
	code := f.code(0)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.GetSessionToken(ctx, bobC, sts.GetSessionTokenRequest{SerialNumber: bobMFA, TokenCode: secret.NewString(code)}); err == nil {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d successes", wins.Load())
	}
}

// F-03: when storage fails, MFA fails closed with ServiceUnavailable.
func TestMFAStorageDown(t *testing.T) {
	f := newFixture(t)
	f.mfa.fail.Store(true)
	_, err := f.svc.GetSessionToken(ctx, caller(t, f, "AKIABTX3GSDS7NXV2MXY"), sts.GetSessionTokenRequest{SerialNumber: bobMFA, TokenCode: secret.NewString(f.code(0))})
	wantCode(t, err, sts.ServiceUnavailable, "mfa_store_unavailable")
	if !errors.Is(err, errDown) {
		t.Error("cause lost")
	}
}

func TestGetAccessKeyInfo(t *testing.T) {
	f := newFixture(t)
	c := caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	for id, want := range map[string]string{
		"AKIAIOSFODNN7EXAMPLE": account,        // known: the directory's answer
		"AKIAQYLPMN5HHHFPZAM2": "052310077262", // unknown: decoded
	} {
		if got, err := f.svc.GetAccessKeyInfo(ctx, c, id); err != nil || got != want {
			t.Errorf("%s: %q %v", id, got, err)
		}
	}
	_, err := f.svc.GetAccessKeyInfo(ctx, c, "AKIA0000000000000000")
	wantCode(t, err, sts.ValidationError, "access_key_not_decodable")
}
