package sts_test

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sts"
)

const (
	other    = "444455556666"
	demoARN  = "arn:aws:iam::111122223333:role/Demo"
	demoID   = "AROADEMODEMODEMODEMO1"
	aliceARN = "arn:aws:iam::111122223333:user/alice"
)

// roles builds a directory with alice, bob and these roles. Trust
// policies name users by ARN and are bound to unique ids, as the app does.
func (f *fixture) roles(t testing.TB, roles ...iam.RoleInfo) {
	t.Helper()
	c := contents(t, alice, bob)
	c.Accounts = append(c.Accounts, iam.Account{ID: other})
	c.ManagedPolicies = []policy.Named{
		{Name: "arn:aws:iam::111122223333:policy/ReadOnly", Doc: mustParse(t, policy.Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}`)},
	}
	ids := map[string]string{strings.ToLower(aliceARN): alice.UniqueID, strings.ToLower(bob.ARN()): bob.UniqueID}
	for _, r := range roles {
		ids[strings.ToLower(r.ARN())] = r.UniqueID
	}
	for i := range roles {
		roles[i].Trust = roles[i].Trust.BindPrincipals(func(p string) (string, bool) {
			id, ok := ids[strings.ToLower(p)]
			return id, ok
		})
	}
	c.Roles = roles
	d, err := iam.NewDirectory(c)
	if err != nil {
		t.Fatal(err)
	}
	f.dir = d
	f.svc = f.service(d, f.sealer(t))
}

func (f *fixture) sealer(t testing.TB) *credential.TokenSealer {
	return credential.NewTokenSealer(f.ring, "test", rand.Reader)
}

func role(t testing.TB, account, name, id, trust string, perms ...string) iam.RoleInfo {
	r := iam.RoleInfo{Account: account, Name: name, Path: "/", UniqueID: id, MaxSessionDuration: 2 * time.Hour,
		Trust: mustParse(t, policy.Trust, trust), Tags: map[string]string{"team": "platform"}}
	for i, p := range perms {
		r.Policies = append(r.Policies, policy.Named{Name: "inline policy P" + string(rune('0'+i)) + " of role/" + name, Doc: mustParse(t, policy.Identity, p)})
	}
	return r
}

func trustOf(principal string, actions string, condition string) string {
	if condition != "" {
		condition = `,"Condition":` + condition
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":` + actions + condition + `}]}`
}

const allowGAKI = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["sts:GetAccessKeyInfo","sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity","sts:DecodeAuthorizationMessage"],"Resource":"*"}}`

// session turns issued credentials into the caller of a later request.
func (f *fixture) as(t testing.TB, c sts.Credentials) sts.Caller {
	t.Helper()
	sc, err := f.svc.LookupCredentials(ctx, c.AccessKeyID, c.SessionToken.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.CheckCaller(sc.Caller); err != nil {
		t.Fatal(err)
	}
	return sc.Caller
}

func (f *fixture) assume(t testing.TB, c sts.Caller, req sts.AssumeRoleRequest) (sts.AssumeRoleResult, error) {
	t.Helper()
	if req.SessionName == "" {
		req.SessionName = "s1"
	}
	return f.svc.AssumeRole(ctx, c, req)
}

func mustAssume(t testing.TB, f *fixture, c sts.Caller, req sts.AssumeRoleRequest) (sts.AssumeRoleResult, sts.Caller) {
	t.Helper()
	res, err := f.assume(t, c, req)
	if err != nil {
		t.Fatalf("AssumeRole %s: %v", req.RoleARN, err)
	}
	return res, f.as(t, res.Credentials)
}

func denial(t testing.TB, err error) *sts.Error {
	t.Helper()
	var e *sts.Error
	if !errors.As(err, &e) || e.Code != sts.AccessDenied {
		t.Fatalf("got %v, want AccessDenied", err)
	}
	return e
}

func TestAssumeRoleSameAccount(t *testing.T) {
	f := newFixture(t)
	f.roles(t, role(t, account, "Demo", demoID, trustOf(aliceARN, `"sts:AssumeRole"`, ""), allowGAKI))
	aliceC := caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	res, sess := mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, SessionName: "alice@example.com"})
	if res.AssumedRoleARN != "arn:aws:sts::111122223333:assumed-role/Demo/alice@example.com" || res.AssumedRoleID != demoID+":alice@example.com" {
		t.Errorf("assumed role user: %+v", res)
	}
	if got := res.Credentials.Expiration.Sub(f.clock.Now().Truncate(time.Second)); got != time.Hour {
		t.Errorf("default duration %v", got)
	}
	if res.HasPackedPolicySize || res.SourceIdentity != "" {
		t.Errorf("PackedPolicySize or SourceIdentity without policies, tags or identity: %+v", res)
	}
	id := f.svc.GetCallerIdentity(ctx, sess)
	if id.ARN != res.AssumedRoleARN || id.UserID != res.AssumedRoleID || id.Account != account {
		t.Errorf("GetCallerIdentity: %+v", id)
	}
	// The role's own policy now applies.
	if _, err := f.svc.GetAccessKeyInfo(ctx, sess, "AKIAIOSFODNN7EXAMPLE"); err != nil {
		t.Errorf("role policy not applied: %v", err)
	}
	// A session of a role may not call GetSessionToken or GetFederationToken.
	_, err := f.svc.GetSessionToken(ctx, sess, sts.GetSessionTokenRequest{})
	denial(t, err)
	_, err = f.svc.GetFederationToken(ctx, sess, sts.GetFederationTokenRequest{Name: "x1"})
	denial(t, err)

	// bob is not trusted; an identity policy alone does not do for a
	// trust policy that does not name him.
	_, err = f.assume(t, caller(t, f, "AKIABTX3GSDS7NXV2MXY"), sts.AssumeRoleRequest{RoleARN: demoARN})
	denial(t, err)
}

// AR-01: a role that does not exist and one that does not trust the caller
// are refused alike.
func TestAssumeRoleExistenceOracle(t *testing.T) {
	f := newFixture(t)
	f.roles(t, role(t, account, "Demo", demoID, trustOf(bob.ARN(), `"sts:AssumeRole"`, "")))
	aliceC := caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	_, err1 := f.assume(t, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN})
	_, err2 := f.assume(t, aliceC, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/Nope"})
	_, err3 := f.assume(t, aliceC, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/other/Demo"}) // wrong path
	e1, e2, e3 := denial(t, err1), denial(t, err2), denial(t, err3)
	want := func(r string) string {
		return "User: " + aliceARN + " is not authorized to perform: sts:AssumeRole on resource: " + r
	}
	if e1.Msg != want(demoARN) || e2.Msg != want("arn:aws:iam::111122223333:role/Nope") || e3.Msg != want("arn:aws:iam::111122223333:role/other/Demo") {
		t.Errorf("messages differ:\n%s\n%s\n%s", e1.Msg, e2.Msg, e3.Msg)
	}
	if e1.Reason != e2.Reason || len(e1.Encoded) != len(e2.Encoded) || e1.Encoded == "" {
		t.Errorf("reasons %s/%s, encoded lengths %d/%d", e1.Reason, e2.Reason, len(e1.Encoded), len(e2.Encoded))
	}
	// Regression: the decoded message of a refusal on an existing role
	// must not carry the role's tags (found by the AR-01 hostile test:
	// the encoded message was longer for a tagged role, and a caller of
	// another account could read the tags).
	out, err := f.svc.DecodeAuthorizationMessage(ctx, aliceC, e1.Encoded)
	if err != nil || strings.Contains(strings.ToLower(out), "resourcetag") || strings.Contains(out, "platform") {
		t.Errorf("decoded refusal shows the role's tags: %s %v", out, err)
	}
}

func TestAssumeRoleRefusedCallers(t *testing.T) {
	f := newFixture(t)
	f.roles(t, role(t, account, "Demo", demoID, trustOf("111122223333", `"sts:AssumeRole"`, "")))
	// AR-19: root, directly or through a GetSessionToken session.
	rootC := caller(t, f, "AKIAROOT000000000000")
	_, err := f.assume(t, rootC, sts.AssumeRoleRequest{RoleARN: demoARN})
	if e := denial(t, err); e.Msg != "Roles may not be assumed by root accounts." {
		t.Errorf("root: %s", e.Msg)
	}
	gst, _ := f.svc.GetSessionToken(ctx, rootC, sts.GetSessionTokenRequest{})
	_, err = f.assume(t, f.as(t, gst), sts.AssumeRoleRequest{RoleARN: demoARN})
	wantCode(t, err, sts.AccessDenied, "root_caller")
	// AR-19 / GFT-05: federated users may call only GetCallerIdentity.
	gft, err := f.svc.GetFederationToken(ctx, caller(t, f, "AKIAIOSFODNN7EXAMPLE"), sts.GetFederationTokenRequest{Name: "fed", Policy: allowGAKI})
	if err != nil {
		t.Fatal(err)
	}
	fed := f.as(t, gft.Credentials)
	_, err = f.assume(t, fed, sts.AssumeRoleRequest{RoleARN: demoARN})
	wantCode(t, err, sts.AccessDenied, "session_credentials")
	_, err = f.svc.GetSessionToken(ctx, fed, sts.GetSessionTokenRequest{})
	denial(t, err)
	_, err = f.svc.GetFederationToken(ctx, fed, sts.GetFederationTokenRequest{Name: "fed2"})
	denial(t, err)
	_, err = f.svc.GetAccessKeyInfo(ctx, fed, "AKIAIOSFODNN7EXAMPLE")
	denial(t, err)
}

// Account principals delegate to identity policies; across accounts both
// sides must allow (aws-sts.md section 5.2 step 3).
func TestAssumeRoleDelegationAndCrossAccount(t *testing.T) {
	f := newFixture(t)
	f.roles(t,
		role(t, account, "Delegated", "AROADELEGATEDDELEGAT1", trustOf("111122223333", `"sts:AssumeRole"`, "")),
		role(t, other, "Cross", "AROACROSSCROSSCROSSC1", trustOf(aliceARN, `"sts:AssumeRole"`, "")),
	)
	aliceC, bobC := caller(t, f, "AKIAIOSFODNN7EXAMPLE"), caller(t, f, "AKIABTX3GSDS7NXV2MXY")
	cross := "arn:aws:iam::444455556666:role/Cross"
	for _, c := range []sts.Caller{aliceC, bobC} {
		_, err := f.assume(t, c, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/Delegated"})
		e := denial(t, err)
		// The trust policy allowed; the identity policy decided. The
		// message does not say so (AR-01), the decoded message does.
		out, err := f.svc.DecodeAuthorizationMessage(ctx, c, e.Encoded)
		if err != nil || !strings.Contains(out, `"reason":"no-identity-policy-allow"`) || strings.Contains(e.Msg, "because") {
			t.Errorf("delegated: %s\n%s %v", e.Msg, out, err)
		}
	}
	_, err := f.assume(t, aliceC, sts.AssumeRoleRequest{RoleARN: cross})
	denial(t, err)

	// Give alice an identity policy for sts:AssumeRole on both.
	c := contents(t, alice, bob)
	c.Users[0].Policies = append(c.Users[0].Policies, policy.Named{Name: "inline policy Assume of user/alice",
		Doc: mustParse(t, policy.Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":["arn:aws:iam::111122223333:role/Delegated","`+cross+`"]}}`)})
	c.Accounts = append(c.Accounts, iam.Account{ID: other})
	c.Roles = []iam.RoleInfo{
		role(t, account, "Delegated", "AROADELEGATEDDELEGAT1", trustOf("111122223333", `"sts:AssumeRole"`, "")),
		role(t, other, "Cross", "AROACROSSCROSSCROSSC1", trustOf(alice.UniqueID, `"sts:AssumeRole"`, "")),
	}
	d, err := iam.NewDirectory(c)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = f.service(d, f.sealer(t))
	aliceC = caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	res, _ := mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/Delegated"})
	if !strings.HasPrefix(res.AssumedRoleARN, "arn:aws:sts::111122223333:assumed-role/Delegated/") {
		t.Errorf("%+v", res)
	}
	res, sess := mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: cross})
	if res.AssumedRoleARN != "arn:aws:sts::444455556666:assumed-role/Cross/s1" || sess.Principal.Account != other || !strings.HasPrefix(res.Credentials.AccessKeyID, "ASIA") {
		t.Errorf("cross-account session: %+v", res)
	}
}

