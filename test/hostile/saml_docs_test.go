package hostile

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/keyless-dev/keyless/internal/samlxml/samlxmltest"
)

// Hostile SAML documents, each made from a valid signed Response by one
// change. Where the change can be signed (it is well-formed XML that
// etree and goxmldsig can write), it is: the document is built unsigned,
// changed, and signed as the IdP would (samlxmltest.SignDocument), or an
// altered SignedInfo is signed again (Resign), so that what is refused is
// the change and not a broken signature. Changes that no XML library can
// write (the round-trip corpus, DTDs, the size bombs) are spliced into the
// signed bytes; the audit reason then shows the refusal came before any
// signature was looked at.

const (
	nsDSigURI   = "http://www.w3.org/2000/09/xmldsig#"
	algSHA1     = "http://www.w3.org/2000/09/xmldsig#sha1"
	algExcC14N  = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algXPath    = "http://www.w3.org/TR/1999/REC-xpath-19991116"
	algXSLT     = "http://www.w3.org/TR/1999/REC-xslt-19991116"
	algBase64   = "http://www.w3.org/2000/09/xmldsig#base64"
	algHMACSHA1 = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
	nsXMLEnc    = "http://www.w3.org/2001/04/xmlenc#"
)

// signedAfter builds r unsigned, lets f change the tree, and signs the
// result as r.Sign says (SignDocument).
func signedAfter(idp *samlxmltest.IdP, r samlxmltest.Response, f func(resp, assertion *etree.Element)) []byte {
	sign := r.Sign
	r.Sign = samlxmltest.SignNone
	x := samlxmltest.Mutate(idp.Sign(r), func(doc *etree.Document) {
		f(doc.Root(), samlxmltest.First(doc.Root(), "Assertion"))
	})
	r.Sign = sign
	return idp.SignDocument(x, r)
}

// ownSignature is the Signature of the Assertion, or of the Response when
// the Assertion has none.
func ownSignature(doc *etree.Document) *etree.Element {
	if a := samlxmltest.First(doc.Root(), "Assertion"); a != nil {
		if s := samlxmltest.ChildSignature(a); s != nil {
			return s
		}
	}
	return samlxmltest.ChildSignature(doc.Root())
}

// dsName is local in the XML-DSig prefix sig uses.
func dsName(sig *etree.Element, local string) string {
	if sig.Space == "" {
		return local
	}
	return sig.Space + ":" + local
}

// resigned changes the Signature of a signed document (the Assertion's,
// else the Response's) with f, then signs its SignedInfo again with idp's
// key: the signature value is good over the altered SignedInfo.
func resigned(idp *samlxmltest.IdP, x []byte, f func(sig *etree.Element)) []byte {
	return samlxmltest.Mutate(x, func(doc *etree.Document) {
		sig := ownSignature(doc)
		f(sig)
		idp.Resign(sig)
	})
}

// transforms returns the Transform elements of sig's one Reference.
func transforms(sig *etree.Element) (*etree.Element, []*etree.Element) {
	ts := samlxmltest.First(sig, "Transforms")
	return ts, ts.ChildElements()
}

// splice replaces the one occurrence of old in x; it panics when old is
// not there exactly once, so that a row never tests an unchanged document.
func splice(x []byte, old, new string) []byte {
	if n := bytes.Count(x, []byte(old)); n != 1 {
		panic(fmt.Sprintf("splice: %q occurs %d times", old, n))
	}
	return bytes.Replace(x, []byte(old), []byte(new), 1)
}

// inSessionName puts fragment where the RoleSessionName value is.
func inSessionName(x []byte, fragment string) []byte {
	return splice(x, ">"+samlSession+"<", ">"+fragment+"<")
}

// afterDeclaration puts s between the XML declaration and the root.
func afterDeclaration(x []byte, s string) []byte {
	i := bytes.Index(x, []byte("?>"))
	if i < 0 || !bytes.HasPrefix(x, []byte("<?xml")) {
		panic("afterDeclaration: no XML declaration")
	}
	out := append([]byte{}, x[:i+2]...)
	out = append(out, s...)
	return append(out, x[i+2:]...)
}

// inNameIDTag adds attribute text to the NameID start tag.
func inNameIDTag(x []byte, attrText string) []byte {
	return splice(x, "<saml:NameID ", "<saml:NameID "+attrText+" ")
}

