package samlxmltest_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/keyless-dev/keyless/internal/samlxml"
	"github.com/keyless-dev/keyless/internal/samlxml/samlxmltest"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func parse(t *testing.T, x []byte) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(x); err != nil {
		t.Fatal(err)
	}
	return doc.Root()
}

func TestMetadataParses(t *testing.T) {
	idp := samlxmltest.NewIdP("https://idp.example.test/saml")
	md, err := samlxml.ParseMetadata(idp.Metadata(), now)
	if err != nil {
		t.Fatal(err)
	}
	if md.EntityID != idp.EntityID || len(md.Certificates) != 1 || !md.Certificates[0].Equal(idp.Certificate()) {
		t.Fatalf("metadata = %+v", md)
	}
	if !bytes.Contains(idp.Metadata(), []byte(`Location="`+samlxmltest.SSOLocation+`"`)) {
		t.Fatal("SSO location missing")
	}
}

func TestCompleteDefaults(t *testing.T) {
	idp := samlxmltest.NewIdP("urn:idp")
	r := idp.Complete(samlxmltest.Response{Now: now})
	if r.Issuer != "urn:idp" || r.ResponseIssuer != "urn:idp" || r.Destination != samlxmltest.DefaultRecipient ||
		r.Recipient != samlxmltest.DefaultRecipient || len(r.Audiences) != 1 || r.Audiences[0] != samlxmltest.DefaultAudience ||
		!r.NotOnOrAfter.Equal(now.Add(5*time.Minute)) || !r.SessionNotOnOrAfter.Equal(now.Add(time.Hour)) ||
		r.Shape.Name != "default" || r.SignatureMethod != samlxmltest.RSASHA256 || !strings.HasPrefix(r.AssertionID, "_") ||
		r.ResponseID == r.AssertionID || len(r.Attributes) != 2 {
		t.Fatalf("defaults = %+v", r)
	}
	// Sign writes what Complete describes.
	r.AssertionID = "_fixed"
	x := idp.Sign(r)
	if !bytes.Contains(x, []byte(`ID="_fixed"`)) || !bytes.Contains(x, []byte(`ID="`+r.ResponseID+`"`)) {
		t.Fatal("Sign did not keep the completed IDs")
	}
	// An empty non-nil attribute list means no AttributeStatement.
	if bytes.Contains(idp.Sign(samlxmltest.Response{Now: now, Attributes: []samlxmltest.Attribute{}}), []byte("AttributeStatement")) {
		t.Fatal("AttributeStatement written for no attributes")
	}
	if ec := samlxmltest.NewIdPWith("urn:ec", samlxmltest.IdPOptions{ECDSA: true}); ec.Complete(samlxmltest.Response{Now: now}).SignatureMethod != samlxmltest.ECDSASHA256 {
		t.Fatal("ECDSA IdP does not default to ecdsa-sha256")
	}
}

func TestSignaturePlacement(t *testing.T) {
	idp := samlxmltest.NewIdP("urn:idp")
	root := parse(t, idp.Sign(samlxmltest.Response{Now: now, Sign: samlxmltest.SignBoth}))
	kids := root.ChildElements()
	if kids[0].Tag != "Issuer" || kids[1].Tag != "Signature" {
		t.Fatalf("Response children start %s, %s", kids[0].Tag, kids[1].Tag)
	}
	a := samlxmltest.First(root, "Assertion").ChildElements()
	if a[0].Tag != "Issuer" || a[1].Tag != "Signature" {
		t.Fatalf("Assertion children start %s, %s", a[0].Tag, a[1].Tag)
	}
	// Without a Response Issuer the Signature comes first.
	root = parse(t, idp.Sign(samlxmltest.Response{Now: now, Sign: samlxmltest.SignResponse, OmitResponseIssuer: true}))
	if root.ChildElements()[0].Tag != "Signature" {
		t.Fatal("Response Signature is not first")
	}
}

func TestStatementOrder(t *testing.T) {
	idp := samlxmltest.NewIdP("urn:idp")
	for _, tt := range []struct {
		r     samlxmltest.Response
		first string
	}{
		{samlxmltest.ADFSResponse(now), "AttributeStatement"},
		{samlxmltest.EntraResponse(now), "AttributeStatement"},
		{samlxmltest.OktaResponse(now), "AuthnStatement"},
	} {
		a := samlxmltest.First(parse(t, idp.Sign(tt.r)), "Assertion")
		var order []string
		for _, c := range a.ChildElements() {
			if strings.HasSuffix(c.Tag, "Statement") {
				order = append(order, c.Tag)
			}
		}
		if len(order) != 2 || order[0] != tt.first {
			t.Errorf("%s: statements %v, want %s first", tt.r.Shape.Name, order, tt.first)
		}
	}
}

func TestXSWStructure(t *testing.T) {
	idp := samlxmltest.NewIdP("urn:idp")
	responseSigned := idp.Sign(samlxmltest.Response{Now: now, Sign: samlxmltest.SignResponse, ResponseID: "_r", AssertionID: "_a"})
	assertionSigned := idp.Sign(samlxmltest.Response{Now: now, ResponseID: "_r", AssertionID: "_a"})
	count := func(root *etree.Element, local string) int { return len(samlxmltest.Find(root, local)) }
	nameIDs := func(root *etree.Element) []string {
		var out []string
		for _, n := range samlxmltest.Find(root, "NameID") {
			out = append(out, n.Text())
		}
		return out
	}
	for n := 1; n <= 9; n++ {
		in := assertionSigned
		if n <= 2 {
			in = responseSigned
		}
		root := parse(t, samlxmltest.XSW(n, in))
		ids := nameIDs(root)
		if !strings.Contains(strings.Join(ids, ","), samlxmltest.EvilNameID) {
			t.Errorf("XSW%d: no forged NameID in %q", n, ids)
		}
		var where string
		switch n {
		case 1, 2:
			where = "Response"
			if root.SelectAttrValue("ID", "") != "_evil_response" || count(root, "Response") != 2 {
				t.Errorf("XSW%d: root %s, %d Responses", n, root.SelectAttrValue("ID", ""), count(root, "Response"))
			}
		default:
			where = "Assertion"
			if count(root, "Assertion") != 2 {
				t.Errorf("XSW%d: %d Assertions, want 2", n, count(root, "Assertion"))
			}
		}
		// The element the signature covers, unchanged, is still there.
		found := false
		for _, el := range samlxmltest.Find(root, where) {
			id := el.SelectAttrValue("ID", "")
			if (id == "_r" || id == "_a") && !strings.Contains(strings.Join(nameIDs(el), ","), samlxmltest.EvilNameID) {
				found = true
			}
		}
		if !found {
			t.Errorf("XSW%d: the original signed %s is gone", n, where)
		}
	}
	root := parse(t, samlxmltest.MultipleAssertions(assertionSigned))
	as := samlxmltest.Find(root, "Assertion")
	if len(as) != 2 || as[1].SelectAttrValue("ID", "") != "_a_attack" || samlxmltest.ChildSignature(as[1]) != nil {
		t.Fatal("MultipleAssertions: want the signed original then an unsigned forged copy")
	}
}