func TestAssumeRoleDurationsAndChaining(t *testing.T) {
	f := newFixture(t)
	f.roles(t,
		role(t, account, "Demo", demoID, trustOf(aliceARN, `"sts:AssumeRole"`, ""), allowGAKI),
		role(t, account, "Next", "AROANEXTNEXTNEXTNEXT1", trustOf(demoARN, `"sts:AssumeRole"`, "")),
	)
	aliceC := caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	// AR-04: over the role's MaxSessionDuration (2 hours here).
	_, err := f.assume(t, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, Duration: 2*time.Hour + time.Second})
	wantCode(t, err, sts.ValidationError, "role_duration")
	res, demo := mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, Duration: 2 * time.Hour})
	if res.Credentials.Expiration.Sub(f.clock.Now().Truncate(time.Second)) != 2*time.Hour {
		t.Error("asked duration not honoured")
	}
	// AR-05: chained sessions are capped at an hour.
	_, err = f.assume(t, demo, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/Next", Duration: time.Hour + time.Second})
	if e := (*sts.Error)(nil); !errors.As(err, &e) || e.Code != sts.ValidationError || e.Msg != "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining." {
		t.Fatalf("chained 3601: %v", err)
	}
	res, next := mustAssume(t, f, demo, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/Next"})
	if got := f.svc.GetCallerIdentity(ctx, next); got.ARN != "arn:aws:sts::111122223333:assumed-role/Next/s1" || got.UserID != "AROANEXTNEXTNEXTNEXT1:s1" {
		t.Errorf("chained identity %+v", got)
	}
	// A trust policy naming the role does not trust a user.
	_, err = f.assume(t, aliceC, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/Next"})
	denial(t, err)
	_ = res
}

func TestAssumeRoleTags(t *testing.T) {
	f := newFixture(t)
	tagTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	chainTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + demoARN + `"},"Action":["sts:AssumeRole","sts:TagSession"],
		"Condition":{"StringEquals":{"aws:PrincipalTag/Project":"quickstart","aws:ResourceTag/Project":"quickstart"}}}]}`
	f.roles(t,
		role(t, account, "Demo", demoID, tagTrust, allowGAKI),
		role(t, account, "Untagged", "AROAUNTAGGEDUNTAGGED1", trustOf(aliceARN, `"sts:AssumeRole"`, "")),
		role(t, account, "Next", "AROANEXTNEXTNEXTNEXT1", chainTrust),
	)
	aliceC := caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	tags := []credential.Tag{{Key: "Project", Value: "quickstart"}, {Key: "CostCenter", Value: "42"}}
	// AR-13: tags need sts:TagSession.
	_, err := f.assume(t, aliceC, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/Untagged", Tags: tags})
	if e := denial(t, err); !strings.Contains(e.Msg, "sts:TagSession") {
		t.Errorf("AR-13: %s", e.Msg)
	}
	for name, c := range map[string]struct {
		tags       []credential.Tag
		transitive []string
		reason     string
	}{
		"AR-10 duplicate keys":   {[]credential.Tag{{Key: "Dept", Value: "a"}, {Key: "dept", Value: "b"}}, nil, "tag_key_duplicate"},
		"AR-10 reserved prefix":  {[]credential.Tag{{Key: "AWS:foo", Value: "a"}}, nil, "tag_key_reserved"},
		"AR-11 transitive unset": {tags, []string{"Other"}, "transitive_key_not_tagged"},
	} {
		_, err := f.assume(t, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, Tags: c.tags, TransitiveKeys: c.transitive})
		var e *sts.Error
		if !errors.As(err, &e) || e.Code != sts.InvalidParameterValue || e.Reason != c.reason {
			t.Errorf("%s: %v", name, err)
		}
	}
	res, demo := mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, Tags: tags, TransitiveKeys: []string{"project"}})
	if !res.HasPackedPolicySize || res.PackedPolicySize < 1 {
		t.Errorf("PackedPolicySize %+v", res)
	}
	// The transitive tag is a principal tag of the next hop and replaces
	// the resource tag there; the next trust policy checks both.
	_, next := mustAssume(t, f, demo, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/Next"})
	attrs, _ := next.Session.Packed.Unpack()
	if len(attrs.Tags) != 1 || attrs.Tags[0].Key != "Project" || !attrs.Tags[0].Transitive {
		t.Errorf("inherited tags: %+v", attrs.Tags)
	}
	// ... and cannot be overridden or re-declared, in any case.
	_, err = f.assume(t, demo, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/Next", Tags: []credential.Tag{{Key: "PROJECT", Value: "evil"}}})
	wantCode(t, err, sts.InvalidParameterValue, "transitive_key_conflict")
	// Non-transitive tags do not pass on: without Project the next trust
	// policy's condition fails.
	_, plain := mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, Tags: tags})
	_, err = f.assume(t, plain, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/Next"})
	denial(t, err)
}

func TestAssumeRoleExternalIDAndMFA(t *testing.T) {
	f := newFixture(t)
	f.roles(t,
		role(t, account, "Partner", "AROAPARTNERPARTNERPA1", trustOf(aliceARN, `"sts:AssumeRole"`, `{"StringEquals":{"sts:ExternalId":"quickstart-partner-7f3a"}}`)),
		role(t, account, "Admin", "AROAADMINADMINADMINA1", trustOf(bob.ARN(), `"sts:AssumeRole"`, `{"Bool":{"aws:MultiFactorAuthPresent":"true"},"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}`)),
	)
	aliceC, bobC := caller(t, f, "AKIAIOSFODNN7EXAMPLE"), caller(t, f, "AKIABTX3GSDS7NXV2MXY")
	partner := "arn:aws:iam::111122223333:role/Partner"
	for _, id := range []string{"", "quickstart-partner-7f3b"} {
		_, err := f.assume(t, aliceC, sts.AssumeRoleRequest{RoleARN: partner, ExternalID: id})
		denial(t, err)
	}
	mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: partner, ExternalID: "quickstart-partner-7f3a"})

	admin := "arn:aws:iam::111122223333:role/Admin"
	_, err := f.assume(t, bobC, sts.AssumeRoleRequest{RoleARN: admin})
	denial(t, err) // long-term keys carry no MFA
	code := f.code(0)
	res, sess := mustAssume(t, f, bobC, sts.AssumeRoleRequest{RoleARN: admin, SerialNumber: bobMFA, TokenCode: secret.NewString(code)})
	if !sess.Session.MFA() {
		t.Error("MFA not recorded in the role session")
	}
	_ = res
	// AR-17: replayed code, wrong code, another user's device.
	for name, req := range map[string]sts.AssumeRoleRequest{
		"replayed":    {RoleARN: admin, SerialNumber: bobMFA, TokenCode: secret.NewString(code)},
		"wrong":       {RoleARN: admin, SerialNumber: bobMFA, TokenCode: secret.NewString("000000")},
		"serial only": {RoleARN: admin, SerialNumber: bobMFA},
	} {
		_, err := f.assume(t, bobC, req)
		if e := denial(t, err); !strings.HasPrefix(e.Msg, "MultiFactorAuthentication failed") {
			t.Errorf("%s: %s", name, e.Msg)
		}
	}
	_, err = f.assume(t, aliceC, sts.AssumeRoleRequest{RoleARN: admin, SerialNumber: bobMFA, TokenCode: secret.NewString(f.code(1))})
	wantCode(t, err, sts.AccessDenied, "mfa_device_not_owned")
	// An MFA session from GetSessionToken satisfies the trust policy...
	gst, err := f.svc.GetSessionToken(ctx, bobC, sts.GetSessionTokenRequest{SerialNumber: bobMFA, TokenCode: secret.NewString(f.code(1))})
	if err != nil {
		t.Fatal(err)
	}
	mustAssume(t, f, f.as(t, gst), sts.AssumeRoleRequest{RoleARN: admin})
	// ... until the MFA is an hour old.
	f.clock.Advance(time.Hour)
	_, err = f.assume(t, f.as(t, gst), sts.AssumeRoleRequest{RoleARN: admin})
	denial(t, err)
}

