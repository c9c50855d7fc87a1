package sts_test

import (
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/sts"
)

// The token exchange's sessions: the role's trust policy is not consulted
// (the identity provider declaration decided), everything else is checked
// as for AssumeRole, and the session carries its provider into later
// requests.
func TestIssueRoleSession(t *testing.T) {
	f := newFixture(t)
	f.roles(t, role(t, account, "Demo", demoID, trustOf(aliceARN, `"sts:AssumeRole"`, ""), allowGAKI))
	fed := credential.Federation{Provider: "arn:aws:iam::" + account + ":identity-provider/ci", Subject: "arn:aws:iam::123456789012:user/ci", Audience: "keyless"}
	req := sts.RoleSessionRequest{Account: account, Role: "Demo", SessionName: "ci-run-1", Duration: 2 * time.Hour,
		Tags: []credential.Tag{{Key: "repo", Value: "octo-org/app", Transitive: true}}, Federation: fed}
	res, err := f.svc.IssueRoleSession(ctx, req)
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
		edit   func(*sts.RoleSessionRequest)
		code   sts.Code
		reason string
	}{
		{"missing role", func(r *sts.RoleSessionRequest) { r.Role = "Nope" }, sts.AccessDenied, "role_not_found"},
		{"role of another account", func(r *sts.RoleSessionRequest) { r.Account = other }, sts.AccessDenied, "role_not_found"},
		{"duration over the role's maximum", func(r *sts.RoleSessionRequest) { r.Duration = 3 * time.Hour }, sts.ValidationError, "role_duration"},
		{"duration under 15 minutes", func(r *sts.RoleSessionRequest) { r.Duration = 14 * time.Minute }, sts.ValidationError, "role_duration"},
		{"session name with a slash", func(r *sts.RoleSessionRequest) { r.SessionName = "a/b" }, sts.ValidationError, "session_name_invalid"},
		{"session name too long", func(r *sts.RoleSessionRequest) { r.SessionName = strings.Repeat("a", 65) }, sts.ValidationError, "session_name_invalid"},
		{"aws: tag", func(r *sts.RoleSessionRequest) { r.Tags = []credential.Tag{{Key: "aws:x", Value: "y"}} }, sts.InvalidParameterValue, "tag_invalid"},
		{"tag value with a newline", func(r *sts.RoleSessionRequest) { r.Tags = []credential.Tag{{Key: "k", Value: "a\nb"}} }, sts.InvalidParameterValue, "tag_invalid"},
		{"case-duplicate tags", func(r *sts.RoleSessionRequest) {
			r.Tags = []credential.Tag{{Key: "k", Value: "a"}, {Key: "K", Value: "b"}}
		}, sts.InvalidParameterValue, "tag_invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := req
			tc.edit(&r)
			_, err := f.svc.IssueRoleSession(ctx, r)
			wantCode(t, err, tc.code, tc.reason)
		})
	}
}
