package samlxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// limits bound a document before and while it is tokenized (security.md
// SAML-25).
type limits struct {
	maxDepth, maxTokens, maxAttrs, maxValue int
	// maxElements bounds start tags, and maxPrefixes the namespace
	// prefixes in scope at any element: exclusive c14n copies the
	// in-scope bindings at every element, so their product is the cost
	// of canonicalizing (zero means no limit).
	maxElements, maxPrefixes int
	// allowComments admits comments: metadata is operator-supplied, a
	// Response never carries them (V-30).
	allowComments bool
}

var errCharset = errors.New("samlxml: non-UTF-8 encoding")

// prescan reads b token by token with encoding/xml, before any tree is
// built, and returns the reason for refusing it or "". It enforces what
// XML 1.0 and Namespaces in XML 1.0 require and encoding/xml does not
// check on raw tokens (matching end tags, one root, declared prefixes,
// unique attributes), refuses DTDs and entities (XML 1.0 2.8; SAML-11),
// processing instructions other than the leading XML declaration (XML 1.0
// 2.6, 2.8), encodings other than UTF-8, and comments unless allowed, and
// applies the limits.
func prescan(b []byte, l limits) string {
	// encoding/xml reads a start tag's attributes whole before it returns
	// the token; count them lexically first so that a million attributes
	// are never materialized.
	if !attrsWithin(b, l.maxAttrs) {
		return "xml_too_many_attributes"
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.CharsetReader = func(string, io.Reader) (io.Reader, error) { return nil, errCharset }

	ns := newScopes()
	var stack []xml.Name
	tokens, elements := 0, 0
	rootDone := false
	for {
		offset := d.InputOffset()
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, errCharset) || strings.Contains(err.Error(), errCharset.Error()) {
				return "xml_encoding_unsupported"
			}
			return "xml_malformed"
		}
		tokens++
		if tokens > l.maxTokens {
			return "xml_too_many_tokens"
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if rootDone {
				return "xml_multiple_roots"
			}
			if len(stack) >= l.maxDepth {
				return "xml_too_deep"
			}
			if len(t.Attr) > l.maxAttrs {
				return "xml_too_many_attributes"
			}
			if elements++; l.maxElements > 0 && elements > l.maxElements {
				return "xml_too_many_elements"
			}
			if reason := ns.enter(t, l.maxValue); reason != "" {
				return reason
			}
			if l.maxPrefixes > 0 && len(ns.bound) > l.maxPrefixes {
				return "xml_too_many_namespaces"
			}
			stack = append(stack, t.Name)
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1] != t.Name {
				return "xml_malformed"
			}
			stack = stack[:len(stack)-1]
			ns.leave()
			if len(stack) == 0 {
				rootDone = true
			}
		case xml.CharData:
			if len(t) > l.maxValue {
				return "xml_value_too_large"
			}
			if len(stack) == 0 && !allXMLSpace(t) {
				return "xml_text_outside_root"
			}
		case xml.Comment:
			if !l.allowComments {
				return "xml_comment"
			}
		case xml.ProcInst:
			// XML 1.0 2.8: the declaration, if any, is the very first thing.
			if t.Target != "xml" || offset != 0 || tokens != 1 {
				return "xml_processing_instruction"
			}
		case xml.Directive:
			return "xml_directive"
		default:
			return "xml_malformed"
		}
	}
	if !rootDone {
		return "xml_malformed"
	}
	return ""
}

// attrsWithin reports whether no start tag in b has more than max '='
// outside quoted values. Every attribute needs one (XML 1.0 3.1), so this
// is an upper bound on what encoding/xml would build; markup it does not
// understand is left for the decoder to refuse.
func attrsWithin(b []byte, max int) bool {
	i := 0
	for {
		lt := bytes.IndexByte(b[i:], '<')
		if lt < 0 {
			return true
		}
		i += lt + 1
		rest := b[i:]
		var end []byte
		switch {
		case bytes.HasPrefix(rest, []byte("!--")):
			end = []byte("-->")
		case bytes.HasPrefix(rest, []byte("![CDATA[")):
			end = []byte("]]>")
		case bytes.HasPrefix(rest, []byte("?")):
			end = []byte("?>")
		case bytes.HasPrefix(rest, []byte("!")), bytes.HasPrefix(rest, []byte("/")):
			end = []byte(">")
		}
		if end != nil {
			e := bytes.Index(rest, end)
			if e < 0 {
				return true
			}
			i += e + len(end)
			continue
		}
		// A start tag: count '=' until the '>' that is outside quotes.
		n := 0
		var quote byte
		j := i
	scan:
		for ; j < len(b); j++ {
			c := b[j]
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '=':
				n++
				if n > max {
					return false
				}
			case c == '>':
				break scan
			}
		}
		if j >= len(b) {
			return true
		}
		i = j + 1
	}
}