func TestAssumeRoleSourceIdentity(t *testing.T) {
	f := newFixture(t)
	withSI := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"%s"},"Action":["sts:AssumeRole","sts:SetSourceIdentity"],
		"Condition":{"StringEquals":{"sts:SourceIdentity":"alice"}}}]}`
	f.roles(t,
		role(t, account, "Demo", demoID, strings.Replace(withSI, "%s", aliceARN, 1), allowGAKI),
		role(t, account, "Plain", "AROAPLAINPLAINPLAINP1", trustOf(aliceARN, `"sts:AssumeRole"`, "")),
		role(t, account, "Next", "AROANEXTNEXTNEXTNEXT1", strings.Replace(withSI, "%s", demoARN, 1)),
		role(t, account, "NoSI", "AROANOSINOSINOSINOSI1", trustOf(demoARN, `"sts:AssumeRole"`, "")),
	)
	aliceC := caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	_, err := f.assume(t, aliceC, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/Plain", SourceIdentity: "alice"})
	if e := denial(t, err); !strings.Contains(e.Msg, "sts:SetSourceIdentity") {
		t.Errorf("needs sts:SetSourceIdentity: %s", e.Msg)
	}
	res, demo := mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, SourceIdentity: "alice"})
	if res.SourceIdentity != "alice" || demo.Session.SourceIdentity != "alice" {
		t.Errorf("source identity: %+v", res)
	}
	// Carried through the chain and echoed, though not asked for again.
	res, next := mustAssume(t, f, demo, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/Next"})
	if res.SourceIdentity != "alice" || next.Session.SourceIdentity != "alice" {
		t.Errorf("inherited: %+v", res)
	}
	// AR-16: it cannot be changed, and a role whose trust policy lacks
	// sts:SetSourceIdentity cannot be chained to.
	_, err = f.assume(t, demo, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/Next", SourceIdentity: "mallory"})
	wantCode(t, err, sts.AccessDenied, "source_identity_immutable")
	_, err = f.assume(t, demo, sts.AssumeRoleRequest{RoleARN: "arn:aws:iam::111122223333:role/NoSI"})
	denial(t, err)
}

func TestAssumeRoleSessionPolicies(t *testing.T) {
	f := newFixture(t)
	f.roles(t, role(t, account, "Demo", demoID, trustOf(aliceARN, `"sts:AssumeRole"`, ""), allowGAKI))
	aliceC := caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	gaki := func(c sts.Caller) error {
		_, err := f.svc.GetAccessKeyInfo(ctx, c, "AKIAIOSFODNN7EXAMPLE")
		return err
	}
	// AR-06: malformed session policies.
	for _, p := range []string{`not json`, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"},"Version":"2012-10-17"}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} x`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Bogus":1}}`} {
		_, err := f.assume(t, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, Policy: p})
		wantCode(t, err, sts.MalformedPolicyDocument, "session_policy_malformed")
	}
	_, err := f.assume(t, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, PolicyARNs: []string{"arn:aws:iam::111122223333:policy/Missing"}})
	wantCode(t, err, sts.InvalidParameterValue, "policy_arn_unknown")
	// AR-08: a broad session policy does not widen the role.
	_, broad := mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, Policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`})
	if err := gaki(broad); err != nil {
		t.Errorf("broad session policy: %v", err)
	}
	_, err = f.svc.DecodeAuthorizationMessage(ctx, broad, "x")
	wantCode(t, err, sts.InvalidAuthorizationMessage, "") // allowed by both; the message itself is bad
	// A managed session policy that allows only s3:Get* narrows to nothing STS.
	res, narrow := mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, PolicyARNs: []string{"arn:aws:iam::111122223333:policy/ReadOnly"}})
	if !res.HasPackedPolicySize {
		t.Error("PackedPolicySize missing with PolicyArns")
	}
	if e := denial(t, gaki(narrow)); !strings.Contains(e.Msg, "because no session policy allows the sts:GetAccessKeyInfo action") {
		t.Errorf("narrow: %s", e.Msg)
	}
	// AR-09: Deny * denies everything but GetCallerIdentity.
	_, denyAll := mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, Policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoWay","Effect":"Deny","Action":"*","Resource":"*"}]}`})
	e := denial(t, gaki(denyAll))
	if !strings.Contains(e.Msg, "with an explicit deny in a session policy") {
		t.Errorf("deny all: %s", e.Msg)
	}
	if got := f.svc.GetCallerIdentity(ctx, denyAll); got.ARN == "" {
		t.Error("GetCallerIdentity must still answer")
	}
	_, err = f.svc.DecodeAuthorizationMessage(ctx, denyAll, e.Encoded)
	denial(t, err)
	// ... and the deny is explained to a caller allowed to decode.
	decoded, err := f.svc.DecodeAuthorizationMessage(ctx, aliceC, e.Encoded)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Allowed, ExplicitDeny bool
		Reason                string
		MatchedStatements     struct {
			Items []struct{ StatementID, Effect, Policy string }
		}
		Context struct {
			Principal        struct{ ID, ARN string }
			Action, Resource string
			Conditions       struct {
				Items []struct{ Key string }
			}
		}
	}
	if err := json.Unmarshal([]byte(decoded), &rep); err != nil {
		t.Fatal(err)
	}
	m := rep.MatchedStatements.Items
	if rep.Allowed || !rep.ExplicitDeny || rep.Reason != "explicit-deny" || len(m) != 1 || m[0].StatementID != "NoWay" || m[0].Effect != "DENY" ||
		m[0].Policy != "session policy" || rep.Context.Action != "sts:GetAccessKeyInfo" || rep.Context.Principal.ARN != "arn:aws:sts::111122223333:assumed-role/Demo/s1" ||
		rep.Context.Principal.ID != demoID+":s1" || len(rep.Context.Conditions.Items) < 8 {
		t.Errorf("decoded: %s", decoded)
	}
	// AR-07: over the packed limit.
	var big []credential.Tag
	r := mrand.New(mrand.NewPCG(7, 7))
	for i := range 50 {
		v := make([]byte, 64)
		for j := range v {
			v[j] = "abcdefghijklmnopqrstuvwxyz0123456789"[r.IntN(36)]
		}
		big = append(big, credential.Tag{Key: "k" + strconv.Itoa(i), Value: string(v)})
	}
	f.roles(t, role(t, account, "Demo", demoID, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+aliceARN+`"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`))
	_, err = f.assume(t, caller(t, f, "AKIAIOSFODNN7EXAMPLE"), sts.AssumeRoleRequest{RoleARN: demoARN, Tags: big})
	wantCode(t, err, sts.PackedPolicyTooLarge, "packed_policy_too_large")
}

