package samlxml

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/keyless-dev/keyless/internal/saml"
	"github.com/keyless-dev/keyless/internal/samlxml/samlxmltest"
)

// Hostile inputs, named by the stable ids of security.md 3.G. Each row
// asserts the exact refusal.

type hostileCase struct {
	name      string
	xml       []byte
	signature bool // BadSignature rather than Refuse
	reason    string
}

func runHostile(t *testing.T, cases []hostileCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := verify(c.xml)
			if a != nil {
				t.Fatalf("accepted: %+v", a)
			}
			wantRefused(t, err, c.signature, c.reason)
		})
	}
}

// signed returns a Response signed as sign says, with fixed IDs.
func signed(sign samlxmltest.Sign) []byte {
	return testIDP().Sign(samlxmltest.Response{Now: testNow(), Sign: sign, ResponseID: "_resp", AssertionID: "_assert"})
}

// resigned edits the Signature of the element called parent ("Response"
// or "Assertion") and signs its SignedInfo again with the IdP's key, so
// that only the edit can be what is refused.
func resigned(x []byte, parent string, edit func(sig *etree.Element)) []byte {
	return samlxmltest.Mutate(x, func(doc *etree.Document) {
		el := samlxmltest.First(doc.Root(), parent)
		sig := samlxmltest.ChildSignature(el)
		edit(sig)
		testIDP().Resign(sig)
	})
}

func TestSAML01Unsigned(t *testing.T) {
	runHostile(t, []hostileCase{
		{"both unsigned", signed(samlxmltest.SignNone), true, "unsigned"},
		{"signature stripped", samlxmltest.Mutate(signed(samlxmltest.SignAssertion), func(doc *etree.Document) {
			a := samlxmltest.First(doc.Root(), "Assertion")
			a.RemoveChild(samlxmltest.ChildSignature(a))
		}), true, "unsigned"},
	})
}

func TestSAML03SignatureWrapping(t *testing.T) {
	var cases []hostileCase
	for _, sh := range []samlxmltest.Shape{samlxmltest.DefaultShape(), samlxmltest.OktaShape(), samlxmltest.ADFSShape(), samlxmltest.EntraShape()} {
		for n := 1; n <= 9; n++ {
			sign := samlxmltest.SignAssertion
			if n <= 2 {
				sign = samlxmltest.SignResponse
			}
			x := testIDP().Sign(samlxmltest.Response{Now: testNow(), Sign: sign, Shape: sh})
			cases = append(cases, hostileCase{fmt.Sprintf("XSW%d/%s", n, sh.Name), samlxmltest.XSW(n, x), false, "assertion_count"})
		}
		x := testIDP().Sign(samlxmltest.Response{Now: testNow(), Shape: sh})
		cases = append(cases, hostileCase{"CVE-2022-41912/" + sh.Name, samlxmltest.MultipleAssertions(x), false, "assertion_count"})
	}
	// Wrapping that keeps a single Assertion meets the later checks.
	x := signed(samlxmltest.SignAssertion)
	cases = append(cases,
		hostileCase{"signature moved into Subject", samlxmltest.Mutate(x, func(doc *etree.Document) {
			a := samlxmltest.First(doc.Root(), "Assertion")
			sig := samlxmltest.ChildSignature(a)
			a.RemoveChild(sig)
			samlxmltest.First(a, "Subject").AddChild(sig)
		}), false, "signature_misplaced"},
		hostileCase{"assertion forged under a new ID", samlxmltest.Mutate(x, func(doc *etree.Document) {
			a := samlxmltest.First(doc.Root(), "Assertion")
			a.CreateAttr("ID", "_evil")
			samlxmltest.First(a, "NameID").SetText(samlxmltest.EvilNameID)
		}), true, "reference_uri_mismatch"},
		hostileCase{"assertion forged in place", replaceOnce(t, x, "alice@example.com</saml:NameID>", samlxmltest.EvilNameID+"</saml:NameID>"), true, "assertion_signature_invalid"},
		hostileCase{"assertion nested in Extensions, unsigned one in place", samlxmltest.Mutate(x, func(doc *etree.Document) {
			resp := doc.Root()
			a := samlxmltest.First(resp, "Assertion")
			resp.RemoveChild(a)
			ext := resp.CreateElement("samlp:Extensions")
			ext.AddChild(a)
		}), false, "assertion_misplaced"},
	)
	runHostile(t, cases)
}

