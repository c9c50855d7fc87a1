package sts_test

import (
	"slices"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sts"
)

// A federated sign-in (OIDC here; SAML's is the same RoleSignIn): the
// roles whose trust admits the token, the role session signed in to, its
// credentials issued again later, and the ends of it: its own end, the
// role's maximum session duration lowered, the provider removed, the
// role's sessions revoked, the role re-created.
func TestRoleSignIn(t *testing.T) {
	f, s := webIdentity(t)
	token := secret.NewString(s.Sign(ghClaims(f, nil)))
	offer, err := f.svc.WebIdentityRoles(ctx, account, token, "alice", sts.Origin{})
	if err != nil || offer.Provider != ghProvider || !slices.Equal(offer.Roles, []string{deployARN, tenantARN}) {
		t.Fatalf("offer %+v %v (Unscoped must not be offered: the provider is multi-tenant)", offer, err)
	}
	_, in, err := f.svc.SignInWithWebIdentity(ctx, sts.WebIdentityRequest{RoleARN: deployARN, SessionName: "alice", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	if in.ARN() != "arn:aws:sts::111122223333:assumed-role/Deploy/alice" || !in.Ends.Equal(now.Truncate(time.Second).Add(2*time.Hour)) {
		t.Fatalf("sign-in %+v", in)
	}
	f.clock.Advance(10 * time.Minute)
	res, err := f.svc.RoleSignInCredentials(ctx, in, f.clock.Now().Add(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	sess := f.session(t, res.Credentials)
	if sess.Name != "alice" || sess.Federation == nil || sess.Federation.Provider != ghProvider || sess.Principal.UniqueID != "AROADEPLOYDEPLOYDEPL1" {
		t.Errorf("session %+v", sess)
	}
	// Credentials never outlive the sign-in (nor the role session's
	// default hour).
	if res, err := f.svc.RoleSignInCredentials(ctx, in, f.clock.Now().Add(5*time.Hour)); err != nil || res.Credentials.Expiration.After(in.Ends) {
		t.Errorf("credentials past the end: %v %v", res.Credentials.Expiration, err)
	}

	withDirectory := func(edit func(*iam.Contents)) *sts.Service {
		c := contents(t, alice, bob)
		deploy, _ := f.dir.Role(account, "Deploy")
		c.Roles = []iam.RoleInfo{*deploy}
		c.OIDCProviders = []iam.OIDCProvider{{Account: account, URL: ghIssuer, ClientIDs: []string{"sts.amazonaws.com"}, MultiTenant: true,
			ClaimKeys: []string{"repository", "repository_owner", "ref"}, TenantKeys: []string{"repository", "repository_owner"}}}
		edit(&c)
		d, err := iam.NewDirectory(c)
		if err != nil {
			t.Fatal(err)
		}
		return f.service(d, f.sealer(t))
	}
	for _, tc := range []struct {
		name, reason string
		edit         func(*iam.Contents)
	}{
		{"role's maximum session lowered below the sign-in's age", "session_expired", func(c *iam.Contents) { c.Roles[0].MaxSessionDuration = 5 * time.Minute }},
		{"provider removed", sts.ReasonCredentialsChanged, func(c *iam.Contents) { c.OIDCProviders = nil }},
		{"role re-created", "signin_role_unknown", func(c *iam.Contents) { c.Roles[0].UniqueID = "AROADEPLOYDEPLOYDEPL2" }},
	} {
		svc := withDirectory(tc.edit)
		if _, err := svc.RoleSignInCredentials(ctx, in, f.clock.Now().Add(time.Minute)); reasonOf(err) != tc.reason {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.reason)
		}
		if err := svc.CheckRoleSignIn(ctx, in, "signin:CreateOAuth2Token", "*"); reasonOf(err) != tc.reason {
			t.Errorf("%s, the permission check: %v, want %s", tc.name, err, tc.reason)
		}
	}
	f.revokedMu.Lock()
	f.revoked = map[string]time.Time{"AROADEPLOYDEPLOYDEPL1": f.clock.Now()}
	f.revokedMu.Unlock()
	if _, err := f.svc.RoleSignInCredentials(ctx, in, f.clock.Now().Add(time.Minute)); reasonOf(err) != sts.ReasonCredentialsChanged {
		t.Errorf("the role's sessions revoked: %v", err)
	}
	f.revokedMu.Lock()
	f.revoked = nil
	f.revokedMu.Unlock()
	f.clock.Advance(2 * time.Hour)
	if _, err := f.svc.RoleSignInCredentials(ctx, in, f.clock.Now().Add(time.Minute)); reasonOf(err) != "session_expired" {
		t.Errorf("after its end: %v", err)
	}
}
