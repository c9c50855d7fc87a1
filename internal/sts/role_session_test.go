package sts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/sts"
)

// proven is an identity source that proved f.
type proven struct{ f sts.Federated }

func (p proven) Prove(context.Context) (*sts.Federated, error) { f := p.f; return &f, nil }

// The token exchange's sessions: the role's trust policy is not consulted
// (the identity provider declaration decided), everything else is checked
// as for AssumeRole, and the session carries its provider into later
// requests.
func TestAssumeRoleAsTrustDecided(t *testing.T) {
	f := newFixture(t)
	f.roles(t, role(t, account, "Demo", demoID, trustOf(aliceARN, `"sts:AssumeRole"`, ""), allowGAKI))
	fed := credential.Federation{Provider: "arn:aws:iam::" + account + ":identity-provider/ci", Subject: "arn:aws:iam::123456789012:user/ci", Audience: "keyless"}
	req := sts.Federated{RoleARN: "arn:aws:iam::" + account + ":role/Demo", Provider: fed.Provider, TrustDecided: true,
		SessionName: "ci-run-1", Duration: 2 * time.Hour, Issuer: credential.IssuerWebIdentity,
		Tags: []credential.Tag{{Key: "repo", Value: "octo-org/app", Transitive: true}}, Federation: fed}
	res, _, err := f.svc.AssumeRoleAs(ctx, proven{req}, sts.FederatedRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res.AssumedRoleARN != "arn:aws:sts::111122223333:assumed-role/Demo/ci-run-1" || res.AssumedRoleID != demoID+":ci-run-1" || !res.HasPackedPolicySize {
		t.Errorf("result %+v", res)
	}
	if got := res.Credentials.Expiration.Sub(f.clock.Now().Truncate(time.Second)); got != 2*time.Hour {
		t.Errorf("duration %v", got)
	}
	sess := f.session(t, res.Credentials)
	if sess.Federation == nil || sess.Federation.Provider != fed.Provider || sess.Federation.Subject != fed.Subject || sess.Federation.Audience != fed.Audience || sess.Issuer != credential.IssuerWebIdentity {
		t.Errorf("session %+v", sess)
	}
	// The role's permissions apply to the session.
	if _, err := f.svc.GetAccessKeyInfo(ctx, f.as(t, res.Credentials), "AKIAIOSFODNN7EXAMPLE"); err != nil {
		t.Errorf("role policy not applied: %v", err)
	}

	for _, tc := range []struct {
		name   string
		edit   func(*sts.Federated)
		code   sts.Code
		reason string
	}{
		{"missing role", func(r *sts.Federated) { r.RoleARN = "arn:aws:iam::" + account + ":role/Nope" }, sts.AccessDenied, "policy_no_resource_policy_allow"},
		{"role of another account", func(r *sts.Federated) { r.RoleARN = "arn:aws:iam::" + other + ":role/Demo" }, sts.AccessDenied, "policy_no_resource_policy_allow"},
		{"role under another path", func(r *sts.Federated) { r.RoleARN = "arn:aws:iam::" + account + ":role/x/Demo" }, sts.AccessDenied, "policy_no_resource_policy_allow"},
		{"duration over the role's maximum", func(r *sts.Federated) { r.Duration = 3 * time.Hour }, sts.ValidationError, "role_duration"},
		{"duration under 15 minutes", func(r *sts.Federated) { r.Duration = 14 * time.Minute }, sts.ValidationError, "role_duration"},
		{"session name with a slash", func(r *sts.Federated) { r.SessionName = "a/b" }, sts.ValidationError, "session_name_invalid"},
		{"session name too long", func(r *sts.Federated) { r.SessionName = strings.Repeat("a", 65) }, sts.ValidationError, "session_name_invalid"},
		{"aws: tag", func(r *sts.Federated) { r.Tags = []credential.Tag{{Key: "aws:x", Value: "y"}} }, sts.InvalidParameterValue, "tags_claim_invalid_tag"},
		{"tag value with a newline", func(r *sts.Federated) { r.Tags = []credential.Tag{{Key: "k", Value: "a\nb"}} }, sts.InvalidParameterValue, "tags_claim_invalid_tag"},
		{"case-duplicate tags", func(r *sts.Federated) {
			r.Tags = []credential.Tag{{Key: "k", Value: "a"}, {Key: "K", Value: "b"}}
		}, sts.InvalidParameterValue, "tags_claim_duplicate_key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := req
			tc.edit(&r)
			_, _, err := f.svc.AssumeRoleAs(ctx, proven{r}, sts.FederatedRequest{})
			wantCode(t, err, tc.code, tc.reason)
		})
	}
}