func TestSAML04References(t *testing.T) {
	x := signed(samlxmltest.SignAssertion)
	runHostile(t, []hostileCase{
		{"Reference to the Response", resigned(x, "Assertion", func(sig *etree.Element) {
			samlxmltest.First(sig, "Reference").CreateAttr("URI", "#_resp")
		}), true, "reference_uri_mismatch"},
		{"Reference URI empty", resigned(x, "Assertion", func(sig *etree.Element) {
			samlxmltest.First(sig, "Reference").CreateAttr("URI", "")
		}), true, "reference_uri_empty"},
		{"Reference URI absent", resigned(x, "Assertion", func(sig *etree.Element) {
			samlxmltest.First(sig, "Reference").RemoveAttr("URI")
		}), true, "reference_uri_empty"},
		{"two elements with one ID", samlxmltest.Mutate(x, func(doc *etree.Document) {
			doc.Root().CreateAttr("ID", "_assert")
		}), false, "duplicate_id"},
		{"ID on a third element", samlxmltest.Mutate(x, func(doc *etree.Document) {
			samlxmltest.First(doc.Root(), "Subject").CreateAttr("ID", "_assert")
		}), false, "duplicate_id"},
		{"ID in a foreign namespace", samlxmltest.Mutate(x, func(doc *etree.Document) {
			s := samlxmltest.First(doc.Root(), "Subject")
			s.CreateAttr("xmlns:evil", "urn:evil")
			s.CreateAttr("evil:ID", "_other")
		}), false, "id_attribute_namespaced"},
		{"xml:id", samlxmltest.Mutate(x, func(doc *etree.Document) {
			samlxmltest.First(doc.Root(), "Subject").CreateAttr("xml:id", "_other")
		}), false, "id_attribute_namespaced"},
		{"Response without ID", samlxmltest.Mutate(x, func(doc *etree.Document) {
			doc.Root().RemoveAttr("ID")
		}), false, "response_id_missing"},
		{"Assertion without ID", samlxmltest.Mutate(x, func(doc *etree.Document) {
			samlxmltest.First(doc.Root(), "Assertion").RemoveAttr("ID")
		}), false, "assertion_id_missing"},
	})
}

