package samlxml

import (
	"crypto/x509"
	"encoding/base64"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/keyless-dev/keyless/internal/saml"
)

// signatureMethod reports whether alg is an accepted SignatureMethod
// (RFC 6931 2.3.2) and whether it is SHA-1 based. ECDSA (RFC 6931 2.3.6)
// is not accepted: goxmldsig reads an ECDSA SignatureValue as ASN.1 DER,
// where XML-DSig carries r || s (RFC 4051 3.3.1), so a real IdP's ECDSA
// signature would not verify, and one that did would not be standard.
func signatureMethod(alg string) (ok, sha1 bool) {
	switch alg {
	case algRSASHA256, algRSASHA384, algRSASHA512:
		return true, false
	case algRSASHA1:
		return true, true
	}
	return false, false
}

// digestMethod is signatureMethod for DigestMethod (RFC 6931 2.1.3).
func digestMethod(alg string) (ok, sha1 bool) {
	switch alg {
	case algDigestSHA256, algDigestSHA384, algDigestSHA512:
		return true, false
	case algDigestSHA1:
		return true, true
	}
	return false, false
}

// precheckSignature checks a Signature's structure before the signature
// library sees it, so that the library is only ever handed the one shape
// SAML uses (SAML core 5.4; XML-DSig 4): SignedInfo, SignatureValue,
// KeyInfo?, no Object; exclusive c14n without comments (SAML-06); an
// accepted SignatureMethod and DigestMethod (SAML-07); exactly one
// Reference (CVE-2026-33487) whose URI names the signed parent (SAML core
// 5.4.2; SAML-04); Transforms exactly enveloped-signature then exc-c14n
// (SAML core 5.4.4).
func precheckSignature(sig *etree.Element, parentID string, allowSHA1 bool) string {
	kids := sig.ChildElements()
	for _, k := range kids {
		if is(k, nsDSig, "Object") {
			return "signature_object"
		}
	}
	if len(kids) < 2 || len(kids) > 3 ||
		!is(kids[0], nsDSig, "SignedInfo") ||
		!is(kids[1], nsDSig, "SignatureValue") ||
		(len(kids) == 3 && !is(kids[2], nsDSig, "KeyInfo")) {
		return "signature_shape"
	}
	if _, ok := textOnly(kids[1]); !ok {
		return "signature_shape"
	}

	si := kids[0].ChildElements()
	if len(si) < 3 || !is(si[0], nsDSig, "CanonicalizationMethod") || !is(si[1], nsDSig, "SignatureMethod") {
		return "signature_shape"
	}
	if alg, _ := attr(si[0], "Algorithm"); alg != algExcC14N || len(si[0].ChildElements()) != 0 {
		return "canonicalization_method"
	}
	alg, _ := attr(si[1], "Algorithm")
	ok, sha1 := signatureMethod(alg)
	switch {
	case !ok || len(si[1].ChildElements()) != 0:
		return "signature_method"
	case sha1 && !allowSHA1:
		return "signature_method_sha1"
	}
	refs := si[2:]
	for _, r := range refs {
		if !is(r, nsDSig, "Reference") {
			return "signature_shape"
		}
	}
	if len(refs) != 1 {
		return "reference_count"
	}
	ref := refs[0]
	switch uri, _ := attr(ref, "URI"); {
	case uri == "":
		return "reference_uri_empty"
	case uri != "#"+parentID:
		return "reference_uri_mismatch"
	}

	rk := ref.ChildElements()
	if len(rk) != 3 || !is(rk[0], nsDSig, "Transforms") || !is(rk[1], nsDSig, "DigestMethod") || !is(rk[2], nsDSig, "DigestValue") {
		return "transforms"
	}
	if r := checkTransforms(rk[0]); r != "" {
		return r
	}
	dalg, _ := attr(rk[1], "Algorithm")
	ok, sha1 = digestMethod(dalg)
	switch {
	case !ok || len(rk[1].ChildElements()) != 0:
		return "digest_method"
	case sha1 && !allowSHA1:
		return "digest_method_sha1"
	}
	if _, ok := textOnly(rk[2]); !ok {
		return "signature_shape"
	}
	return ""
}

// checkTransforms requires exactly [enveloped-signature, exc-c14n], the
// latter with at most an InclusiveNamespaces PrefixList (Exclusive XML
// Canonicalization 1.0, 3).
func checkTransforms(ts *etree.Element) string {
	t := ts.ChildElements()
	if len(t) != 2 || !is(t[0], nsDSig, "Transform") || !is(t[1], nsDSig, "Transform") {
		return "transforms"
	}
	if alg, _ := attr(t[0], "Algorithm"); alg != algEnveloped || len(t[0].ChildElements()) != 0 {
		return "transforms"
	}
	if alg, _ := attr(t[1], "Algorithm"); alg != algExcC14N {
		return "transforms"
	}
	switch inc := t[1].ChildElements(); {
	case len(inc) == 0:
	case len(inc) == 1 && is(inc[0], nsExcC14N, "InclusiveNamespaces") && len(inc[0].ChildElements()) == 0:
	default:
		return "transforms"
	}
	return ""
}

