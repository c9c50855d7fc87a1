package sts_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/saml"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sts"
)

const (
	corpIssuer   = "https://idp.corp.example/saml"
	corpProvider = "arn:aws:iam::111122223333:saml-provider/corp"
	otherARN     = "arn:aws:iam::111122223333:saml-provider/other"
	samlDevARN   = "arn:aws:iam::111122223333:role/SAMLDev"
	samlBareARN  = "arn:aws:iam::111122223333:role/SAMLBare"
	signIn       = "https://keyless.example/saml"
	signInWest   = "https://keyless.example/us-west-2/saml"
)

// fakeVerifier stands in for samlxml: each encoded string names an
// assertion, and it checks that the right provider's keys were offered.
type fakeVerifier struct {
	assertions map[string]*saml.Assertion
	cert       map[string]*x509.Certificate // by encoded string: the key it is "signed" with
}

func (v *fakeVerifier) Verify(_ context.Context, encoded string, keys saml.Keys, _ time.Time) (*saml.Assertion, error) {
	a, ok := v.assertions[encoded]
	if !ok {
		return nil, saml.Refuse("malformed")
	}
	for _, c := range keys.Certificates {
		if c == v.cert[encoded] {
			cp := *a
			return &cp, nil
		}
	}
	return nil, saml.BadSignature("signature_invalid")
}

func (v *fakeVerifier) Issuer(_ context.Context, encoded string) (string, error) {
	a, ok := v.assertions[encoded]
	if !ok {
		return "", saml.Refuse("malformed")
	}
	return a.Issuer, nil
}

type samlFixture struct {
	*fixture
	v             *fakeVerifier
	corp, other   *x509.Certificate
	n             int
	failSingleUse bool
}

func (f *samlFixture) UseOnce(ctx context.Context, key string, until, now time.Time) error {
	if f.failSingleUse {
		return errDown
	}
	return f.store.UseOnce(ctx, key, until, now)
}

func samlSetup(t testing.TB) *samlFixture {
	t.Helper()
	f := &samlFixture{fixture: newFixture(t), v: &fakeVerifier{assertions: map[string]*saml.Assertion{}, cert: map[string]*x509.Certificate{}},
		corp: &x509.Certificate{Raw: []byte("corp")}, other: &x509.Certificate{Raw: []byte("other")}}
	trust := func(actions, cond string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + corpProvider + `"},"Action":` + actions +
			`,"Condition":{"StringEquals":{"SAML:aud":["` + signIn + `","` + signInWest + `"]` + cond + `}}}]}`
	}
	dev := role(t, account, "SAMLDev", "AROASAMLDEVSAMLDEV01", trust(`["sts:AssumeRoleWithSAML","sts:TagSession","sts:SetSourceIdentity"]`,
		`,"SAML:sub_type":"persistent","saml:edupersonprincipalname":"alice@corp.example","SAML:doc":"111122223333/corp"`))
	bare := role(t, account, "SAMLBare", "AROASAMLBARESAMLBA01", trust(`"sts:AssumeRoleWithSAML"`, ""))
	c := contents(t, alice, bob)
	c.Roles = []iam.RoleInfo{dev, bare}
	c.SAMLProviders = []iam.SAMLProvider{
		{Account: account, Name: "corp", EntityID: corpIssuer, Certificates: []*x509.Certificate{f.corp}},
		{Account: account, Name: "other", EntityID: "https://idp.other.example", Certificates: []*x509.Certificate{f.other}},
	}
	d, err := iam.NewDirectory(c)
	if err != nil {
		t.Fatal(err)
	}
	f.dir = d
	f.svc = sts.New(f.options(d, func(o *sts.Options) {
		o.SAML = f.v
		o.SAMLExpect = saml.Expectations{Audiences: []string{"urn:amazon:webservices"}, Recipients: []string{signIn, signInWest},
			Leeway: time.Minute, MaxAge: 5 * time.Minute}
		o.SingleUse = f
	}))
	return f
}

