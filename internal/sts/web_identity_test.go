package sts_test

import (
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/idtoken/idtokentest"
	"github.com/keyless-dev/keyless/internal/jwks"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sts"
)

const (
	ghIssuer   = "https://token.actions.githubusercontent.com"
	ghProvider = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
	deployARN  = "arn:aws:iam::111122223333:role/Deploy"
	tenantARN  = "arn:aws:iam::111122223333:role/Tenant"
)

// webIdentity sets up a GitHub Actions provider (multi-tenant) and roles
// that trust it, with a signer for its tokens.
func webIdentity(t testing.TB) (*fixture, *idtokentest.Signer) {
	t.Helper()
	f := newFixture(t)
	signer := idtokentest.NewRSA("gh-1")
	keys, _, err := idtoken.ParseKeySet(idtokentest.JWKS(signer))
	if err != nil {
		t.Fatal(err)
	}
	f.keys = map[string]idtoken.KeySource{ghIssuer: jwks.Static(keys)}
	deploy := role(t, account, "Deploy", "AROADEPLOYDEPLOYDEPL1", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"Federated":"`+ghProvider+`"},"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],
		"Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},
		"StringLike":{"token.actions.githubusercontent.com:sub":"repo:org/app:ref:refs/heads/main"}}}]}`)
	unscoped := role(t, account, "Unscoped", "AROAUNSCOPEDUNSCOPED1", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"Federated":"`+ghProvider+`"},"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}`)
	tenant := role(t, account, "Tenant", "AROATENANTTENANTTENA1", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"Federated":"`+ghProvider+`"},"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],
		"Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:repository_owner":"org"}}}]}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${aws:PrincipalTag/TenantID}/*"}}`)
	c := contents(t, alice, bob)
	c.Roles = []iam.RoleInfo{deploy, unscoped, tenant}
	c.OIDCProviders = []iam.OIDCProvider{{Account: account, URL: ghIssuer, ClientIDs: []string{"sts.amazonaws.com"},
		MultiTenant: true, ClaimKeys: []string{"repository", "repository_owner", "ref"}, TenantKeys: []string{"repository", "repository_owner"}}}
	d, err := iam.NewDirectory(c)
	if err != nil {
		t.Fatal(err)
	}
	f.dir = d
	f.svc = f.service(d, f.sealer(t))
	return f, signer
}

func ghClaims(f *fixture, extra map[string]any) map[string]any {
	now := f.clock.Now()
	c := map[string]any{"iss": ghIssuer, "sub": "repo:org/app:ref:refs/heads/main", "aud": "sts.amazonaws.com",
		"repository": "org/app", "repository_owner": "org", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func (f *fixture) web(roleARN, token string) (sts.WebIdentityResult, error) {
	return f.svc.AssumeRoleWithWebIdentity(ctx, sts.WebIdentityRequest{RoleARN: roleARN, SessionName: "gha-run-1", Token: secret.NewString(token)})
}

func TestWebIdentity(t *testing.T) {
	f, s := webIdentity(t)
	res, err := f.web(deployARN, s.Sign(ghClaims(f, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Subject != "repo:org/app:ref:refs/heads/main" || res.Audience != "sts.amazonaws.com" || res.Provider != ghProvider ||
		res.AssumedRoleARN != "arn:aws:sts::111122223333:assumed-role/Deploy/gha-run-1" || res.HasPackedPolicySize {
		t.Fatalf("result %+v", res)
	}
	sess := f.session(t, res.Credentials)
	if sess.Federation == nil || sess.Federation.Provider != ghProvider || sess.Federation.Subject != res.Subject {
		t.Fatalf("session federation %+v", sess.Federation)
	}
	// The session is a role session: GetCallerIdentity names it.
	id := f.svc.GetCallerIdentity(ctx, f.as(t, res.Credentials))
	if id.ARN != res.AssumedRoleARN {
		t.Fatalf("GetCallerIdentity %+v", id)
	}
}

func TestWebIdentityRefusals(t *testing.T) {
	f, s := webIdentity(t)
	other := idtokentest.NewRSA("gh-1") // same kid, different key
	cases := []struct {
		name, role, token string
		code              sts.Code
		reason            string
	}{
		{"other branch", deployARN, s.Sign(ghClaims(f, map[string]any{"sub": "repo:org/app:ref:refs/heads/main-evil"})), sts.AccessDenied, "policy_no_resource_policy_allow"},
		{"unscoped trust in a multi-tenant issuer", "arn:aws:iam::111122223333:role/Unscoped", s.Sign(ghClaims(f, nil)), sts.AccessDenied, "trust_not_scoped"},
		{"missing role", "arn:aws:iam::111122223333:role/Nope", s.Sign(ghClaims(f, nil)), sts.AccessDenied, "policy_no_resource_policy_allow"},
		{"unregistered issuer", deployARN, s.Sign(ghClaims(f, map[string]any{"iss": "https://evil.example.com"})), sts.InvalidIdentityToken, "provider_unknown"},
		{"issuer of another account", "arn:aws:iam::444455556666:role/Deploy", s.Sign(ghClaims(f, nil)), sts.InvalidIdentityToken, "provider_unknown"},
		{"forged", deployARN, other.Sign(ghClaims(f, nil)), sts.InvalidIdentityToken, "signature_invalid"},
		{"expired", deployARN, s.Sign(ghClaims(f, map[string]any{"iat": f.clock.Now().Add(-time.Hour).Unix(), "exp": f.clock.Now().Add(-30 * time.Minute).Unix()})), sts.ExpiredIdentityToken, "token_expired"},
		{"wrong audience", deployARN, s.Sign(ghClaims(f, map[string]any{"aud": "other"})), sts.InvalidIdentityToken, "aud_not_client"},
		{"not a JWT", deployARN, "not-a-token", sts.InvalidIdentityToken, "not_compact_jws"},
		{"bad tags claim", deployARN, s.Sign(ghClaims(f, map[string]any{"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{"aws:x": []string{"y"}}}})), sts.IDPRejectedClaim, "tags_claim_invalid_tag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := f.web(c.role, c.token)
			wantCode(t, err, c.code, c.reason)
			if res.Credentials.AccessKeyID != "" {
				t.Fatal("credentials issued with a refusal")
			}
		})
	}
	_, err := f.svc.AssumeRoleWithWebIdentity(ctx, sts.WebIdentityRequest{RoleARN: deployARN, SessionName: "x1", ProviderID: "www.amazon.com", Token: secret.NewString(s.Sign(ghClaims(f, nil)))})
	wantCode(t, err, sts.ValidationError, "provider_id_unsupported")
	_, err = f.svc.AssumeRoleWithWebIdentity(ctx, sts.WebIdentityRequest{RoleARN: deployARN, SessionName: "x1", Duration: 3 * time.Hour, Token: secret.NewString(s.Sign(ghClaims(f, nil)))})
	wantCode(t, err, sts.ValidationError, "role_duration")
}

// TestWebIdentityTenantTags: the tags claim becomes session tags, and
// ${aws:PrincipalTag/TenantID} confines each tenant's session to its own
// prefix.
func TestWebIdentityTenantTags(t *testing.T) {
	f, s := webIdentity(t)
	for _, tenant := range []string{"A", "B"} {
		res, err := f.web(tenantARN, s.Sign(ghClaims(f, map[string]any{"https://aws.amazon.com/tags": map[string]any{
			"principal_tags": map[string]any{"TenantID": []string{tenant}}, "transitive_tag_keys": []string{"TenantID"}}})))
		if err != nil {
			t.Fatal(err)
		}
		if !res.HasPackedPolicySize {
			t.Fatal("tagged session reports no PackedPolicySize")
		}
		caller := f.as(t, res.Credentials)
		for _, prefix := range []string{"A", "B"} {
			err := f.svc.CheckAccess(ctx, caller, sts.AccessRequest{Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/" + prefix + "/report.csv"})
			if (err == nil) != (prefix == tenant) {
				t.Fatalf("tenant %s reading %s/: %v", tenant, prefix, err)
			}
			if err != nil {
				wantCode(t, err, sts.AccessDenied, "")
			}
		}
	}
	// Tags need sts:TagSession in the trust policy (Unscoped has none;
	// Deploy has it).
	tagged := s.Sign(ghClaims(f, map[string]any{"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{"TenantID": []string{"A"}}}}))
	if _, err := f.web(deployARN, tagged); err != nil {
		t.Fatalf("Deploy allows sts:TagSession: %v", err)
	}
}

// BenchmarkAssumeRoleWithWebIdentity: an RS256 token verified with a cached
// key, trust decided, session sealed.
func BenchmarkAssumeRoleWithWebIdentity(b *testing.B) {
	f, s := webIdentity(b)
	token := s.Sign(ghClaims(f, nil))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.web(deployARN, token); err != nil {
			b.Fatal(err)
		}
	}
}