func TestSAML06Transforms(t *testing.T) {
	sign := func(c14n string) []byte {
		return testIDP().Sign(samlxmltest.Response{Now: testNow(), Canonicalization: c14n})
	}
	x := signed(samlxmltest.SignAssertion)
	addTransform := func(alg string) func(*etree.Element) {
		return func(sig *etree.Element) {
			ts := samlxmltest.First(sig, "Transforms")
			tr := ts.CreateElement("ds:Transform")
			tr.CreateAttr("Algorithm", alg)
		}
	}
	runHostile(t, []hostileCase{
		{"exc-c14n with comments", sign(samlxmltest.C14NExclusiveWithComments), true, "canonicalization_method"},
		{"c14n 1.1", sign(samlxmltest.C14N11), true, "canonicalization_method"},
		{"c14n 1.0", sign(samlxmltest.C14N10), true, "canonicalization_method"},
		{"XPath transform", resigned(x, "Assertion", func(sig *etree.Element) {
			ts := samlxmltest.First(sig, "Transforms")
			tr := etree.NewElement("ds:Transform")
			tr.CreateAttr("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
			tr.CreateElement("ds:XPath").SetText("not(ancestor-or-self::ds:Signature)")
			ts.InsertChildAt(0, tr)
		}), true, "transforms"},
		{"XSLT transform", resigned(x, "Assertion", addTransform("http://www.w3.org/TR/1999/REC-xslt-19991116")), true, "transforms"},
		{"base64 transform", resigned(x, "Assertion", addTransform("http://www.w3.org/2000/09/xmldsig#base64")), true, "transforms"},
		{"transforms reversed", resigned(x, "Assertion", func(sig *etree.Element) {
			ts := samlxmltest.First(sig, "Transforms")
			first := ts.ChildElements()[0]
			ts.RemoveChild(first)
			ts.AddChild(first)
		}), true, "transforms"},
		{"enveloped-signature missing", resigned(x, "Assertion", func(sig *etree.Element) {
			ts := samlxmltest.First(sig, "Transforms")
			ts.RemoveChild(ts.ChildElements()[0])
		}), true, "transforms"},
		{"exc-c14n with comments as the transform", resigned(x, "Assertion", func(sig *etree.Element) {
			samlxmltest.First(sig, "Transforms").ChildElements()[1].CreateAttr("Algorithm", "http://www.w3.org/2001/10/xml-exc-c14n#WithComments")
		}), true, "transforms"},
		{"Transforms missing", resigned(x, "Assertion", func(sig *etree.Element) {
			ref := samlxmltest.First(sig, "Reference")
			ref.RemoveChild(samlxmltest.First(ref, "Transforms"))
		}), true, "transforms"},
		{"Object in Signature", resigned(x, "Assertion", func(sig *etree.Element) {
			sig.CreateElement("ds:Object").SetText("x")
		}), true, "signature_object"},
	})
}

func TestSAML07Algorithms(t *testing.T) {
	sha1 := testIDP().Sign(samlxmltest.Response{Now: testNow(), Sign: samlxmltest.SignBoth, SignatureMethod: samlxmltest.RSASHA1})
	if !bytes.Contains(sha1, []byte(`Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"`)) {
		t.Fatal("fixture digest is not sha1")
	}
	x := signed(samlxmltest.SignAssertion)
	setAlg := func(local, alg string) func(*etree.Element) {
		return func(sig *etree.Element) { samlxmltest.First(sig, local).CreateAttr("Algorithm", alg) }
	}
	runHostile(t, []hostileCase{
		{"rsa-sha1", sha1, true, "signature_method_sha1"},
		{"sha1 digest", resigned(x, "Assertion", setAlg("DigestMethod", "http://www.w3.org/2000/09/xmldsig#sha1")), true, "digest_method_sha1"},
		{"md5 digest", resigned(x, "Assertion", setAlg("DigestMethod", "http://www.w3.org/2001/04/xmldsig-more#md5")), true, "digest_method"},
		{"hmac-sha1", resigned(x, "Assertion", setAlg("SignatureMethod", "http://www.w3.org/2000/09/xmldsig#hmac-sha1")), true, "signature_method"},
		{"ecdsa-sha1", resigned(x, "Assertion", setAlg("SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1")), true, "signature_method"},
		{"HMACOutputLength", resigned(x, "Assertion", func(sig *etree.Element) {
			samlxmltest.First(sig, "SignatureMethod").CreateElement("ds:HMACOutputLength").SetText("8")
		}), true, "signature_method"},
		// CVE-2026-33487: with several References the last one was used.
		{"two References", resigned(x, "Assertion", func(sig *etree.Element) {
			ref := samlxmltest.First(sig, "Reference")
			second := ref.Copy()
			second.CreateAttr("URI", "#_resp")
			ref.Parent().AddChild(second)
		}), true, "reference_count"},
	})
	// Admitted when the provider allows SHA-1.
	keys := testIDP().Keys()
	keys.AllowSHA1 = true
	if _, err := New(Options{}).Verify(context.Background(), samlxmltest.Encode(sha1), keys, testNow()); err != nil {
		t.Fatalf("rsa-sha1 with AllowSHA1: %v", err)
	}
}

func TestSAML08ForeignCertificate(t *testing.T) {
	now := testNow()
	withCert := attackerIDP().Sign(samlxmltest.Response{Now: now})
	withoutCert := attackerIDP().Sign(samlxmltest.Response{Now: now, OmitKeyInfo: true})
	// The legitimate IdP's certificate in KeyInfo, signed by the attacker.
	spoofed := samlxmltest.Mutate(withCert, func(doc *etree.Document) {
		samlxmltest.First(doc.Root(), "X509Certificate").SetText(testIDP().CertificateBase64())
	})
	runHostile(t, []hostileCase{
		{"attacker certificate in KeyInfo", withCert, true, "certificate_not_registered"},
		{"no KeyInfo, attacker key", withoutCert, true, "assertion_signature_invalid"},
		{"registered certificate in KeyInfo, attacker key", spoofed, true, "assertion_signature_invalid"},
		{"KeyInfo without X509Data", samlxmltest.Mutate(signed(samlxmltest.SignAssertion), func(doc *etree.Document) {
			ki := samlxmltest.First(doc.Root(), "KeyInfo")
			ki.RemoveChild(samlxmltest.First(ki, "X509Data"))
			ki.CreateElement("ds:KeyName").SetText("idp")
		}), true, "keyinfo_invalid"},
		{"KeyInfo certificate not base64", samlxmltest.Mutate(signed(samlxmltest.SignAssertion), func(doc *etree.Document) {
			samlxmltest.First(doc.Root(), "X509Certificate").SetText("!!!")
		}), true, "keyinfo_invalid"},
	})
}

func TestSAML09NoCertificate(t *testing.T) {
	x := samlxmltest.Encode(signed(samlxmltest.SignBoth))
	v := New(Options{})
	for name, keys := range map[string]saml.Keys{
		"none":     {},
		"nil only": {Certificates: []*x509.Certificate{nil}},
	} {
		_, err := v.Verify(context.Background(), x, keys, testNow())
		t.Run(name, func(t *testing.T) { wantRefused(t, err, true, "no_certificate") })
	}
}

// canary counts connections to a loopback listener named in entities.
func canary(t *testing.T) (string, *atomic.Int32) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return "http://" + l.Addr().String() + "/canary", &n
}