// assertion returns a valid assertion for alice, changed by edit, and its
// encoded name.
func (f *samlFixture) assertion(edit func(a *saml.Assertion)) string {
	now := f.clock.Now()
	f.n++
	a := &saml.Assertion{
		ID: fmt.Sprintf("_a%d", f.n), Issuer: corpIssuer, IssueInstant: now.Add(-10 * time.Second),
		Subject: "alice@corp.example", SubjectFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
		Confirmations: []saml.Confirmation{{Method: saml.Bearer, Recipient: signIn, NotOnOrAfter: now.Add(5 * time.Minute), HasData: true}},
		NotBefore:     now.Add(-time.Minute), NotOnOrAfter: now.Add(5 * time.Minute),
		AudienceRestrictions: [][]string{{"urn:amazon:webservices"}},
		Attributes: []saml.Attribute{
			{Name: saml.AttrRole, Values: []string{samlDevARN + "," + corpProvider, corpProvider + "," + samlBareARN}},
			{Name: saml.AttrRoleSessionName, Values: []string{"alice"}},
			{Name: "urn:oid:1.3.6.1.4.1.5923.1.1.1.6", Values: []string{"alice@corp.example"}},
		},
	}
	if edit != nil {
		edit(a)
	}
	enc := fmt.Sprintf("assertion-%d", f.n)
	f.v.assertions[enc], f.v.cert[enc] = a, f.corp
	return enc
}

func (f *samlFixture) assume(roleARN, provider, enc string, edit func(r *sts.SAMLRequest)) (sts.SAMLResult, error) {
	r := sts.SAMLRequest{RoleARN: roleARN, PrincipalARN: provider, Assertion: secret.NewString(enc)}
	if edit != nil {
		edit(&r)
	}
	return f.svc.AssumeRoleWithSAML(ctx, r)
}

func setAttr(a *saml.Assertion, name string, values ...string) {
	for i := range a.Attributes {
		if a.Attributes[i].Name == name {
			a.Attributes[i].Values = values
			return
		}
	}
	a.Attributes = append(a.Attributes, saml.Attribute{Name: name, Values: values})
}

func dropAttr(a *saml.Assertion, name string) {
	out := a.Attributes[:0]
	for _, at := range a.Attributes {
		if at.Name != name {
			out = append(out, at)
		}
	}
	a.Attributes = out
}