func allXMLSpace(b []byte) bool {
	for _, c := range b {
		if !isXMLSpace(c) {
			return false
		}
	}
	return true
}

// scopes tracks namespace bindings (Namespaces in XML 1.0, section 6)
// while tokens stream by: prefix to a stack of URIs, and per open element
// the prefixes it bound.
type scopes struct {
	bound map[string][]string
	marks [][]string
}

func newScopes() *scopes {
	return &scopes{bound: map[string][]string{"xml": {nsXML}}}
}

func (s *scopes) lookup(prefix string) (string, bool) {
	uris := s.bound[prefix]
	if len(uris) == 0 {
		return "", false
	}
	return uris[len(uris)-1], true
}

func validNCName(s string) bool { return s != "" && !strings.Contains(s, ":") }

// enter checks one start tag: names, declarations, prefixes bound,
// attributes unique by name and by expanded name, value sizes.
func (s *scopes) enter(t xml.StartElement, maxValue int) string {
	var declared []string
	s.marks = append(s.marks, nil)
	if !validNCName(t.Name.Local) {
		return "xml_name_invalid"
	}
	raw := make(map[xml.Name]bool, len(t.Attr))
	for _, a := range t.Attr {
		if !validNCName(a.Name.Local) {
			return "xml_name_invalid"
		}
		if raw[a.Name] {
			return "xml_duplicate_attribute"
		}
		raw[a.Name] = true
		if len(a.Value) > maxValue {
			return "xml_value_too_large"
		}
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			if a.Value == nsXML || a.Value == nsXMLNS {
				return "xml_namespace_invalid"
			}
			declared = append(declared, "")
			s.bound[""] = append(s.bound[""], a.Value)
		case a.Name.Space == "xmlns":
			switch {
			case a.Name.Local == "xmlns":
				return "xml_namespace_invalid"
			case a.Name.Local == "xml" && a.Value != nsXML:
				return "xml_namespace_invalid"
			case a.Name.Local != "xml" && (a.Value == nsXML || a.Value == nsXMLNS):
				return "xml_namespace_invalid"
			case a.Value == "": // undeclaring a prefix is XML 1.1 only
				return "xml_namespace_invalid"
			}
			declared = append(declared, a.Name.Local)
			s.bound[a.Name.Local] = append(s.bound[a.Name.Local], a.Value)
		}
	}
	s.marks[len(s.marks)-1] = declared

	switch t.Name.Space {
	case "":
	case "xml", "xmlns":
		return "xml_namespace_invalid"
	default:
		if _, ok := s.lookup(t.Name.Space); !ok {
			return "xml_namespace_undeclared"
		}
	}
	expanded := make(map[xml.Name]bool, len(t.Attr))
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		uri := ""
		if a.Name.Space != "" {
			var ok bool
			if uri, ok = s.lookup(a.Name.Space); !ok {
				return "xml_namespace_undeclared"
			}
		}
		k := xml.Name{Space: uri, Local: a.Name.Local}
		if expanded[k] {
			return "xml_duplicate_attribute"
		}
		expanded[k] = true
	}
	return ""
}

func (s *scopes) leave() {
	if len(s.marks) == 0 {
		return
	}
	for _, p := range s.marks[len(s.marks)-1] {
		if s.bound[p] = s.bound[p][:len(s.bound[p])-1]; len(s.bound[p]) == 0 {
			delete(s.bound, p) // out of scope: len(bound) counts prefixes in scope
		}
	}
	s.marks = s.marks[:len(s.marks)-1]
}