func TestSAML11Entities(t *testing.T) {
	url, hits := canary(t)
	x := signed(samlxmltest.SignAssertion)
	withDTD := func(dtd, nameID string) []byte {
		y := replaceOnce(t, x, `<?xml version="1.0" encoding="UTF-8"?>`, `<?xml version="1.0" encoding="UTF-8"?>`+dtd)
		return replaceOnce(t, y, "alice@example.com</saml:NameID>", nameID+"</saml:NameID>")
	}
	laughs := `<!DOCTYPE samlp:Response [<!ENTITY lol "lol">` +
		`<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">` +
		`<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>`
	cases := []hostileCase{
		{"billion laughs", withDTD(laughs, "&lol9;"), false, "xml_directive"},
		{"external entity file", withDTD(`<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`, "&xxe;"), false, "xml_directive"},
		{"external entity http", withDTD(`<!DOCTYPE r [<!ENTITY xxe SYSTEM "`+url+`">]>`, "&xxe;"), false, "xml_directive"},
		{"external DTD", withDTD(`<!DOCTYPE r SYSTEM "`+url+`">`, "alice@example.com"), false, "xml_directive"},
		{"parameter entity", withDTD(`<!DOCTYPE r [<!ENTITY % p SYSTEM "`+url+`"> %p;]>`, "alice@example.com"), false, "xml_directive"},
		{"undeclared entity without DTD", replaceOnce(t, x, "alice@example.com</saml:NameID>", "&xxe;</saml:NameID>"), false, "xml_malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bounded(t, 2*time.Second, 16<<20, func() {
				_, err := verify(c.xml)
				wantRefused(t, err, c.signature, c.reason)
			})
		})
	}
	time.Sleep(50 * time.Millisecond) // a connection, had one been made, would have been accepted by now
	if n := hits.Load(); n != 0 {
		t.Fatalf("canary saw %d connections", n)
	}
}

// The mattermost/xml-roundtrip-validator corpus and namespace tricks,
// each put into the signed Assertion's Subject.
func TestSAML12RoundTripCorpus(t *testing.T) {
	x := signed(samlxmltest.SignAssertion)
	inject := func(raw string) []byte { return replaceOnce(t, x, "<saml:Subject>", "<saml:Subject>"+raw) }
	runHostile(t, []hostileCase{
		{"colon in element name", inject(`<x::Root/>`), false, "xml_malformed"},
		{"colon in nested end tag", inject(`<Root><x::Element></::Element></Root>`), false, "xml_malformed"},
		{"colon in attribute name", inject(`<Element ::attr="foo"></Element>`), false, "xml_malformed"},
		{"empty attribute local name", inject(`<Root x:="value"/>`), false, "xml_name_invalid"},
		{"empty attribute name", inject(`<Root :="value"/>`), false, "xml_name_invalid"},
		{"empty xmlns local name", inject(`<Root xmlns="x" xmlns:="y"></Root>`), false, "xml_name_invalid"},
		{"default namespace twice", inject(`<Root xmlns="http://example.com/1" xmlns="http://example.com/2"></Root>`), false, "xml_duplicate_attribute"},
		{"undeclared prefix", inject(`<x:Root xmlns="http://example.com/1" x:attr="y"/>`), false, "xml_namespace_undeclared"},
		{"one attribute under two prefixes", inject(`<Root xmlns:a="urn:x" xmlns:b="urn:x" a:attr="1" b:attr="2"/>`), false, "xml_duplicate_attribute"},
		{"undeclaring a prefix", inject(`<Root xmlns:saml=""/>`), false, "xml_namespace_invalid"},
		{"rebinding xml", inject(`<Root xmlns:xml="urn:evil"/>`), false, "xml_namespace_invalid"},
		{"binding xmlns", inject(`<Root xmlns:xmlns="urn:evil"/>`), false, "xml_namespace_invalid"},
		{"directive with comment tricks", inject(`<! <<!-- -->!-- x --> y>`), false, "xml_directive"},
		{"directive with quoted markup", inject(`<! ">" <X/>>`), false, "xml_directive"},
		{"mismatched end tag", inject(`<a></b>`), false, "xml_malformed"},
		{"end tag of another prefix", inject(`<saml:Foo></samlp:Foo>`), false, "xml_malformed"},
		// Well-formed XML that rebinds the saml prefix: the NameID is no
		// longer a SAML NameID, and the digest no longer matches.
		{"prefix redefinition", replaceOnce(t, x, "<saml:NameID ", `<saml:NameID xmlns:saml="urn:evil" `), true, "assertion_signature_invalid"},
	})
}

