package samlxml

import (
	"strings"

	"github.com/beevik/etree"
)

// shape is a Response that passed the structural rules, with the elements
// the signature checks work on. Nothing is read from it for identity.
type shape struct {
	response, assertion       *etree.Element
	responseSig, assertionSig *etree.Element // nil when unsigned
	responseID, assertionID   string
}

// checkShape applies the rules that leave a signature wrapping attack
// (security.md V-31; SAML-03, SAML-04) nowhere to hide: one Assertion, a
// direct child of the Response; Signatures only directly under the
// Response or the Assertion, in their schema place; unique, unqualified
// IDs; no encrypted elements (SAML-22: not supported, one reason).
func checkShape(root *etree.Element) (*shape, string) {
	// SAML core 3.3.3 (Response), 3.2.2 (StatusResponseType).
	if !is(root, nsProtocol, "Response") {
		return nil, "not_a_response"
	}
	if v, _ := attr(root, "Version"); v != samlVersion {
		return nil, "version_unsupported"
	}

	counts := map[string]int{}
	var assertions, signatures []*etree.Element
	walk(root, func(el *etree.Element) string {
		switch ns := el.NamespaceURI(); {
		case ns == nsAssertion && el.Tag == "Assertion":
			assertions = append(assertions, el)
		case ns == nsDSig && el.Tag == "Signature":
			signatures = append(signatures, el)
		case ns == nsAssertion && (el.Tag == "EncryptedAssertion" || el.Tag == "EncryptedID" || el.Tag == "EncryptedAttribute"):
			counts[el.Tag]++
		}
		return ""
	})
	switch {
	case counts["EncryptedAssertion"] > 0:
		return nil, "encrypted_assertion"
	case counts["EncryptedID"] > 0 || counts["EncryptedAttribute"] > 0:
		return nil, "encrypted_element"
	case len(assertions) != 1:
		return nil, "assertion_count"
	case assertions[0].Parent() != root:
		return nil, "assertion_misplaced"
	}
	s := &shape{response: root, assertion: assertions[0]}
	for _, sig := range signatures {
		switch sig.Parent() {
		case root:
			if s.responseSig != nil {
				return nil, "signature_duplicate"
			}
			s.responseSig = sig
		case s.assertion:
			if s.assertionSig != nil {
				return nil, "signature_duplicate"
			}
			s.assertionSig = sig
		default:
			return nil, "signature_misplaced"
		}
	}

	if r := checkResponseChildren(root); r != "" {
		return nil, r
	}
	if r := checkAssertionChildren(s.assertion); r != "" {
		return nil, r
	}
	if r := checkStatus(root); r != "" {
		return nil, r
	}
	if r := checkIDs(root); r != "" {
		return nil, r
	}
	s.responseID, _ = attr(root, "ID")
	s.assertionID, _ = attr(s.assertion, "ID")
	if s.responseID == "" {
		return nil, "response_id_missing"
	}
	if s.assertionID == "" {
		return nil, "assertion_id_missing"
	}
	return s, ""
}

// slot is one element of a schema sequence: one name, or a choice among
// several (locals separated by "|").
type slot struct {
	ns, locals string
	required   bool
	repeat     bool
}

func (sl slot) matches(el *etree.Element) bool {
	for _, l := range strings.Split(sl.locals, "|") {
		if is(el, sl.ns, l) {
			return true
		}
	}
	return false
}

// checkOrder checks el's child elements against a schema sequence: each
// child must be one of the slots, in order, repeated only where the slot
// allows, and the required slots present.
func checkOrder(el *etree.Element, seq []slot, unexpected, order string) string {
	pos := 0
	seen := make([]int, len(seq))
	for _, c := range el.ChildElements() {
		i := -1
		for j, sl := range seq {
			if sl.matches(c) {
				i = j
				break
			}
		}
		switch {
		case i < 0:
			return unexpected
		case i < pos, seen[i] > 0 && !seq[i].repeat:
			return order
		}
		seen[i]++
		pos = i
	}
	for j, sl := range seq {
		if sl.required && seen[j] == 0 {
			return order
		}
	}
	return ""
}

// checkResponseChildren: Issuer?, Signature?, Extensions?, Status,
// Assertion (SAML core 3.2.2, 3.3.3; XML-DSig placement per 5.4.1).
func checkResponseChildren(r *etree.Element) string {
	return checkOrder(r, []slot{
		{nsAssertion, "Issuer", false, false},
		{nsDSig, "Signature", false, false},
		{nsProtocol, "Extensions", false, false},
		{nsProtocol, "Status", true, false},
		{nsAssertion, "Assertion", true, false},
	}, "response_child_unexpected", "response_child_order")
}

// checkAssertionChildren: Issuer, Signature?, Subject?, Conditions?,
// Advice?, then statements in any order (SAML core 2.3.3; AD FS and Entra
// ID put AttributeStatement first). Statement (the xsi:type extension
// point) and AuthzDecisionStatement are not understood and are refused
// rather than ignored.
func checkAssertionChildren(a *etree.Element) string {
	return checkOrder(a, []slot{
		{nsAssertion, "Issuer", true, false},
		{nsDSig, "Signature", false, false},
		{nsAssertion, "Subject", false, false},
		{nsAssertion, "Conditions", false, false},
		{nsAssertion, "Advice", false, false},
		{nsAssertion, "AuthnStatement|AttributeStatement", false, true},
	}, "assertion_child_unexpected", "assertion_child_order")
}

// checkStatus requires the top-level StatusCode to be Success (SAML core
// 3.2.2.1, 3.2.2.2).
func checkStatus(r *etree.Element) string {
	st := children(r, nsProtocol, "Status")
	if len(st) != 1 {
		return "status_not_success"
	}
	codes := children(st[0], nsProtocol, "StatusCode")
	if len(codes) != 1 {
		return "status_not_success"
	}
	if v, _ := attr(codes[0], "Value"); v != statusSuccess {
		return "status_not_success"
	}
	return ""
}

// checkIDs refuses an ID-like attribute in any namespace (a second
// identity for an element that a signature library might follow) and any
// two elements sharing an ID value (XML-DSig 4.4.3.3; SAML-04).
func checkIDs(root *etree.Element) string {
	seen := map[string]bool{}
	return walk(root, func(el *etree.Element) string {
		for _, a := range el.Attr {
			if a.Key != "ID" && a.Key != "Id" && a.Key != "id" {
				continue
			}
			switch a.Space {
			case "":
			case "xmlns": // declares a prefix called ID, not an attribute
				continue
			default:
				return "id_attribute_namespaced"
			}
			if seen[a.Value] {
				return "duplicate_id"
			}
			seen[a.Value] = true
		}
		return ""
	})
}