// keyInfoCertificate returns the certificate a Signature's KeyInfo names
// (XML-DSig 4.4.4: the first X509Certificate of its one X509Data, the one
// goxmldsig reads), nil if there is no KeyInfo.
func keyInfoCertificate(sig *etree.Element) (*x509.Certificate, string) {
	kis := children(sig, nsDSig, "KeyInfo")
	if len(kis) == 0 {
		return nil, ""
	}
	data := children(kis[0], nsDSig, "X509Data")
	if len(data) != 1 {
		return nil, "keyinfo_invalid"
	}
	certs := children(data[0], nsDSig, "X509Certificate")
	if len(certs) == 0 {
		return nil, "keyinfo_invalid"
	}
	text, ok := textOnly(certs[0])
	if !ok {
		return nil, "keyinfo_invalid"
	}
	der, err := base64.StdEncoding.DecodeString(stripSpace(text))
	if err != nil {
		return nil, "keyinfo_invalid"
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "keyinfo_invalid"
	}
	return c, ""
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}

func validAt(c *x509.Certificate, now time.Time) bool {
	return !now.Before(c.NotBefore) && !now.After(c.NotAfter)
}

// verifySignature checks el's enveloped signature sig with goxmldsig
// against the registered certificates only (security.md SAML-08): the one
// KeyInfo names, which must be registered, or, without KeyInfo, each
// registered certificate in turn (key rollover). It returns the element
// goxmldsig rebuilt from the bytes it verified. what names the element
// in refusal reasons.
func verifySignature(el, sig *etree.Element, id string, certs []*x509.Certificate, now time.Time, what string) (*etree.Element, *saml.Error) {
	named, reason := keyInfoCertificate(sig)
	if reason != "" {
		return nil, saml.BadSignature(reason)
	}
	var candidates []*x509.Certificate
	if named != nil {
		for _, c := range certs {
			if c.Equal(named) {
				candidates = append(candidates, c)
				break
			}
		}
		if len(candidates) == 0 {
			return nil, saml.BadSignature("certificate_not_registered")
		}
	} else {
		candidates = certs
	}
	var current []*x509.Certificate
	for _, c := range candidates {
		if validAt(c, now) {
			current = append(current, c)
		}
	}
	if len(current) == 0 {
		return nil, saml.BadSignature("certificate_expired")
	}
	for _, c := range current {
		verified := validate(el, c, now)
		if verified == nil {
			continue
		}
		if v, _ := attr(verified, "ID"); !is(verified, el.NamespaceURI(), el.Tag) || v != id {
			return nil, saml.BadSignature("signed_element_mismatch")
		}
		return verified, nil
	}
	return nil, saml.BadSignature(what + "_signature_invalid")
}

// validate runs goxmldsig with a store holding the one certificate c, so
// that it can neither pick another nor fall back to a certificate the
// document carries. A panic in the library (CVE-2020-7711 class) is a
// failed verification.
func validate(el *etree.Element, c *x509.Certificate, now time.Time) (verified *etree.Element) {
	defer func() {
		if recover() != nil {
			verified = nil
		}
	}()
	ctx := &dsig.ValidationContext{
		CertificateStore: &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{c}},
		IdAttribute:      dsig.DefaultIdAttr,
		Clock:            dsig.NewFakeClockAt(now),
	}
	v, err := ctx.Validate(el)
	if err != nil {
		return nil
	}
	return v
}

// detach copies el with every namespace declaration in scope at its place
// in the document, so that exclusive canonicalization of the copy sees the
// prefixes its ancestors declared (the digest an IdP computed in place).
func detach(el *etree.Element) *etree.Element {
	c := el.Copy()
	declared := map[string]bool{}
	isDecl := func(a etree.Attr) (string, bool) {
		switch {
		case a.Space == "xmlns":
			return a.Key, true
		case a.Space == "" && a.Key == "xmlns":
			return "", true
		}
		return "", false
	}
	for _, a := range c.Attr {
		if p, ok := isDecl(a); ok {
			declared[p] = true
		}
	}
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if prefix, ok := isDecl(a); ok && !declared[prefix] {
				declared[prefix] = true
				c.CreateAttr(a.FullKey(), a.Value)
			}
		}
	}
	return c
}
