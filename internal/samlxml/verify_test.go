package samlxml

import (
	"bytes"
	"context"
	"crypto/x509"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/keyless-dev/keyless/internal/saml"
	"github.com/keyless-dev/keyless/internal/samlxml/samlxmltest"
)

func bearer(recipient string, notOnOrAfter time.Time) []saml.Confirmation {
	return []saml.Confirmation{{
		Method:       saml.Bearer,
		Recipient:    recipient,
		NotOnOrAfter: notOnOrAfter,
		HasData:      true,
	}}
}

// Each vendor's shape is accepted and read exactly.
func TestVendorShapes(t *testing.T) {
	now := testNow()
	idp := testIDP()
	const (
		role  = "arn:aws:iam::123456789012:role/saml-admin,arn:aws:iam::123456789012:saml-provider/corp-idp"
		uri   = samlxmltest.NameFormatURI
		aud   = samlxmltest.DefaultAudience
		recip = samlxmltest.DefaultRecipient
	)
	tests := []struct {
		name string
		r    samlxmltest.Response
		want saml.Assertion
	}{
		{
			name: "okta assertion signed",
			r:    samlxmltest.OktaResponse(now),
			want: saml.Assertion{
				Issuer: testEntityID, IssueInstant: now,
				Subject: "alice@example.com", SubjectFormat: samlxmltest.FormatUnspecified,
				Confirmations: bearer(recip, now.Add(5*time.Minute)),
				NotBefore:     now.Add(-5 * time.Minute), NotOnOrAfter: now.Add(5 * time.Minute),
				AudienceRestrictions: [][]string{{aud}},
				SessionNotOnOrAfter:  now.Add(time.Hour), AuthnStatements: 1,
				Attributes: []saml.Attribute{
					{Name: saml.AttrRole, NameFormat: uri, Values: []string{"arn:aws:iam::123456789012:saml-provider/corp-idp,arn:aws:iam::123456789012:role/saml-admin"}},
					{Name: saml.AttrRoleSessionName, NameFormat: uri, Values: []string{"alice@example.com"}},
					{Name: saml.AttrSessionDuration, NameFormat: uri, Values: []string{"3600"}},
				},
			},
		},
		{
			name: "okta response and assertion signed",
			r: func() samlxmltest.Response {
				r := samlxmltest.OktaResponse(now)
				r.Sign = samlxmltest.SignBoth
				return r
			}(),
			want: saml.Assertion{
				Issuer: testEntityID, IssueInstant: now,
				Destination: recip, ResponseIssuer: testEntityID,
				Subject: "alice@example.com", SubjectFormat: samlxmltest.FormatUnspecified,
				Confirmations: bearer(recip, now.Add(5*time.Minute)),
				NotBefore:     now.Add(-5 * time.Minute), NotOnOrAfter: now.Add(5 * time.Minute),
				AudienceRestrictions: [][]string{{aud}},
				SessionNotOnOrAfter:  now.Add(time.Hour), AuthnStatements: 1,
				Attributes: []saml.Attribute{
					{Name: saml.AttrRole, NameFormat: uri, Values: []string{"arn:aws:iam::123456789012:saml-provider/corp-idp,arn:aws:iam::123456789012:role/saml-admin"}},
					{Name: saml.AttrRoleSessionName, NameFormat: uri, Values: []string{"alice@example.com"}},
					{Name: saml.AttrSessionDuration, NameFormat: uri, Values: []string{"3600"}},
				},
			},
		},
		{
			name: "ad fs",
			r:    samlxmltest.ADFSResponse(now),
			want: saml.Assertion{
				Issuer: testEntityID, IssueInstant: now,
				Subject: `CORP\alice`, SubjectFormat: samlxmltest.FormatPersistent,
				Confirmations: bearer(recip, now.Add(5*time.Minute)),
				NotBefore:     now.Add(-5 * time.Minute), NotOnOrAfter: now.Add(5 * time.Minute),
				AudienceRestrictions: [][]string{{aud}},
				SessionNotOnOrAfter:  now.Add(time.Hour), AuthnStatements: 1,
				Attributes: []saml.Attribute{
					{Name: saml.AttrRoleSessionName, Values: []string{"alice@corp.example.com"}},
					{Name: saml.AttrRole, Values: []string{role, "arn:aws:iam::123456789012:role/saml-readonly,arn:aws:iam::123456789012:saml-provider/corp-idp"}},
					{Name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", Values: []string{"alice@corp.example.com"}},
					{Name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", Values: []string{`CORP\alice`}},
					{Name: "http://schemas.xmlsoap.org/claims/Group", Values: []string{"Domain Users", "AWS-123456789012-saml-admin"}},
				},
			},
		},
		{
			name: "entra id",
			r:    samlxmltest.EntraResponse(now),
			want: saml.Assertion{
				Issuer: testEntityID, IssueInstant: now,
				Subject: "alice@contoso.example", SubjectFormat: samlxmltest.FormatEmail,
				Confirmations: bearer(recip, now.Add(5*time.Minute)),
				NotBefore:     now.Add(-5 * time.Minute), NotOnOrAfter: now.Add(5 * time.Minute),
				AudienceRestrictions: [][]string{{aud}},
				SessionNotOnOrAfter:  now.Add(time.Hour), AuthnStatements: 1,
				Attributes: []saml.Attribute{
					{Name: "http://schemas.microsoft.com/identity/claims/tenantid", Values: []string{"72f988bf-86f1-41af-91ab-2d7cd011db47"}},
					{Name: "http://schemas.microsoft.com/identity/claims/objectidentifier", Values: []string{"0c6e5b1a-4b1e-4a4e-9d6e-2f1f0b2c3d4e"}},
					{Name: "http://schemas.microsoft.com/identity/claims/displayname", Values: []string{"Alice Example"}},
					{Name: "http://schemas.microsoft.com/identity/claims/identityprovider", Values: []string{"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"}},
					{Name: "http://schemas.microsoft.com/claims/authnmethodsreferences", Values: []string{"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"}},
					{Name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", Values: []string{"alice@contoso.example"}},
					{Name: saml.AttrRole, Values: []string{role}},
					{Name: saml.AttrRoleSessionName, Values: []string{"alice@contoso.example"}},
					{Name: saml.AttrSessionDuration, Values: []string{"900"}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.AssertionID = "_assertion-" + strings.ReplaceAll(tt.name, " ", "-")
			tt.want.ID = tt.r.AssertionID
			got, err := verify(idp.Sign(tt.r))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("assertion:\n got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

// The assertion relies on xmlns:saml declared on the Response only: the
// Assertion is verified detached with its in-scope declarations.
func TestNamespaceOnAncestor(t *testing.T) {
	x := testIDP().Sign(samlxmltest.Response{Now: testNow(), AssertionID: "_a1"})
	if !bytes.Contains(x, []byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"`)) ||
		!bytes.Contains(x, []byte(`<saml:Assertion ID="_a1"`)) {
		t.Fatalf("fixture does not declare the prefix on the Response only:\n%s", x)
	}
	a, err := verify(x)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if a.ID != "_a1" || a.Subject != "alice@example.com" {
		t.Fatalf("assertion = %+v", a)
	}
}

// Which elements are signed decides where the Response's own fields come
// from: never from an unsigned Response.
func TestSignedElements(t *testing.T) {
	now := testNow()
	for _, tt := range []struct {
		sign                 samlxmltest.Sign
		destination, rIssuer string
	}{
		{samlxmltest.SignAssertion, "", ""},
		{samlxmltest.SignResponse, samlxmltest.DefaultRecipient, "https://other.example.test/response-issuer"},
		{samlxmltest.SignBoth, samlxmltest.DefaultRecipient, "https://other.example.test/response-issuer"},
	} {
		x := testIDP().Sign(samlxmltest.Response{Now: now, Sign: tt.sign, AssertionID: "_a", ResponseIssuer: "https://other.example.test/response-issuer"})
		a, err := verify(x)
		if err != nil {
			t.Fatalf("sign %d: %v", tt.sign, err)
		}
		if a.Destination != tt.destination || a.ResponseIssuer != tt.rIssuer || a.ID != "_a" || a.Subject != "alice@example.com" || a.Issuer != testEntityID {
			t.Errorf("sign %d: %+v", tt.sign, a)
		}
	}
}

// Response signed only: the identity is read from the Assertion inside the
// verified Response, whose attributes are also covered.
func TestResponseSignedOnly(t *testing.T) {
	x := testIDP().Sign(samlxmltest.Response{Now: testNow(), Sign: samlxmltest.SignResponse, NameID: "bob@example.com"})
	if bytes.Count(x, []byte("<ds:Signature ")) != 1 {
		t.Fatal("fixture should carry the Response signature only")
	}
	a, err := verify(x)
	if err != nil {
		t.Fatal(err)
	}
	if a.Subject != "bob@example.com" || len(a.Attributes) != 2 {
		t.Fatalf("assertion = %+v", a)
	}
	// The same document with the NameID changed no longer verifies.
	forged := replaceOnce(t, x, "bob@example.com</saml:NameID>", "root@example.com</saml:NameID>")
	_, err = verify(forged)
	wantRefused(t, err, true, "response_signature_invalid")
}

// A Response signature that fails is not excused by a good Assertion
// signature.
func TestBadResponseSignatureGoodAssertion(t *testing.T) {
	x := testIDP().Sign(samlxmltest.Response{Now: testNow(), Sign: samlxmltest.SignBoth})
	x = replaceOnce(t, x, `Destination="https://signin.aws.amazon.com/saml"`, `Destination="https://evil.example/saml"`)
	_, err := verify(x)
	wantRefused(t, err, true, "response_signature_invalid")
}

// ECDSA signatures are refused: goxmldsig's ECDSA SignatureValue is DER,
// not XML-DSig's r || s, so no real IdP's ECDSA signature would verify.
func TestECDSAIdPRefused(t *testing.T) {
	idp := samlxmltest.NewIdPWith(testEntityID, samlxmltest.IdPOptions{ECDSA: true})
	x := idp.Sign(samlxmltest.Response{Now: testNow(), Sign: samlxmltest.SignBoth})
	if !bytes.Contains(x, []byte("ecdsa-sha256")) {
		t.Fatal("fixture not signed with ecdsa-sha256")
	}
	_, err := New(Options{}).Verify(context.Background(), samlxmltest.Encode(x), idp.Keys(), testNow())
	wantRefused(t, err, true, "signature_method")
}

// Key rollover: two registered certificates, a signature without KeyInfo
// made by the second.
func TestKeyRotation(t *testing.T) {
	now := testNow()
	oldIDP, newIDP := testIDP(), attackerIDP() // two keys for one entity ID
	both := saml.Keys{Certificates: []*x509.Certificate{oldIDP.Certificate(), newIDP.Certificate()}}
	v := New(Options{})
	for _, omit := range []bool{true, false} {
		x := newIDP.Sign(samlxmltest.Response{Now: now, OmitKeyInfo: omit, Sign: samlxmltest.SignBoth})
		if omit == bytes.Contains(x, []byte("KeyInfo")) {
			t.Fatalf("OmitKeyInfo %v not honoured", omit)
		}
		if _, err := v.Verify(context.Background(), samlxmltest.Encode(x), both, now); err != nil {
			t.Fatalf("OmitKeyInfo %v: %v", omit, err)
		}
		_, err := v.Verify(context.Background(), samlxmltest.Encode(x), oldIDP.Keys(), now)
		if omit {
			wantRefused(t, err, true, "response_signature_invalid")
		} else {
			wantRefused(t, err, true, "certificate_not_registered")
		}
	}
}

// goxmldsig checks the certificate's validity at the time given.
func TestCertificateValidity(t *testing.T) {
	now := testNow()
	expired := samlxmltest.NewIdPWith(testEntityID, samlxmltest.IdPOptions{
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Second),
	})
	x := expired.Sign(samlxmltest.Response{Now: now})
	v := New(Options{})
	_, err := v.Verify(context.Background(), samlxmltest.Encode(x), expired.Keys(), now)
	wantRefused(t, err, true, "certificate_expired")
	x = expired.Sign(samlxmltest.Response{Now: now, OmitKeyInfo: true})
	_, err = v.Verify(context.Background(), samlxmltest.Encode(x), expired.Keys(), now)
	wantRefused(t, err, true, "certificate_expired")
	// The same document verifies at a time the certificate was valid.
	if _, err := v.Verify(context.Background(), samlxmltest.Encode(x), expired.Keys(), now.Add(-time.Hour)); err != nil {
		t.Fatalf("at a valid time: %v", err)
	}
}

// A document rewritten by etree without change still verifies, so the
// hostile tests built with Mutate fail for what they change.
func TestMutateNoOpKeepsSignatures(t *testing.T) {
	for _, sign := range []samlxmltest.Sign{samlxmltest.SignAssertion, samlxmltest.SignResponse, samlxmltest.SignBoth} {
		x := testIDP().Sign(samlxmltest.Response{Now: testNow(), Sign: sign, Shape: samlxmltest.OktaShape()})
		if _, err := verify(samlxmltest.Mutate(x, func(*etree.Document) {})); err != nil {
			t.Fatalf("sign %d: %v", sign, err)
		}
	}
}

func TestTimesAndText(t *testing.T) {
	now := testNow()
	idp := testIDP()
	unsigned := idp.Sign(samlxmltest.Response{Now: now, Sign: samlxmltest.SignNone})
	x := samlxmltest.Mutate(unsigned, func(doc *etree.Document) {
		a := samlxmltest.First(doc.Root(), "Assertion")
		a.CreateAttr("IssueInstant", "2026-03-01T14:00:00.123456+02:00")
		n := samlxmltest.First(a, "NameID")
		n.SetText("\n\t  alice@example.com \r\n")
		samlxmltest.First(a, "Issuer").SetText(" " + testEntityID + "\n")
		samlxmltest.First(a, "Audience").SetText("\turn:amazon:webservices ")
		v := samlxmltest.Find(a, "AttributeValue")[1]
		v.SetText("  spaced value  ")
		nilValue := samlxmltest.Find(a, "Attribute")[0].CreateElement("saml:AttributeValue")
		nilValue.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
		nilValue.CreateAttr("xsi:nil", "true")
		samlxmltest.Find(a, "Attribute")[0].CreateElement("saml:AttributeValue")
		samlxmltest.Find(a, "Attribute")[0].CreateElement("saml:AttributeValue").CreateCData("a<b&c")
	})
	got, err := verify(idp.SignDocument(x, samlxmltest.Response{Now: now}))
	if err != nil {
		t.Fatal(err)
	}
	wantInstant := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	if !got.IssueInstant.Equal(wantInstant) || got.IssueInstant.Location() != time.UTC {
		t.Errorf("IssueInstant = %v, want %v", got.IssueInstant, wantInstant)
	}
	if got.Subject != "alice@example.com" || got.Issuer != testEntityID || got.AudienceRestrictions[0][0] != "urn:amazon:webservices" {
		t.Errorf("identity not trimmed: %q %q %q", got.Subject, got.Issuer, got.AudienceRestrictions[0][0])
	}
	if v := got.Attributes[1].Values[0]; v != "  spaced value  " {
		t.Errorf("attribute value = %q, want untrimmed", v)
	}
	if vs := got.Attributes[0].Values; len(vs) != 4 || vs[1] != "" || vs[2] != "" || vs[3] != "a<b&c" {
		t.Errorf("values = %q, want [role, \"\", \"\", \"a<b&c\"]", vs)
	}
}

// The Verifier is stateless: concurrent use is safe (run with -race).
func TestConcurrentVerify(t *testing.T) {
	v := New(Options{})
	x := samlxmltest.Encode(testIDP().Sign(samlxmltest.Response{Now: testNow(), Sign: samlxmltest.SignBoth}))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Verify(context.Background(), x, testIDP().Keys(), testNow())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestIssuerHint(t *testing.T) {
	v := New(Options{})
	now := testNow()
	// Unsigned: the hint is given all the same; it is never trusted.
	x := testIDP().Sign(samlxmltest.Response{Now: now, Sign: samlxmltest.SignNone, Issuer: "https://idp.example.test/other"})
	got, err := v.Issuer(context.Background(), samlxmltest.Encode(x))
	if err != nil || got != "https://idp.example.test/other" {
		t.Fatalf("Issuer = %q, %v", got, err)
	}
	x = testIDP().Sign(samlxmltest.Response{Now: now, ResponseIssuer: "https://idp.example.test/differs"})
	_, err = v.Issuer(context.Background(), samlxmltest.Encode(x))
	wantRefused(t, err, false, "issuer_mismatch")
	x = testIDP().Sign(samlxmltest.Response{Now: now, OmitResponseIssuer: true})
	if got, err = v.Issuer(context.Background(), samlxmltest.Encode(x)); err != nil || got != testEntityID {
		t.Fatalf("without Response Issuer: %q, %v", got, err)
	}
	// Structure is checked as for Verify.
	_, err = v.Issuer(context.Background(), samlxmltest.Encode(samlxmltest.MultipleAssertions(x)))
	wantRefused(t, err, false, "assertion_count")
	_, err = v.Issuer(context.Background(), "%%%")
	wantRefused(t, err, false, "base64_invalid")
}

func TestOptionsDefaults(t *testing.T) {
	v := New(Options{})
	if v.limits.maxDepth != 32 || v.limits.maxTokens != 20000 || v.limits.maxAttrs != 64 || v.limits.maxValue != 64<<10 {
		t.Fatalf("defaults = %+v", v.limits)
	}
	v = New(Options{MaxDepth: 5, MaxTokens: 7, MaxAttrsPerElement: 2})
	if v.limits.maxDepth != 5 || v.limits.maxTokens != 7 || v.limits.maxAttrs != 2 {
		t.Fatalf("options = %+v", v.limits)
	}
	// Limits set too low refuse a valid response.
	_, err := New(Options{MaxAttrsPerElement: 2}).Verify(context.Background(), samlxmltest.Encode(testIDP().Sign(samlxmltest.Response{Now: testNow()})), testIDP().Keys(), testNow())
	wantRefused(t, err, false, "xml_too_many_attributes")
	_, err = New(Options{MaxDepth: 5}).Verify(context.Background(), samlxmltest.Encode(testIDP().Sign(samlxmltest.Response{Now: testNow()})), testIDP().Keys(), testNow())
	wantRefused(t, err, false, "xml_too_deep")
	_, err = New(Options{MaxTokens: 50}).Verify(context.Background(), samlxmltest.Encode(testIDP().Sign(samlxmltest.Response{Now: testNow()})), testIDP().Keys(), testNow())
	wantRefused(t, err, false, "xml_too_many_tokens")
}

// Every path gives its parsing slot back: with one slot, refusals and
// successes in turn would otherwise block forever.
func TestSlotsReleased(t *testing.T) {
	v := New(Options{MaxConcurrent: 1})
	idp := testIDP()
	good := samlxmltest.Encode(idp.Sign(samlxmltest.Response{Now: testNow()}))
	for range 3 {
		if _, err := v.Verify(context.Background(), "not base64!", idp.Keys(), testNow()); err == nil {
			t.Fatal("garbage accepted")
		}
		if _, err := v.Verify(context.Background(), good, saml.Keys{}, testNow()); err == nil {
			t.Fatal("accepted without keys")
		}
		if _, err := v.Issuer(context.Background(), good); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), good, idp.Keys(), testNow()); err != nil {
			t.Fatal(err)
		}
	}
}
