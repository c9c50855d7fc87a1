package samlxml

import (
	"strings"

	"github.com/beevik/etree"
)

// parseTree builds the etree of bytes that prescan accepted. etree keeps
// the raw prefixes and resolves them through the element's ancestors, the
// same rules prescan enforced.
func parseTree(b []byte, l limits) (*etree.Element, string) {
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{
		MaxDepth: l.maxDepth + 1,
		// prescan refused duplicates; keep every attribute so that nothing
		// is silently dropped if that ever changes.
		PreserveDuplicateAttrs: true,
	}
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, "xml_malformed"
	}
	root := doc.Root()
	if root == nil {
		return nil, "xml_malformed"
	}
	return root, ""
}

// is reports whether el is the element {ns}local.
func is(el *etree.Element, ns, local string) bool {
	return el != nil && el.Tag == local && el.NamespaceURI() == ns
}

// attr returns the value of the unqualified attribute key (SAML's
// attributes are all unqualified, SAML core 1.3).
func attr(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// children returns el's child elements in the namespace ns called local.
func children(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// walk calls fn for el and every descendant element, in document order.
// Depth is bounded by prescan, so recursion is bounded too.
func walk(el *etree.Element, fn func(*etree.Element) string) string {
	if r := fn(el); r != "" {
		return r
	}
	for _, c := range el.ChildElements() {
		if r := walk(c, fn); r != "" {
			return r
		}
	}
	return ""
}

// textOnly returns the full character content of an element that may hold
// only character data (security.md V-30: never the first text node only),
// or false if it has a child element, comment or processing instruction.
func textOnly(el *etree.Element) (string, bool) {
	var b strings.Builder
	for _, t := range el.Child {
		cd, ok := t.(*etree.CharData)
		if !ok {
			return "", false
		}
		b.WriteString(cd.Data)
	}
	return b.String(), true
}

// trimXMLSpace trims the XML whitespace characters (XML 1.0 2.3, S).
func trimXMLSpace(s string) string { return strings.Trim(s, " \t\r\n") }