// Revocation refuses sessions issued before the time, and only those.
func TestRevocation(t *testing.T) {
	f := newFixture(t)
	f.roles(t, role(t, account, "Demo", demoID, trustOf(aliceARN, `"sts:AssumeRole"`, "")))
	aliceC := caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	old, _ := mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN})
	gst, _ := f.svc.GetSessionToken(ctx, aliceC, sts.GetSessionTokenRequest{})
	f.clock.Advance(time.Second)
	f.revokedMu.Lock()
	f.revoked = map[string]time.Time{demoID: f.clock.Now()}
	f.revokedMu.Unlock()
	f.clock.Advance(time.Second)
	fresh, _ := mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN})
	sc, err := f.svc.LookupCredentials(ctx, old.Credentials.AccessKeyID, old.Credentials.SessionToken.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.svc.CheckCaller(sc.Caller), sts.InvalidClientTokenID, "session_revoked")
	f.as(t, fresh.Credentials) // issued after: fine
	f.as(t, gst)               // another principal's session: fine
}

// AR-18: a role deleted and re-created under the same name is a new
// principal; so is a re-created user named in a trust policy.
func TestRecreatedRoleAndUser(t *testing.T) {
	f := newFixture(t)
	f.roles(t, role(t, account, "Demo", demoID, trustOf(aliceARN, `"sts:AssumeRole"`, "")))
	aliceC := caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	res, _ := mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN})
	f.roles(t, role(t, account, "Demo", "AROANEWDEMONEWDEMONE1", trustOf(aliceARN, `"sts:AssumeRole"`, "")))
	sc, _ := f.svc.LookupCredentials(ctx, res.Credentials.AccessKeyID, res.Credentials.SessionToken.Reveal())
	wantCode(t, f.svc.CheckCaller(sc.Caller), sts.InvalidClientTokenID, "session_principal_gone")
	// Trust bound to alice's old id does not trust a new alice.
	trust := mustParse(t, policy.Trust, trustOf(aliceARN, `"sts:AssumeRole"`, "")).BindPrincipals(func(string) (string, bool) { return "AIDAOLDALICEOLDALICE1", true })
	r := role(t, account, "Demo", demoID, trustOf(aliceARN, `"sts:AssumeRole"`, ""))
	r.Trust = trust
	c := contents(t, alice, bob)
	c.Roles = []iam.RoleInfo{r}
	d, _ := iam.NewDirectory(c)
	f.svc = f.service(d, f.sealer(t))
	_, err := f.assume(t, caller(t, f, "AKIAIOSFODNN7EXAMPLE"), sts.AssumeRoleRequest{RoleARN: demoARN})
	denial(t, err)
}