// billionLaughs is the entity expansion DTD (XML 1.0 4.2; ten levels of
// ten).
func billionLaughs() string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE samlp:Response [<!ENTITY lol0 "lol">`)
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, `<!ENTITY lol%d "%s">`, i, strings.Repeat(fmt.Sprintf("&lol%d;", i-1), 10))
	}
	b.WriteString(`]>`)
	return b.String()
}

// samlRoundTripCorpus is mattermost/xml-roundtrip-validator's corpus of
// documents whose tokens do not survive encoding/xml (Go issue 43168:
// CVE-2020-29509, 29510, 29511), as fragments for a place in a Response:
// "value" goes where the RoleSessionName value is, "attr" into the NameID
// start tag, "prolog" before the root element.
var samlRoundTripCorpus = []struct{ name, where, text string }{
	{"x::Root element", "value", `<x::Root/>`},
	{"x::Element with a ::Element end tag", "value", `<x::Element></::Element>`},
	{"::attr attribute on an element", "value", `<Element ::attr="foo"></Element>`},
	{"x::Element end tag alone", "value", `</x::Element>`},
	{"x: element", "value", `<x:>`},
	{"x: end tag", "value", `</x:>`},
	{"::attr on the NameID", "attr", `::attr="foo"`},
	{": attribute", "attr", `:="value"`},
	{"x: attribute", "attr", `x:="value"`},
	{"xmlns: declaration", "attr", `xmlns:="y"`},
	{"xmlns declared twice", "attr", `xmlns="http://example.com/1" xmlns="http://example.com/2"`},
	{"undeclared prefix x:attr", "attr", `x:attr="y"`},
	{"directive hidden by a comment", "value", `<! <<!-- -->!-- x --> y>`},
	{"directive with a quoted >", "value", `<! ">" <X/>>`},
	{"nested directive", "value", `<!name <!-- comment --><nesting <more nesting>>>`},
	{"DOCTYPE html PUBLIC", "prolog", `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">`},
	{"]]> in text", "value", `]]>`},
	{"::attr then ]]> then x::Element", "value", `<Root ::attr="x">]]><x::Element/></Root>`},
	{"unterminated comment", "value", `<!--`},
	{"comment splitting the value (V-30)", "value", `alice<!---->-session`},
	{"processing instruction", "value", `<?evil data?>`},
}

// withCorpus places a corpus fragment in x.
func withCorpus(x []byte, where, text string) []byte {
	switch where {
	case "attr":
		return inNameIDTag(x, text)
	case "prolog":
		return afterDeclaration(x, text)
	}
	return inSessionName(x, text)
}

// randomB64 is n random bytes in base64.
func randomB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// encryptedAssertion is an EncryptedAssertion (SAML core 2.3.4; XML
// Encryption 1.0) whose data was encrypted with algorithm under a key
// keyless does not have, with cipher as its CipherValue.
func encryptedAssertion(algorithm, cipher string) *etree.Element {
	ea := etree.NewElement("saml:EncryptedAssertion")
	ed := ea.CreateElement("xenc:EncryptedData")
	ed.CreateAttr("xmlns:xenc", nsXMLEnc)
	ed.CreateAttr("Type", nsXMLEnc+"Element")
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", algorithm)
	ki := ed.CreateElement("ds:KeyInfo")
	ki.CreateAttr("xmlns:ds", nsDSigURI)
	ek := ki.CreateElement("xenc:EncryptedKey")
	ek.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p")
	ek.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(randomB64(256))
	ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(cipher)
	return ea
}

// replaceAssertion puts el where the Assertion is.
func replaceAssertion(resp, assertion, el *etree.Element) {
	resp.InsertChildAt(assertion.Index(), el)
	resp.RemoveChild(assertion)
}

// compressed is x deflated as the HTTP-Redirect binding does (SAML
// bindings 3.4.4.1), raw, or with a gzip or zlib header.
func compressed(x []byte, format string) []byte {
	var b bytes.Buffer
	switch format {
	case "gzip":
		w := gzip.NewWriter(&b)
		_, _ = w.Write(x)
		_ = w.Close()
	case "zlib":
		w := zlib.NewWriter(&b)
		_, _ = w.Write(x)
		_ = w.Close()
	default:
		w, _ := flate.NewWriter(&b, flate.BestCompression)
		_, _ = w.Write(x)
		_ = w.Close()
	}
	return b.Bytes()
}

// wrapped is s with a line break every n characters, as base64 tools and
// form posts write it.
func wrapped(s string, n int, sep string) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + sep)
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}
