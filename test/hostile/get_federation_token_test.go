package hostile

import (
	"strings"
	"testing"
)

const msgGFTSession = "Cannot call GetFederationToken with session credentials"

// federated is a GetFederationToken that must succeed; it returns the
// federated user's credentials.
func (h *harness) federated(id string, c creds, params string) creds {
	h.t.Helper()
	r := h.call(c, "GetFederationToken", params)
	h.assertOK(id, r)
	if !strings.HasPrefix(r.creds.id, "ASIA") || r.creds.secret == "" || r.creds.token == "" {
		h.t.Fatalf("%s: no credentials in %s", id, r.body)
	}
	return r.creds
}

// Section 3.D: GetFederationToken.
func TestGetFederationToken(t *testing.T) {
	h := newHarnessWith(t, "roles.yaml")
	gstSess := h.session(alice, "")
	_, roleSess := h.assumed("setup", alice, assumeParams(demoARN))
	fed := h.federated("setup", alice, q("Name", "fed"))

	rows := []struct {
		id     string
		c      creds
		params string
		status int
		code   string
		msg    string
	}{
		// GFT-01: not with temporary credentials of any kind.
		{"GFT-01 GetSessionToken credentials", gstSess, q("Name", "fed"), 403, "AccessDenied", msgGFTSession},
		{"GFT-01 role session", roleSess, q("Name", "fed"), 403, "AccessDenied", msgGFTSession},
		{"GFT-01 federated user", fed, q("Name", "fed"), 403, "AccessDenied", msgGFTSession},

		// GFT-02: Name is [\w+=,.@-]{2,32}.
		{"GFT-02 1 character", alice, q("Name", "f"), 400, "ValidationError", ""},
		{"GFT-02 33 characters", alice, q("Name", strings.Repeat("f", 33)), 400, "ValidationError", ""},
		{"GFT-02 slash", alice, q("Name", "fed/admin"), 400, "ValidationError", ""},
		{"GFT-02 colon", alice, q("Name", "fed:admin"), 400, "ValidationError", ""},
		{"GFT-02 space", alice, q("Name", "fed admin"), 400, "ValidationError", ""},
		{"GFT-02 missing", alice, "", 400, "ValidationError", ""},

		// GFT-04: a session policy does not grant the call itself: carol
		// has no policy allowing sts:GetFederationToken.
		{"GFT-04 Allow * from a user without the permission", carol, q("Name", "fed") + q("Policy", allowAll), 403, "AccessDenied",
			"User: arn:aws:iam::111122223333:user/carol is not authorized to perform: sts:GetFederationToken on resource: arn:aws:sts::111122223333:federated-user/fed because no identity-based policy allows the sts:GetFederationToken action"},
		// The session-policy shapes are AssumeRole's (AR-06, AR-07).
		{"GFT-04 malformed session policy", alice, q("Name", "fed") + q("Policy", allowAll+" x"), 400, "MalformedPolicyDocument", ""},
		{"GFT-04 session policy ARN unknown", alice, q("Name", "fed") + q("PolicyArns.member.1.arn", "arn:aws:iam::111122223333:policy/Missing"), 400, "InvalidParameterValue", ""},
	}
	for _, row := range rows {
		t.Run(row.id, func(t *testing.T) {
			h.t = t
			r := h.call(row.c, "GetFederationToken", row.params)
			h.assertDenied(row.id, r, row.status, row.code)
			if row.msg != "" && !strings.HasPrefix(r.message, row.msg) {
				t.Errorf("%s: message %q, want %q", row.id, r.message, row.msg)
			}
		})
	}
}

// GFT-03, GFT-04, GFT-05: what federated credentials can do: identify
// themselves, and nothing else, whatever session policy they carry.
func TestFederatedUser(t *testing.T) {
	h := newHarnessWith(t, "roles.yaml")
	for _, c := range []struct{ id, params string }{
		{"GFT-03 no session policy", ""},
		{"GFT-04 session policy broader than the user", q("Policy", allowAll)},
		{"GFT-04 session policy inside the user's", q("Policy", allowGAKI)},
	} {
		t.Run(c.id, func(t *testing.T) {
			h.t = t
			fed := h.federated(c.id, alice, q("Name", "fed")+c.params)
			if got := h.arnOf(c.id, fed); got != "arn:aws:sts::111122223333:federated-user/fed" {
				t.Errorf("%s: identity %s", c.id, got)
			}
			// GetAccessKeyInfo is allowed to alice herself.
			h.assertOK(c.id+" alice may", h.gaki(alice))
			for _, f := range []struct{ id, action, params string }{
				{"GetAccessKeyInfo", "GetAccessKeyInfo", "&AccessKeyId=" + alice.id},
				{"DecodeAuthorizationMessage", "DecodeAuthorizationMessage", q("EncodedMessage", "x")},
				{"GFT-05 GetSessionToken", "GetSessionToken", ""},
				{"GFT-05 GetFederationToken", "GetFederationToken", q("Name", "fed2")},
				{"GFT-05 AssumeRole", "AssumeRole", assumeParams(demoARN)},
			} {
				r := h.call(fed, f.action, f.params)
				h.assertDenied(c.id+": "+f.id, r, 403, "AccessDenied")
				if !strings.HasPrefix(r.message, "Cannot call "+f.action+" with ") {
					t.Errorf("%s: %s: message %q", c.id, f.id, r.message)
				}
			}
		})
	}
}