func TestGetFederationToken(t *testing.T) {
	f := newFixture(t)
	f.roles(t)
	aliceC := caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	res, err := f.svc.GetFederationToken(ctx, aliceC, sts.GetFederationTokenRequest{Name: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if res.FederatedUserARN != "arn:aws:sts::111122223333:federated-user/carol" || res.FederatedUserID != "111122223333:carol" || res.PackedPolicySize != 0 {
		t.Errorf("%+v", res)
	}
	if d := res.Credentials.Expiration.Sub(f.clock.Now().Truncate(time.Second)); d != 12*time.Hour {
		t.Errorf("default duration %v", d)
	}
	fed := f.as(t, res.Credentials)
	if id := f.svc.GetCallerIdentity(ctx, fed); id.ARN != res.FederatedUserARN || id.UserID != res.FederatedUserID {
		t.Errorf("identity %+v", id)
	}
	// GFT-01: not with session credentials.
	_, err = f.svc.GetFederationToken(ctx, fed, sts.GetFederationTokenRequest{Name: "carol"})
	wantCode(t, err, sts.AccessDenied, "session_credentials")
	gst, _ := f.svc.GetSessionToken(ctx, aliceC, sts.GetSessionTokenRequest{})
	_, err = f.svc.GetFederationToken(ctx, f.as(t, gst), sts.GetFederationTokenRequest{Name: "carol"})
	wantCode(t, err, sts.AccessDenied, "session_credentials")

	// GFT-03 and GFT-04: with a session policy the federated user gets the
	// intersection: GetAccessKeyInfo (both allow), not AssumeRole (the
	// user's policy does not allow it).
	res, err = f.svc.GetFederationToken(ctx, aliceC, sts.GetFederationTokenRequest{Name: "carol", Policy: allowGAKI})
	if err != nil {
		t.Fatal(err)
	}
	if res.PackedPolicySize < 1 {
		t.Errorf("PackedPolicySize %d", res.PackedPolicySize)
	}
	// A user without sts:GetFederationToken may not call it.
	c := contents(t, alice, bob)
	c.Users[0].Policies = nil
	d, _ := iam.NewDirectory(c)
	f.svc = f.service(d, f.sealer(t))
	_, err = f.svc.GetFederationToken(ctx, caller(t, f, "AKIAIOSFODNN7EXAMPLE"), sts.GetFederationTokenRequest{Name: "carol"})
	if e := denial(t, err); e.Msg != "User: "+aliceARN+" is not authorized to perform: sts:GetFederationToken on resource: arn:aws:sts::111122223333:federated-user/carol because no identity-based policy allows the sts:GetFederationToken action" {
		t.Errorf("%s", e.Msg)
	}
	// Root: an hour at most.
	res, err = f.svc.GetFederationToken(ctx, caller(t, f, "AKIAROOT000000000000"), sts.GetFederationTokenRequest{Name: "ops", Duration: 36 * time.Hour})
	if err != nil || res.Credentials.Expiration.Sub(f.clock.Now().Truncate(time.Second)) != time.Hour {
		t.Errorf("root: %+v %v", res, err)
	}
}

func TestFederatedUserPermissions(t *testing.T) {
	f := newFixture(t)
	f.roles(t)
	aliceC := caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	gaki := func(p string) error {
		res, err := f.svc.GetFederationToken(ctx, aliceC, sts.GetFederationTokenRequest{Name: "carol", Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.GetAccessKeyInfo(ctx, f.as(t, res.Credentials), "AKIAIOSFODNN7EXAMPLE")
		return err
	}
	// Federated credentials may call only GetCallerIdentity (aws-sts.md
	// 5.12), whatever their policy says.
	wantCode(t, gaki(""), sts.AccessDenied, "session_credentials")
	wantCode(t, gaki(allowGAKI), sts.AccessDenied, "session_credentials")
}

func TestDecodeAuthorizationMessage(t *testing.T) {
	f := newFixture(t)
	f.roles(t, role(t, account, "Demo", demoID, trustOf(bob.ARN(), `"sts:AssumeRole"`, "")))
	aliceC := caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	_, err := f.assume(t, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, ExternalID: "xid-1"})
	e := denial(t, err)
	out, err := f.svc.DecodeAuthorizationMessage(ctx, caller(t, f, "AKIABTX3GSDS7NXV2MXY"), e.Encoded)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"allowed":false`, `"explicitDeny":false`, `"reason":"no-resource-policy-allow"`, `"action":"sts:AssumeRole"`,
		`"resource":"` + demoARN + `"`, `{"key":"sts:ExternalId","values":{"items":[{"value":"xid-1"}]}}`, `"arn":"` + aliceARN + `"`} {
		if !strings.Contains(out, want) {
			t.Errorf("decoded message lacks %s:\n%s", want, out)
		}
	}
	// Only the denied principal's account can decode it; a GetSessionToken
	// session cannot call the action; garbage is refused.
	c := contents(t, alice, bob)
	c.Accounts = append(c.Accounts, iam.Account{ID: other})
	c.AccessKeys = append(c.AccessKeys, iam.AccessKey{ID: "AKIAOTHERROOT0000000", Secret: secret.NewString("other-root-secret-0123"), Active: true,
		Owner: iam.Principal{Type: iam.Root, Account: other, UniqueID: other}})
	d, _ := iam.NewDirectory(c)
	f.svc = f.service(d, f.sealer(t))
	_, err = f.svc.DecodeAuthorizationMessage(ctx, caller(t, f, "AKIAOTHERROOT0000000"), e.Encoded)
	wantCode(t, err, sts.InvalidAuthorizationMessage, "authorization_message_invalid")
	gst, _ := f.svc.GetSessionToken(ctx, aliceC, sts.GetSessionTokenRequest{})
	_, err = f.svc.DecodeAuthorizationMessage(ctx, f.as(t, gst), e.Encoded)
	wantCode(t, err, sts.AccessDenied, "session_credentials")
	_, err = f.svc.DecodeAuthorizationMessage(ctx, aliceC, e.Encoded[:len(e.Encoded)-2])
	wantCode(t, err, sts.InvalidAuthorizationMessage, "authorization_message_invalid")
}

// BenchmarkAssumeRole is the domain's share of the AssumeRole load test:
// a trust policy of several statements, two session tags.
func BenchmarkAssumeRole(b *testing.B) {
	f := newFixture(b)
	trust := `{"Version":"2012-10-17","Statement":[
		{"Sid":"S1","Effect":"Allow","Principal":{"AWS":"` + bob.ARN() + `"},"Action":"sts:AssumeRole"},
		{"Sid":"S2","Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:RoleSessionName":"forbidden"}}},
		{"Sid":"S3","Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:TagSession","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":["aws*","admin*"]}}},
		{"Sid":"Alice","Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringLike":{"sts:RoleSessionName":"bench*"}}}]}`
	f.roles(b, role(b, account, "Demo", demoID, trust))
	c := caller(b, f, "AKIAIOSFODNN7EXAMPLE")
	req := sts.AssumeRoleRequest{RoleARN: demoARN, SessionName: "bench-1", Tags: []credential.Tag{{Key: "project", Value: "bench"}, {Key: "team", Value: "perf"}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.AssumeRole(ctx, c, req); err != nil {
			b.Fatal(err)
		}
	}
}
