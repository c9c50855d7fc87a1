package sts_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/password"
	"github.com/keyless-dev/keyless/internal/secret"

	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/sts"
)

// AWS's SignInLocalDevelopmentAccess (v3), with MFA asked of one action.
const signInPolicy = `{"Version":"2012-10-17","Statement":[
	{"Effect":"Allow","Action":["signin:AuthorizeOAuth2Access","signin:CreateOAuth2Token"],"Resource":"arn:aws:signin:*:*:oauth2/public-client/*"},
	{"Effect":"Deny","Action":"signin:AuthorizeOAuth2Access","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}`

// A sign-in's credentials are a session of the user itself, with the
// sign-in's MFA; its permissions are the user's own, MFA context
// included; a user removed since, or not a user, gets nothing.
func TestSignIn(t *testing.T) {
	f := newFixture(t)
	c := contents(t, alice, bob)
	c.Users[0].Policies = append(c.Users[0].Policies, policy.Named{Name: "managed policy SignIn", Doc: mustParse(t, policy.Identity, signInPolicy)})
	pw := hashed(t, "alice's password")
	c.Users[0].Password, c.Users[1].Password = &pw, &pw
	d, err := iam.NewDirectory(c)
	if err != nil {
		t.Fatal(err)
	}
	svc := sts.New(f.options(d))
	now := f.clock.Now()
	resource := "arn:aws:signin:us-east-1:" + account + ":oauth2/public-client/same-device"
	plain := sts.SignIn{Principal: alice, SignedInAt: now, PasswordStamp: pw.Stamp()}
	withMFA := sts.SignIn{Principal: alice, SignedInAt: now, MFAAt: now, PasswordStamp: pw.Stamp()}

	if err := svc.CheckSignIn(ctx, plain, "signin:CreateOAuth2Token", resource); err != nil {
		t.Errorf("CreateOAuth2Token: %v", err)
	}
	if err := svc.CheckSignIn(ctx, plain, "signin:AuthorizeOAuth2Access", resource); !isDenied(err) {
		t.Errorf("AuthorizeOAuth2Access without MFA: %v", err)
	}
	if err := svc.CheckSignIn(ctx, withMFA, "signin:AuthorizeOAuth2Access", resource); err != nil {
		t.Errorf("AuthorizeOAuth2Access with MFA: %v", err)
	}
	if err := svc.CheckSignIn(ctx, sts.SignIn{Principal: bob, SignedInAt: now, PasswordStamp: pw.Stamp()}, "signin:CreateOAuth2Token", resource); !isDenied(err) {
		t.Errorf("bob, without the policy: %v", err)
	}

	creds, err := svc.SignInCredentials(ctx, withMFA, now.Add(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	sess := f.sessionOf(t, svc, creds)
	if sess.Issuer != credential.IssuerSignIn || sess.Principal.UniqueID != alice.UniqueID || !sess.MFA() || !sess.Expiration.Equal(now.Add(15*time.Minute)) {
		t.Errorf("session: %+v", sess)
	}
	if _, err := svc.SignInCredentials(ctx, plain, now.Add(-time.Second)); err == nil {
		t.Error("credentials that expired before they were issued")
	}
	gone := iam.Principal{Type: iam.User, Account: account, Name: "carol", Path: "/", UniqueID: "AIDACAROLCAROLCAROL01"}
	if _, err := svc.SignInCredentials(ctx, sts.SignIn{Principal: gone, SignedInAt: now}, now.Add(time.Minute)); !isDenied(err) {
		t.Errorf("a user no longer in the configuration: %v", err)
	}
	if err := svc.CheckSignIn(ctx, sts.SignIn{Principal: root, SignedInAt: now}, "signin:CreateOAuth2Token", resource); !isDenied(err) {
		t.Errorf("root signing in with a password: %v", err)
	}
}

func isDenied(err error) bool {
	var e *sts.Error
	return errors.As(err, &e) && e.Code == sts.AccessDenied
}

// sessionOf opens credentials svc issued as a later request would.
func (f *fixture) sessionOf(t *testing.T, svc *sts.Service, c sts.Credentials) *credential.Session {
	t.Helper()
	sc, err := svc.LookupCredentials(ctx, c.AccessKeyID, c.SessionToken.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	return sc.Caller.Session
}

func hashed(t testing.TB, pw string) password.Stored {
	t.Helper()
	enc, err := password.Hash(secret.NewString(pw), password.Params{Memory: 8 << 10, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := password.Parse(enc)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// passwordFixture is alice (a password) and bob (a password and an MFA
// device), with limits of 3 failures per user and 5 per source.
func passwordFixture(t *testing.T) (*fixture, *sts.Service) {
	f := newFixture(t)
	c := contents(t, alice, bob)
	c.Accounts[0].Alias = "example"
	pa, pb := hashed(t, "alice's password"), hashed(t, "bob's password")
	c.Users[0].Password, c.Users[1].Password = &pa, &pb
	d, err := iam.NewDirectory(c)
	if err != nil {
		t.Fatal(err)
	}
	return f, sts.New(f.options(d, func(o *sts.Options) {
		o.Passwords = password.NewChecker(2, time.Second)
		o.SignInLimits = sts.SignInLimits{PerUser: 3, PerSource: 5, Window: 15 * time.Minute}
	}))
}

func reasonOf(err error) string {
	var e *sts.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// SIGNIN-01..05: a password sign-in succeeds with the right password (and
// the right TOTP code for a user with a device); every failure has one
// message whatever was wrong, unknown users included.
func TestSignInWithPassword(t *testing.T) {
	f, svc := passwordFixture(t)
	in := func(account, user, pw, code string) sts.PasswordSignIn {
		return sts.PasswordSignIn{Account: account, User: user, Password: secret.NewString(pw), MFACode: secret.NewString(code), Source: "192.0.2.1"}
	}
	got, err := svc.SignInWithPassword(ctx, in(account, "alice", "alice's password", ""))
	if err != nil || got.Principal != alice || !got.MFAAt.IsZero() || got.PasswordStamp == "" {
		t.Fatalf("alice: %+v %v", got, err)
	}
	if got, err := svc.SignInWithPassword(ctx, in("example", "alice", "alice's password", "")); err != nil || got.Principal != alice {
		t.Errorf("alice by the account alias: %v", err)
	}
	got, err = svc.SignInWithPassword(ctx, in(account, "bob", "bob's password", f.code(0)))
	if err != nil || got.Principal != bob || !got.MFAAt.Equal(f.clock.Now()) {
		t.Fatalf("bob with his code: %+v %v", got, err)
	}
	var message string
	for _, tc := range []struct {
		id, reason string
		in         sts.PasswordSignIn
	}{
		{"SIGNIN-01 wrong password", "signin_password_wrong", in(account, "alice", "guess", "")},
		{"SIGNIN-02 unknown user", "signin_user_unknown", in(account, "mallory", "guess", "")},
		{"SIGNIN-02 unknown account", "signin_user_unknown", in("nosuchalias", "alice", "alice's password", "")},
		{"SIGNIN-03 MFA code missing", "signin_mfa_missing", in(account, "bob", "bob's password", "")},
		{"SIGNIN-03 MFA code wrong", "signin_mfa_code_invalid", in(account, "bob", "bob's password", "000000")},
		{"SIGNIN-04 MFA code replayed", "signin_mfa_code_reused", in(account, "bob", "bob's password", f.code(0))},
		{"SIGNIN-05 oversized password", "signin_input_invalid", in(account, "alice", strings.Repeat("x", 1025), "")},
	} {
		tc.in.Source = tc.id // each case its own source: the per-source limit is tested below
		_, err := svc.SignInWithPassword(ctx, tc.in)
		var e *sts.Error
		if !errors.As(err, &e) || e.Code != sts.AccessDenied || e.Reason != tc.reason {
			t.Errorf("%s: %v (reason %q, want %q)", tc.id, err, reasonOf(err), tc.reason)
			continue
		}
		if message == "" {
			message = e.Msg
		} else if e.Msg != message {
			t.Errorf("%s: message %q differs from %q", tc.id, e.Msg, message)
		}
	}
}

// SIGNIN-06: guesses in parallel get no more than the per-user limit
// evaluated, and then the right password is refused too until the window
// ends; another source's limit is its own.
func TestSignInGuessingInParallel(t *testing.T) {
	f, svc := passwordFixture(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	reasons := map[string]int{}
	for i := range 20 {
		wg.Go(func() {
			_, err := svc.SignInWithPassword(ctx, sts.PasswordSignIn{Account: account, User: "alice",
				Password: secret.NewString(fmt.Sprint("guess ", i)), Source: fmt.Sprint("192.0.2.", i)})
			mu.Lock()
			reasons[reasonOf(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if reasons["signin_password_wrong"] != 3 || reasons["signin_locked_out"] != 17 {
		t.Errorf("20 parallel guesses with a limit of 3: %v", reasons)
	}
	right := sts.PasswordSignIn{Account: account, User: "alice", Password: secret.NewString("alice's password"), Source: "192.0.2.99"}
	if _, err := svc.SignInWithPassword(ctx, right); reasonOf(err) != "signin_locked_out" {
		t.Errorf("the right password while locked out: %v", err)
	}
	f.clock.Advance(15 * time.Minute)
	if _, err := svc.SignInWithPassword(ctx, right); err != nil {
		t.Errorf("the right password in the next window: %v", err)
	}
	// One source guessing across users is stopped at its own limit.
	for i := range 6 {
		_, err := svc.SignInWithPassword(ctx, sts.PasswordSignIn{Account: account, User: fmt.Sprint("user", i),
			Password: secret.NewString("guess"), Source: "198.51.100.7"})
		if want := map[bool]string{true: "signin_user_unknown", false: "signin_locked_out"}[i < 5]; reasonOf(err) != want {
			t.Errorf("source guess %d: %v, want %s", i, err, want)
		}
	}
}

// SIGNIN-07: a sign-in ends when the user's password changes or their
// sessions are revoked after it.
func TestSignInEndsOnPasswordChangeAndRevocation(t *testing.T) {
	f, svc := passwordFixture(t)
	in, err := svc.SignInWithPassword(ctx, sts.PasswordSignIn{Account: account, User: "alice", Password: secret.NewString("alice's password"), Source: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SignInCredentials(ctx, in, f.clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	f.revokedMu.Lock()
	f.revoked = map[string]time.Time{alice.UniqueID: f.clock.Now()}
	f.revokedMu.Unlock()
	if _, err := svc.SignInCredentials(ctx, in, f.clock.Now().Add(time.Minute)); reasonOf(err) != sts.ReasonCredentialsChanged {
		t.Errorf("after revocation: %v", err)
	}
	f.revokedMu.Lock()
	f.revoked = nil
	f.revokedMu.Unlock()
	c := contents(t, alice, bob)
	changed := hashed(t, "a new password")
	c.Users[0].Password = &changed
	nd, err := iam.NewDirectory(c)
	if err != nil {
		t.Fatal(err)
	}
	svc2 := sts.New(f.options(nd))
	if _, err := svc2.SignInCredentials(ctx, in, f.clock.Now().Add(time.Minute)); reasonOf(err) != sts.ReasonCredentialsChanged {
		t.Errorf("after a password change: %v", err)
	}
}