func TestAssumeRoleWithSAML(t *testing.T) {
	f := samlSetup(t)
	enc := f.assertion(func(a *saml.Assertion) {
		setAttr(a, saml.AttrSourceIdentity, "alice@corp")
		setAttr(a, saml.AttrPrincipalTag+"Team", "dev")
		setAttr(a, saml.AttrPrincipalTag+"CostCenter", "42")
		setAttr(a, saml.AttrTransitiveTagKeys, "team")
		a.SessionNotOnOrAfter = f.clock.Now().Add(8 * time.Hour)
	})
	res, err := f.assume(samlDevARN, corpProvider, enc, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantNQ := saml.NameQualifier(corpIssuer, account, "corp")
	if res.Subject != "alice@corp.example" || res.SubjectType != "persistent" || res.Issuer != corpIssuer || res.Audience != signIn ||
		res.NameQualifier != wantNQ || res.SourceIdentity != "alice@corp" || res.Provider != corpProvider || res.SessionName != "alice" ||
		res.AssumedRoleARN != "arn:aws:sts::111122223333:assumed-role/SAMLDev/alice" || !res.HasPackedPolicySize || res.AssertionID != "_a1" {
		t.Fatalf("result %+v", res)
	}
	if got := res.Credentials.Expiration.Sub(f.clock.Now().Truncate(time.Second)); got != time.Hour {
		t.Errorf("default duration %v", got)
	}
	sess := f.session(t, res.Credentials)
	if sess.Federation == nil || sess.Federation.SubjectType != "persistent" || sess.Federation.NameQualifier != wantNQ || sess.SourceIdentity != "alice@corp" {
		t.Fatalf("session %+v %+v", sess, sess.Federation)
	}
	tags, err := sess.Packed.Unpack()
	if err != nil || len(tags.Tags) != 2 || !tags.Tags[0].Transitive || tags.Tags[1].Transitive {
		t.Fatalf("tags %+v %v", tags.Tags, err)
	}

	// The same assertion again is a replay (SAML-17).
	_, err = f.assume(samlDevARN, corpProvider, enc, nil)
	wantCode(t, err, sts.InvalidIdentityToken, "assertion_replayed")
}

func TestAssumeRoleWithSAMLRefusals(t *testing.T) {
	f := samlSetup(t)
	now := f.clock.Now()
	tags51 := func(a *saml.Assertion) {
		for i := range 51 {
			setAttr(a, saml.AttrPrincipalTag+fmt.Sprintf("k%d", i), "v")
		}
	}
	for _, tc := range []struct {
		name     string
		role     string
		provider string
		edit     func(a *saml.Assertion)
		req      func(r *sts.SAMLRequest)
		code     sts.Code
		reason   string
	}{
		{name: "provider unknown", provider: "arn:aws:iam::111122223333:saml-provider/nope", code: sts.InvalidIdentityToken, reason: "provider_unknown"},
		{name: "principal not a SAML provider ARN", provider: "arn:aws:iam::111122223333:oidc-provider/x", code: sts.ValidationError, reason: "principal_arn_invalid"},
		{name: "role ARN invalid", role: "arn:aws:iam::1:role/x", code: sts.ValidationError, reason: "role_arn_invalid"},
		// SAML-18: signed for corp, presented as other's.
		{name: "SAML-18 other provider's keys", provider: otherARN, code: sts.InvalidIdentityToken, reason: "signature_invalid"},
		{name: "SAML-18 issuer not the provider's", edit: func(a *saml.Assertion) { a.Issuer = "https://evil.example" }, code: sts.InvalidIdentityToken, reason: "issuer_mismatch"},
		// SAML-19.
		{name: "SAML-19 role not offered", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrRole, samlBareARN+","+corpProvider) }, code: sts.AccessDenied, reason: "role_not_in_assertion"},
		{name: "SAML-19 pair with another provider", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrRole, samlDevARN+","+otherARN) }, code: sts.AccessDenied, reason: "role_not_in_assertion"},
		{name: "SAML-19 provider of another account", edit: func(a *saml.Assertion) {
			setAttr(a, saml.AttrRole, samlDevARN+",arn:aws:iam::444455556666:saml-provider/corp")
		}, code: sts.AccessDenied, reason: "role_not_in_assertion"},
		{name: "no Role attribute", edit: func(a *saml.Assertion) { dropAttr(a, saml.AttrRole) }, code: sts.AccessDenied},
		// SAML-20.
		{name: "SAML-20 session name missing", edit: func(a *saml.Assertion) { dropAttr(a, saml.AttrRoleSessionName) }, code: sts.InvalidIdentityToken, reason: "session_name_missing"},
		{name: "SAML-20 session name 65", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrRoleSessionName, strings.Repeat("a", 65)) }, code: sts.InvalidIdentityToken, reason: "session_name_invalid"},
		{name: "SAML-20 session name slash", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrRoleSessionName, "a/b") }, code: sts.InvalidIdentityToken, reason: "session_name_invalid"},
		{name: "SAML-20 two session names", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrRoleSessionName, "a1", "b2") }, code: sts.InvalidIdentityToken, reason: "session_name_invalid"},
		{name: "SAML-20 duration 899", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrSessionDuration, "899") }, code: sts.InvalidIdentityToken, reason: "session_duration_invalid"},
		{name: "SAML-20 duration 43201", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrSessionDuration, "43201") }, code: sts.InvalidIdentityToken, reason: "session_duration_invalid"},
		{name: "SAML-20 duration not numeric", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrSessionDuration, "1h") }, code: sts.InvalidIdentityToken, reason: "session_duration_invalid"},
		{name: "SAML-20 duration leading zero", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrSessionDuration, "0900") }, code: sts.InvalidIdentityToken, reason: "session_duration_invalid"},
		// SAML-24.
		{name: "SAML-24 51 tags", edit: tags51, code: sts.InvalidIdentityToken, reason: "tags_claim_too_many"},
		{name: "SAML-24 aws: key", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrPrincipalTag+"aws:x", "v") }, code: sts.InvalidIdentityToken, reason: "tags_claim_invalid_tag"},
		{name: "SAML-24 case duplicate", edit: func(a *saml.Assertion) {
			setAttr(a, saml.AttrPrincipalTag+"Team", "a")
			setAttr(a, saml.AttrPrincipalTag+"team", "b")
		}, code: sts.InvalidIdentityToken, reason: "tags_claim_duplicate_key"},
		{name: "SAML-24 value 257", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrPrincipalTag+"Team", strings.Repeat("v", 257)) }, code: sts.InvalidIdentityToken, reason: "tags_claim_invalid_tag"},
		{name: "SAML-24 two values", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrPrincipalTag+"Team", "a", "b") }, code: sts.InvalidIdentityToken, reason: "tag_attribute_values"},
		{name: "transitive key not a tag", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrTransitiveTagKeys, "Team") }, code: sts.InvalidIdentityToken, reason: "transitive_key_not_a_tag"},
		{name: "source identity aws:", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrSourceIdentity, "aws:me") }, code: sts.InvalidIdentityToken, reason: "source_identity_invalid"},
		// Permissions the trust policy must grant.
		{name: "tags without TagSession", role: samlBareARN, edit: func(a *saml.Assertion) { setAttr(a, saml.AttrPrincipalTag+"Team", "dev") }, code: sts.AccessDenied},
		{name: "source identity without SetSourceIdentity", role: samlBareARN, edit: func(a *saml.Assertion) { setAttr(a, saml.AttrSourceIdentity, "alice") }, code: sts.AccessDenied},
		{name: "condition on an attribute key fails", edit: func(a *saml.Assertion) { setAttr(a, "urn:oid:1.3.6.1.4.1.5923.1.1.1.6", "mallory@corp.example") }, code: sts.AccessDenied},
		{name: "condition on sub_type fails", edit: func(a *saml.Assertion) { a.SubjectFormat = saml.UnspecifiedFormat }, code: sts.AccessDenied},
		// Time and audience (SAML-13, -14, -15, -16).
		{name: "SAML-14 expired", edit: func(a *saml.Assertion) { a.Confirmations[0].NotOnOrAfter = now.Add(-time.Minute - time.Second) }, code: sts.ExpiredIdentityToken, reason: "confirmation_expired"},
		{name: "SAML-13 recipient", edit: func(a *saml.Assertion) { a.Confirmations[0].Recipient = "https://signin.aws.amazon.com/saml" }, code: sts.InvalidIdentityToken, reason: "recipient_mismatch"},
		{name: "SAML-13 audience", edit: func(a *saml.Assertion) { a.AudienceRestrictions = [][]string{{"urn:other"}} }, code: sts.InvalidIdentityToken, reason: "audience_mismatch"},
		{name: "SAML-16 not bearer", edit: func(a *saml.Assertion) { a.Confirmations[0].Method = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key" }, code: sts.InvalidIdentityToken, reason: "subject_confirmation_not_bearer"},
		{name: "session already over", edit: func(a *saml.Assertion) { a.SessionNotOnOrAfter = now }, code: sts.ExpiredIdentityToken, reason: "session_expired"},
		// Bounds on what the session token carries (security review).
		{name: "NameID of 257 characters", edit: func(a *saml.Assertion) { a.Subject = strings.Repeat("n", 257) }, code: sts.InvalidIdentityToken, reason: "subject_invalid"},
		{name: "NameID format naming nothing", edit: func(a *saml.Assertion) { a.SubjectFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:" }, code: sts.InvalidIdentityToken, reason: "subject_invalid"},
		// A single-valued key never loses a value (security review).
		{name: "two values for saml:edupersonprincipalname", edit: func(a *saml.Assertion) {
			setAttr(a, "urn:oid:1.3.6.1.4.1.5923.1.1.1.6", "alice@corp.example", "root@corp.example")
		}, code: sts.InvalidIdentityToken, reason: "attribute_key_multivalued"},
		{name: "saml:mail from an OID and an AD FS claim", edit: func(a *saml.Assertion) {
			setAttr(a, "urn:oid:0.9.2342.19200300.100.1.3", "alice@corp.example")
			setAttr(a, "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "contractor@corp.example")
		}, code: sts.InvalidIdentityToken, reason: "attribute_key_multivalued"},
		// Parameters.
		{name: "duration above the role's maximum", req: func(r *sts.SAMLRequest) { r.Duration = 3 * time.Hour }, code: sts.ValidationError, reason: "role_duration"},
		{name: "sign-in page's own recipient only", req: func(r *sts.SAMLRequest) { r.Recipient = signInWest }, code: sts.InvalidIdentityToken, reason: "recipient_mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			role, provider := samlDevARN, corpProvider
			if tc.role != "" {
				role = tc.role
			}
			if tc.provider != "" {
				provider = tc.provider
			}
			res, err := f.assume(role, provider, f.assertion(tc.edit), tc.req)
			wantCode(t, err, tc.code, tc.reason)
			if res.Credentials.AccessKeyID != "" || !res.Credentials.SessionToken.IsZero() {
				t.Fatal("credentials on a refusal")
			}
		})
	}
}

func TestAssumeRoleWithSAMLDurations(t *testing.T) {
	f := samlSetup(t)
	issued := f.clock.Now().Truncate(time.Second)
	for _, tc := range []struct {
		name    string
		edit    func(a *saml.Assertion)
		request time.Duration
		want    time.Duration
	}{
		{name: "SessionDuration shortens the default", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrSessionDuration, "1800") }, want: 30 * time.Minute},
		{name: "SessionDuration never lengthens", edit: func(a *saml.Assertion) { setAttr(a, saml.AttrSessionDuration, "7200") }, request: 3600 * time.Second, want: time.Hour},
		{name: "DurationSeconds up to the role maximum", request: 2 * time.Hour, want: 2 * time.Hour},
		// SAML-23: credentials end with the IdP session.
		{name: "SAML-23 SessionNotOnOrAfter caps", edit: func(a *saml.Assertion) { a.SessionNotOnOrAfter = f.clock.Now().Add(10 * time.Minute) }, request: time.Hour,
			want: f.clock.Now().Add(10 * time.Minute).Truncate(time.Second).Sub(issued)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.assume(samlDevARN, corpProvider, f.assertion(tc.edit), func(r *sts.SAMLRequest) { r.Duration = tc.request })
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Credentials.Expiration.Sub(issued); got != tc.want {
				t.Fatalf("lasts %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAssumeRoleWithSAMLFaults(t *testing.T) {
	f := samlSetup(t)
	f.failSingleUse = true
	_, err := f.assume(samlDevARN, corpProvider, f.assertion(nil), nil)
	wantCode(t, err, sts.ServiceUnavailable, "single_use_unavailable")

	// Without a verifier every assertion is refused (fail closed).
	f = samlSetup(t)
	f.svc = sts.New(f.options(f.dir, func(o *sts.Options) { o.SAMLExpect.Recipients = []string{signIn}; o.SingleUse = f }))
	_, err = f.assume(samlDevARN, corpProvider, f.assertion(nil), nil)
	wantCode(t, err, sts.ServiceUnavailable, "saml_not_configured")
}

func TestSAMLSessionKeysCarryOver(t *testing.T) {
	// A SAML session keeps saml:sub, saml:sub_type and saml:namequalifier
	// for its later requests (IAM User Guide, condition-keys-saml): a
	// role that trusts only alice's SAML sessions admits them.
	f := samlSetup(t)
	res, err := f.assume(samlDevARN, corpProvider, f.assertion(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.LookupCredentials(ctx, res.Credentials.AccessKeyID, res.Credentials.SessionToken.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cond string
		ok   bool
	}{
		{`{"StringEquals":{"saml:sub":"alice@corp.example","saml:sub_type":"persistent","saml:namequalifier":"` + saml.NameQualifier(corpIssuer, account, "corp") + `","aws:FederatedProvider":"` + corpProvider + `"}}`, true},
		{`{"StringEquals":{"saml:sub":"bob@corp.example"}}`, false},
	} {
		allowed := f.svc.CheckAccess(ctx, c.Caller, sts.AccessRequest{Action: "s3:GetObject", Resource: "*",
			ResourcePolicy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"` + samlDevARN + `"},"Action":"s3:GetObject","Resource":"*","Condition":` + tc.cond + `}}`}) == nil
		if allowed != tc.ok {
			t.Errorf("%s: allowed %v", tc.cond, allowed)
		}
	}
}

func TestSAMLRoles(t *testing.T) {
	f := samlSetup(t)
	enc := f.assertion(func(a *saml.Assertion) {
		setAttr(a, saml.AttrRole, samlDevARN+","+corpProvider, otherARN+","+samlBareARN, "not a pair")
	})
	offer, err := f.svc.SAMLRoles(ctx, sts.SAMLRolesRequest{Assertion: secret.NewString(enc), Recipient: signIn})
	if err != nil {
		t.Fatal(err)
	}
	// Only pairs naming the provider that verified the assertion.
	if offer.Provider != corpProvider || offer.Subject != "alice@corp.example" || len(offer.Roles) != 1 || offer.Roles[0] != (saml.RolePair{Role: samlDevARN, Provider: corpProvider}) {
		t.Fatalf("offer %+v", offer)
	}
	// Listing spends nothing: the assertion still works once.
	if _, err := f.assume(samlDevARN, corpProvider, enc, func(r *sts.SAMLRequest) { r.Recipient = signIn }); err != nil {
		t.Fatal(err)
	}
	// At another page's URL the recipient does not match.
	_, err = f.svc.SAMLRoles(ctx, sts.SAMLRolesRequest{Assertion: secret.NewString(f.assertion(nil)), Recipient: signInWest})
	wantCode(t, err, sts.InvalidIdentityToken, "recipient_mismatch")
	// An issuer no provider has.
	_, err = f.svc.SAMLRoles(ctx, sts.SAMLRolesRequest{Assertion: secret.NewString(f.assertion(func(a *saml.Assertion) { a.Issuer = "https://nobody" })), Recipient: signIn})
	wantCode(t, err, sts.InvalidIdentityToken, "provider_unknown")
	// A page URL that is not configured is our fault, not the user's.
	_, err = f.svc.SAMLRoles(ctx, sts.SAMLRolesRequest{Assertion: secret.NewString(f.assertion(nil)), Recipient: "https://elsewhere/saml"})
	if !errors.As(err, new(*sts.Error)) {
		t.Fatalf("unconfigured page: %v", err)
	}
}