func TestSAML21Decoding(t *testing.T) {
	xml := signed(samlxmltest.SignAssertion)
	enc := samlxmltest.Encode(xml)
	v := New(Options{})
	check := func(t *testing.T, encoded string, reason string) {
		t.Helper()
		_, err := v.Verify(context.Background(), encoded, testIDP().Keys(), testNow())
		if reason == "" {
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			return
		}
		wantRefused(t, err, false, reason)
	}
	wrap := func(s, sep string, width int) string {
		var b strings.Builder
		for len(s) > width {
			b.WriteString(s[:width] + sep)
			s = s[width:]
		}
		return b.String() + s
	}
	compress := func(w func(*bytes.Buffer) interface {
		Write([]byte) (int, error)
		Close() error
	}) string {
		var buf bytes.Buffer
		c := w(&buf)
		c.Write(xml)
		c.Close()
		return base64.StdEncoding.EncodeToString(buf.Bytes())
	}
	padded := append([]byte{}, xml...)
	for len(padded)%3 == 0 {
		padded = append(padded, ' ')
	}
	if !strings.ContainsAny(enc, "+/") {
		t.Fatal("fixture has no + or / to turn URL-safe")
	}
	rows := []struct {
		name, encoded, reason string
	}{
		{"CRLF every 76", wrap(enc, "\r\n", 76), ""},
		{"LF every 64 with indentation", "\n  " + wrap(enc, "\n  ", 64) + "\n", ""},
		{"spaces and tabs", wrap(enc, " \t", 10), ""},
		{"exactly 100000 chars", enc + strings.Repeat(" ", maxEncodedLength-len(enc)), ""},
		{"100001 chars", enc + strings.Repeat(" ", maxEncodedLength+1-len(enc)), "encoded_too_long"},
		{"empty", "", "encoded_empty"},
		{"whitespace only", " \r\n\t", "encoded_empty"},
		{"not base64", "%%%%", "base64_invalid"},
		{"3 chars", "PHM", "base64_invalid"},
		{"missing padding", strings.TrimRight(base64.StdEncoding.EncodeToString(padded), "="), "base64_invalid"},
		{"URL-safe alphabet", base64.URLEncoding.EncodeToString(xml), "base64_url_alphabet"},
		{"vertical tab", wrap(enc, "\v", 76), "base64_invalid"},
		{"form feed", wrap(enc, "\f", 76), "base64_invalid"},
		{"no-break space", wrap(enc, "\u00a0", 76), "base64_invalid"},
		{"percent-encoded", strings.ReplaceAll(enc, "+", "%2B"), "base64_invalid"},
		{"raw DEFLATE (Redirect binding)", compress(func(b *bytes.Buffer) interface {
			Write([]byte) (int, error)
			Close() error
		} {
			w, _ := flate.NewWriter(b, flate.BestCompression)
			return w
		}), "deflate_encoded"},
		{"zlib", compress(func(b *bytes.Buffer) interface {
			Write([]byte) (int, error)
			Close() error
		} {
			return zlib.NewWriter(b)
		}), "deflate_encoded"},
		{"gzip", compress(func(b *bytes.Buffer) interface {
			Write([]byte) (int, error)
			Close() error
		} {
			return gzip.NewWriter(b)
		}), "deflate_encoded"},
		{"UTF-8 byte order mark", base64.StdEncoding.EncodeToString(append([]byte("\xef\xbb\xbf"), xml...)), "not_xml"},
		{"UTF-16", base64.StdEncoding.EncodeToString([]byte("\xff\xfe<\x00")), "not_xml"},
		{"blank", base64.StdEncoding.EncodeToString([]byte("   ")), "not_xml"},
		{"over the limit", strings.Repeat("A", maxEncodedLength+1), "encoded_too_long"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) { check(t, r.encoded, r.reason) })
	}
}

func TestSAML22Encrypted(t *testing.T) {
	x := signed(samlxmltest.SignAssertion)
	encrypted := func(cipher string) []byte {
		return samlxmltest.Mutate(x, func(doc *etree.Document) {
			resp := doc.Root()
			resp.RemoveChild(samlxmltest.First(resp, "Assertion"))
			ea := resp.CreateElement("saml:EncryptedAssertion")
			ed := ea.CreateElement("xenc:EncryptedData")
			ed.CreateAttr("xmlns:xenc", "http://www.w3.org/2001/04/xmlenc#")
			ed.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
			ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#aes128-cbc")
			ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(cipher)
		})
	}
	runHostile(t, []hostileCase{
		{"wrong key", encrypted(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 512))), false, "encrypted_assertion"},
		{"malformed CBC", encrypted("AAAA"), false, "encrypted_assertion"},
		{"oversized", encrypted(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 40000))), false, "encrypted_assertion"},
		{"next to a signed assertion", samlxmltest.Mutate(x, func(doc *etree.Document) {
			doc.Root().CreateElement("saml:EncryptedAssertion")
		}), false, "encrypted_assertion"},
		{"EncryptedID", samlxmltest.Mutate(x, func(doc *etree.Document) {
			samlxmltest.First(doc.Root(), "Subject").CreateElement("saml:EncryptedID")
		}), false, "encrypted_element"},
		{"EncryptedAttribute", samlxmltest.Mutate(x, func(doc *etree.Document) {
			samlxmltest.First(doc.Root(), "AttributeStatement").CreateElement("saml:EncryptedAttribute")
		}), false, "encrypted_element"},
	})
}

