package samlxmltest

import (
	"crypto"
	"crypto/rand"
	_ "crypto/sha1" // rsa-sha1 signatures for the SAML-07 tests
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/base64"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

func canonicalizer(method, prefixes string) dsig.Canonicalizer {
	switch method {
	case C14NExclusiveWithComments:
		return dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList(prefixes)
	case C14N11:
		return dsig.MakeC14N11Canonicalizer()
	case C14N10:
		return dsig.MakeC14N10RecCanonicalizer()
	}
	return dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixes)
}

// signEnveloped signs el (in place in its document) with goxmldsig's
// SigningContext and puts the Signature right after el's Issuer. The
// element is signed as a copy carrying every namespace declaration in
// scope, which is what exclusive canonicalization sees in place.
func (p *IdP) signEnveloped(el *etree.Element, r Response) {
	ctx, err := dsig.NewSigningContext(p.key, [][]byte{p.cert.Raw})
	must(err)
	ctx.Prefix = r.Shape.SignaturePrefix
	ctx.Canonicalizer = canonicalizer(r.Canonicalization, r.Shape.InclusivePrefixes)
	must(ctx.SetSignatureMethod(r.SignatureMethod))

	nsctx, err := etreeutils.NSBuildParentContext(el)
	must(err)
	detached, err := etreeutils.NSDetatch(nsctx, el)
	must(err)
	sig, err := ctx.ConstructSignature(detached, true)
	must(err)
	if r.OmitKeyInfo {
		for _, c := range sig.ChildElements() {
			if c.Tag == "KeyInfo" {
				sig.RemoveChild(c)
			}
		}
	}

	at := 0
	for i, t := range el.Child {
		if c, ok := t.(*etree.Element); ok && c.Tag == "Issuer" {
			at = i + 1
			break
		}
	}
	el.InsertChildAt(at, sig)

	if r.Shape.InclusivePrefixes != "" && r.Canonicalization == C14NExclusive {
		// goxmldsig digests with the PrefixList but does not write it;
		// record it on the exc-c14n Transform and sign SignedInfo again.
		for _, t := range findAll(sig, "Transform") {
			if t.SelectAttrValue("Algorithm", "") == "http://www.w3.org/2001/10/xml-exc-c14n#" {
				inc := t.CreateElement("ec:InclusiveNamespaces")
				inc.CreateAttr("xmlns:ec", "http://www.w3.org/2001/10/xml-exc-c14n#")
				inc.CreateAttr("PrefixList", r.Shape.InclusivePrefixes)
			}
		}
		p.Resign(sig)
	}
}

// Resign recomputes sig's SignatureValue over its SignedInfo as it stands
// now, with the IdP's key and the hash its SignatureMethod names. sig must
// be in its document. Tests alter a SignedInfo (a second Reference, other
// transforms, another URI) and Resign it, so that what is refused is the
// alteration and not a broken signature.
func (p *IdP) Resign(sig *etree.Element) {
	var signedInfo, value *etree.Element
	for _, c := range sig.ChildElements() {
		switch c.Tag {
		case "SignedInfo":
			signedInfo = c
		case "SignatureValue":
			value = c
		}
	}
	if signedInfo == nil || value == nil {
		panic("samlxmltest: Resign: no SignedInfo or SignatureValue")
	}
	// What a verifier canonicalizes: SignedInfo with the declarations in
	// scope at its place, exclusive c14n without a PrefixList (XML-DSig
	// 4.4.3; Exclusive XML Canonicalization 1.0).
	nsctx, err := etreeutils.NSBuildParentContext(signedInfo)
	must(err)
	detached, err := etreeutils.NSDetatch(nsctx, signedInfo)
	must(err)
	canonical, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(detached)
	must(err)

	hash := crypto.SHA256
	for _, c := range signedInfo.ChildElements() {
		if c.Tag == "SignatureMethod" {
			switch c.SelectAttrValue("Algorithm", "") {
			case RSASHA1:
				hash = crypto.SHA1
			case RSASHA512:
				hash = crypto.SHA512
			case "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384":
				hash = crypto.SHA384
			case "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512":
				hash = crypto.SHA512
			}
		}
	}
	h := hash.New()
	h.Write(canonical)
	raw, err := p.key.Sign(rand.Reader, h.Sum(nil), hash)
	must(err)
	value.SetText(base64.StdEncoding.EncodeToString(raw))
}

// findAll returns el and its descendants whose local name is local, in
// document order.
func findAll(el *etree.Element, local string) []*etree.Element {
	var out []*etree.Element
	if el.Tag == local {
		out = append(out, el)
	}
	for _, c := range el.ChildElements() {
		out = append(out, findAll(c, local)...)
	}
	return out
}
