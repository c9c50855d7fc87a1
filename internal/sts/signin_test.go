package sts_test

import (
	"errors"
	"testing"
	"time"

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
	d, err := iam.NewDirectory(c)
	if err != nil {
		t.Fatal(err)
	}
	svc := sts.New(f.options(d))
	now := f.clock.Now()
	resource := "arn:aws:signin:us-east-1:" + account + ":oauth2/public-client/same-device"
	plain := sts.SignIn{Principal: alice, SignedInAt: now}
	withMFA := sts.SignIn{Principal: alice, SignedInAt: now, MFAAt: now}

	if err := svc.CheckSignIn(ctx, plain, "signin:CreateOAuth2Token", resource); err != nil {
		t.Errorf("CreateOAuth2Token: %v", err)
	}
	if err := svc.CheckSignIn(ctx, plain, "signin:AuthorizeOAuth2Access", resource); !isDenied(err) {
		t.Errorf("AuthorizeOAuth2Access without MFA: %v", err)
	}
	if err := svc.CheckSignIn(ctx, withMFA, "signin:AuthorizeOAuth2Access", resource); err != nil {
		t.Errorf("AuthorizeOAuth2Access with MFA: %v", err)
	}
	if err := svc.CheckSignIn(ctx, sts.SignIn{Principal: bob, SignedInAt: now}, "signin:CreateOAuth2Token", resource); !isDenied(err) {
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