func TestSAML25Bounds(t *testing.T) {
	x := signed(samlxmltest.SignAssertion)
	inject := func(raw string) string {
		return samlxmltest.Encode(replaceOnce(t, x, "<saml:Subject>", "<saml:Subject>"+raw))
	}
	attrs := func(n int) string {
		var b strings.Builder
		b.WriteString("<e")
		for i := range n {
			fmt.Fprintf(&b, " a%d=\"\"", i)
		}
		b.WriteString("/>")
		return b.String()
	}
	rows := []struct {
		name, encoded, reason string
	}{
		{"50000-deep nesting", inject(strings.Repeat("<a>", 50000) + strings.Repeat("</a>", 50000)), "encoded_too_long"},
		{"9000-deep nesting", inject(strings.Repeat("<a>", 9000) + strings.Repeat("</a>", 9000)), "xml_too_deep"},
		{"15000-deep unclosed", inject(strings.Repeat("<a>", 15000)), "xml_too_deep"},
		{"10^6 attributes", samlxmltest.Encode([]byte("<r" + strings.Repeat(` a=""`, 1_000_000) + "/>")), "encoded_too_long"},
		{"65 attributes", inject(attrs(65)), "xml_too_many_attributes"},
		{"100 KB attribute value", inject(`<e a="` + strings.Repeat("v", 100_000) + `"/>`), "encoded_too_long"},
		{"70 KB attribute value", inject(`<e a="` + strings.Repeat("v", 70_000) + `"/>`), "xml_value_too_large"},
		{"70 KB text", inject(`<e>` + strings.Repeat("v", 70_000) + `</e>`), "xml_value_too_large"},
		{"2001 elements", inject(strings.Repeat("<e/>", 2_001)), "xml_too_many_elements"},
		// Exclusive c14n copies the prefixes in scope at every element:
		// 28 levels declaring 63 prefixes each over thousands of leaves
		// once cost seconds per request (security review, 2026-11-22).
		{"namespace fan-out", inject(nsFanOut(28, 63, 1_500)), "xml_too_many_namespaces"},
		{"25 prefixes in scope", inject(nsFanOut(1, 24, 1)), "xml_too_many_namespaces"},
	}
	v := New(Options{})
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			bounded(t, 2*time.Second, 64<<20, func() {
				_, err := v.Verify(context.Background(), r.encoded, testIDP().Keys(), testNow())
				wantRefused(t, err, false, r.reason)
			})
		})
	}
}

// Comment injection (security.md V-30; CVE-2017-11427 and kin): refused
// outright wherever it is.
func TestCommentInjection(t *testing.T) {
	x := signed(samlxmltest.SignAssertion)
	runHostile(t, []hostileCase{
		{"NameID", replaceOnce(t, x, "alice@example.com</saml:NameID>", "admin@evil.com<!---->.example.com</saml:NameID>"), false, "xml_comment"},
		{"AttributeValue", replaceOnce(t, x, "<saml:AttributeValue>alice@example.com", "<saml:AttributeValue>admin<!-- x -->alice@example.com"), false, "xml_comment"},
		{"outside the signed element", replaceOnce(t, x, "<samlp:Status>", "<samlp:Status><!-- hi -->"), false, "xml_comment"},
		{"after the root", append(append([]byte{}, x...), "<!-- trailer -->"...), false, "xml_comment"},
	})
}

// Everything after verification reads the verified element only; these
// documents are validly signed, so only the reading rules refuse them.
func TestSignedButMalformedContent(t *testing.T) {
	now := testNow()
	build := func(edit func(resp, a *etree.Element)) []byte {
		unsigned := testIDP().Sign(samlxmltest.Response{Now: now, Sign: samlxmltest.SignNone})
		x := samlxmltest.Mutate(unsigned, func(doc *etree.Document) {
			edit(doc.Root(), samlxmltest.First(doc.Root(), "Assertion"))
		})
		return testIDP().SignDocument(x, samlxmltest.Response{Now: now})
	}
	first := samlxmltest.First
	many := func(parent *etree.Element, tag string, n int, fill func(*etree.Element, int)) {
		for i := range n {
			fill(parent.CreateElement(tag), i)
		}
	}
	runHostile(t, []hostileCase{
		{"child element in NameID", build(func(_, a *etree.Element) {
			n := first(a, "NameID")
			n.SetText("adm")
			n.CreateElement("saml:x").SetText("in")
		}), false, "name_id_not_text"},
		{"child element in Issuer", build(func(_, a *etree.Element) { first(a, "Issuer").CreateElement("saml:x") }), false, "issuer_not_text"},
		{"child element in Audience", build(func(_, a *etree.Element) { first(a, "Audience").CreateElement("saml:x") }), false, "audience_not_text"},
		{"child element in AttributeValue", build(func(_, a *etree.Element) { first(a, "AttributeValue").CreateElement("saml:NameID") }), false, "attribute_value_not_text"},
		{"xsi:nil with content", build(func(_, a *etree.Element) {
			v := first(a, "AttributeValue")
			v.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
			v.CreateAttr("xsi:nil", "true")
		}), false, "attribute_value_nil_with_content"},
		{"Issuer of another format", build(func(_, a *etree.Element) {
			first(a, "Issuer").CreateAttr("Format", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
		}), false, "issuer_format"},
		{"empty Issuer", build(func(_, a *etree.Element) { first(a, "Issuer").SetText(" ") }), false, "issuer_missing"},
		{"unknown condition", build(func(_, a *etree.Element) { first(a, "Conditions").CreateElement("saml:Condition") }), false, "condition_unsupported"},
		{"two OneTimeUse", build(func(_, a *etree.Element) {
			first(a, "Conditions").CreateElement("saml:OneTimeUse")
			first(a, "Conditions").CreateElement("saml:OneTimeUse")
		}), false, "condition_unsupported"},
		{"empty AudienceRestriction", build(func(_, a *etree.Element) { first(a, "Conditions").CreateElement("saml:AudienceRestriction") }), false, "audience_restriction_empty"},
		{"21 audiences", build(func(_, a *etree.Element) {
			many(first(a, "AudienceRestriction"), "saml:Audience", 20, func(e *etree.Element, i int) { e.SetText(fmt.Sprint("urn:a:", i)) })
		}), false, "too_many_audiences"},
		{"201 attributes", build(func(_, a *etree.Element) {
			many(first(a, "AttributeStatement"), "saml:Attribute", 199, func(e *etree.Element, i int) { e.CreateAttr("Name", fmt.Sprint("urn:n:", i)) })
		}), false, "too_many_attributes"},
		{"101 values", build(func(_, a *etree.Element) {
			many(first(a, "Attribute"), "saml:AttributeValue", 100, func(e *etree.Element, i int) { e.SetText("v") })
		}), false, "too_many_attribute_values"},
		{"Attribute without Name", build(func(_, a *etree.Element) { first(a, "Attribute").RemoveAttr("Name") }), false, "attribute_name_missing"},
		{"unknown child of Attribute", build(func(_, a *etree.Element) { first(a, "Attribute").CreateElement("saml:Value") }), false, "attribute_child_unexpected"},
		{"unknown child of AttributeStatement", build(func(_, a *etree.Element) { first(a, "AttributeStatement").CreateElement("saml:Thing") }), false, "attribute_statement_child_unexpected"},
		{"IssueInstant without zone", build(func(_, a *etree.Element) { a.CreateAttr("IssueInstant", "2026-03-01T12:00:00") }), false, "time_invalid"},
		{"NotOnOrAfter not a time", build(func(_, a *etree.Element) { first(a, "SubjectConfirmationData").CreateAttr("NotOnOrAfter", "tomorrow") }), false, "time_invalid"},
		{"SessionNotOnOrAfter not a time", build(func(_, a *etree.Element) {
			first(a, "AuthnStatement").CreateAttr("SessionNotOnOrAfter", "2026-13-01T00:00:00Z")
		}), false, "time_invalid"},
		{"Conditions NotBefore lower-case z", build(func(_, a *etree.Element) { first(a, "Conditions").CreateAttr("NotBefore", "2026-03-01T11:55:00z") }), false, "time_invalid"},
		{"Assertion version 1.1", build(func(_, a *etree.Element) { a.CreateAttr("Version", "1.1") }), false, "version_unsupported"},
		{"BaseID", build(func(_, a *etree.Element) {
			s := first(a, "Subject")
			s.RemoveChild(first(s, "NameID"))
			s.InsertChildAt(0, etree.NewElement("saml:BaseID"))
		}), false, "subject_identifier_unsupported"},
		{"no NameID", build(func(_, a *etree.Element) {
			s := first(a, "Subject")
			s.RemoveChild(first(s, "NameID"))
		}), false, "name_id_missing"},
		{"two NameIDs", build(func(_, a *etree.Element) {
			s := first(a, "Subject")
			s.InsertChildAt(0, first(s, "NameID").Copy())
		}), false, "name_id_count"},
		{"two SubjectConfirmationData", build(func(_, a *etree.Element) {
			sc := first(a, "SubjectConfirmation")
			sc.AddChild(first(sc, "SubjectConfirmationData").Copy())
		}), false, "subject_confirmation_data_count"},
		{"unknown child of Subject", build(func(_, a *etree.Element) { first(a, "Subject").CreateElement("saml:Thing") }), false, "subject_child_unexpected"},
	})
}

// Shape rules on unsigned parts and elements around the signatures.
func TestShapeRules(t *testing.T) {
	x := signed(samlxmltest.SignAssertion)
	both := signed(samlxmltest.SignBoth)
	runHostile(t, []hostileCase{
		{"not a Response", replaceOnce(t, replaceOnce(t, x, "<samlp:Response ", "<samlp:LogoutResponse "), "</samlp:Response>", "</samlp:LogoutResponse>"), false, "not_a_response"},
		{"Response version 1.1", replaceOnce(t, x, `Version="2.0" IssueInstant`, `Version="1.1" IssueInstant`), false, "version_unsupported"},
		{"status not success", replaceOnce(t, x, "status:Success", "status:Requester"), false, "status_not_success"},
		{"no status", samlxmltest.Mutate(x, func(doc *etree.Document) {
			doc.Root().RemoveChild(samlxmltest.First(doc.Root(), "Status"))
		}), false, "response_child_order"},
		{"unknown child of Response", samlxmltest.Mutate(x, func(doc *etree.Document) { doc.Root().CreateElement("samlp:Thing") }), false, "response_child_unexpected"},
		{"Response Signature after Status", samlxmltest.Mutate(both, func(doc *etree.Document) {
			resp := doc.Root()
			sig := samlxmltest.ChildSignature(resp)
			resp.RemoveChild(sig)
			resp.InsertChildAt(samlxmltest.First(resp, "Assertion").Index(), sig)
		}), false, "response_child_order"},
		{"Assertion Signature after Subject", samlxmltest.Mutate(x, func(doc *etree.Document) {
			a := samlxmltest.First(doc.Root(), "Assertion")
			sig := samlxmltest.ChildSignature(a)
			a.RemoveChild(sig)
			a.InsertChildAt(samlxmltest.First(a, "Conditions").Index(), sig)
		}), false, "assertion_child_order"},
		{"two Signatures on the Assertion", samlxmltest.Mutate(x, func(doc *etree.Document) {
			a := samlxmltest.First(doc.Root(), "Assertion")
			sig := samlxmltest.ChildSignature(a)
			a.InsertChildAt(sig.Index(), sig.Copy())
		}), false, "signature_duplicate"},
		{"Signature in Status", samlxmltest.Mutate(x, func(doc *etree.Document) {
			samlxmltest.First(doc.Root(), "Status").AddChild(samlxmltest.ChildSignature(samlxmltest.First(doc.Root(), "Assertion")).Copy())
		}), false, "signature_misplaced"},
		{"AuthzDecisionStatement", samlxmltest.Mutate(x, func(doc *etree.Document) {
			samlxmltest.First(doc.Root(), "Assertion").CreateElement("saml:AuthzDecisionStatement")
		}), false, "assertion_child_unexpected"},
		{"Subject after Conditions", samlxmltest.Mutate(x, func(doc *etree.Document) {
			a := samlxmltest.First(doc.Root(), "Assertion")
			s := samlxmltest.First(a, "Subject")
			a.RemoveChild(s)
			a.InsertChildAt(samlxmltest.First(a, "AuthnStatement").Index(), s)
		}), false, "assertion_child_order"},
		{"text after the root", append(append([]byte{}, x...), "junk"...), false, "xml_text_outside_root"},
		{"second root", append(append([]byte{}, x...), "<samlp:Response/>"...), false, "xml_multiple_roots"},
		{"processing instruction", replaceOnce(t, x, "<samlp:Status>", "<samlp:Status><?evil x?>"), false, "xml_processing_instruction"},
		{"XML declaration not first", append([]byte(" "), x...), false, "xml_processing_instruction"},
		{"Latin-1", replaceOnce(t, x, `encoding="UTF-8"`, `encoding="ISO-8859-1"`), false, "xml_encoding_unsupported"},
		{"UTF-16 declared", replaceOnce(t, x, `encoding="UTF-8"`, `encoding="UTF-16"`), false, "xml_encoding_unsupported"},
		{"invalid UTF-8", replaceOnce(t, x, "alice@example.com</saml:NameID>", "al\xffice</saml:NameID>"), false, "xml_malformed"},
		{"truncated", x[:len(x)-10], false, "xml_malformed"},
	})
}

// nsFanOut nests depth elements, each declaring perLevel new prefixes,
// around leaves empty elements.
func nsFanOut(depth, perLevel, leaves int) string {
	var b strings.Builder
	for d := range depth {
		b.WriteString("<n")
		for p := range perLevel {
			fmt.Fprintf(&b, ` xmlns:p%d_%d="urn:p:%d:%d"`, d, p, d, p)
		}
		b.WriteString(">")
	}
	b.WriteString(strings.Repeat("<a/>", leaves))
	b.WriteString(strings.Repeat("</n>", depth))
	return b.String()
}
