package samlxml

import (
	"time"

	"github.com/beevik/etree"

	"github.com/keyless-dev/keyless/internal/saml"
)

// parseTime reads an xs:dateTime (SAML core 1.3.3) with an explicit zone,
// Z or an offset, and optional fractional seconds.
func parseTime(el *etree.Element, key string) (time.Time, string) {
	s, ok := attr(el, key)
	if !ok {
		return time.Time{}, ""
	}
	if len(s) > 64 {
		return time.Time{}, "time_invalid"
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, "time_invalid"
	}
	return t.UTC(), ""
}

// readIssuer reads an Issuer (SAML core 2.2.5): character data only,
// trimmed, non-empty, of the entity format if it names one.
func readIssuer(el *etree.Element) (string, string) {
	text, ok := textOnly(el)
	if !ok {
		return "", "issuer_not_text"
	}
	if f, ok := attr(el, "Format"); ok && f != formatEntity {
		return "", "issuer_format"
	}
	v := trimXMLSpace(text)
	if v == "" {
		return "", "issuer_missing"
	}
	return v, ""
}

// responseFields are the verified Response's own fields (SAML core 3.2.2).
type responseFields struct {
	destination, issuer string
}

// readResponse reads Destination and Issuer from a verified Response and
// checks its IssueInstant and Version.
func readResponse(r *etree.Element) (responseFields, string) {
	var out responseFields
	if v, _ := attr(r, "Version"); v != samlVersion {
		return out, "version_unsupported"
	}
	if _, reason := parseTime(r, "IssueInstant"); reason != "" {
		return out, reason
	}
	out.destination, _ = attr(r, "Destination")
	switch iss := children(r, nsAssertion, "Issuer"); len(iss) {
	case 0:
	case 1:
		v, reason := readIssuer(iss[0])
		if reason != "" {
			return out, reason
		}
		out.issuer = v
	default:
		return out, "issuer_count"
	}
	return out, ""
}

// readAssertion reads a verified Assertion (SAML core 2.3.3) into the
// domain type. Identity-bearing elements must hold character data only
// (security.md V-30).
func readAssertion(a *etree.Element) (*saml.Assertion, string) {
	out := &saml.Assertion{}
	if v, _ := attr(a, "Version"); v != samlVersion {
		return nil, "version_unsupported"
	}
	out.ID, _ = attr(a, "ID")
	var reason string
	if out.IssueInstant, reason = parseTime(a, "IssueInstant"); reason != "" {
		return nil, reason
	}
	issuers := children(a, nsAssertion, "Issuer")
	if len(issuers) != 1 {
		return nil, "issuer_count"
	}
	if out.Issuer, reason = readIssuer(issuers[0]); reason != "" {
		return nil, reason
	}

	switch subjects := children(a, nsAssertion, "Subject"); len(subjects) {
	case 0:
	case 1:
		if reason = readSubject(subjects[0], out); reason != "" {
			return nil, reason
		}
	default:
		return nil, "subject_count"
	}
	switch conds := children(a, nsAssertion, "Conditions"); len(conds) {
	case 0:
	case 1:
		if reason = readConditions(conds[0], out); reason != "" {
			return nil, reason
		}
	default:
		return nil, "conditions_count"
	}
	authn := children(a, nsAssertion, "AuthnStatement")
	out.AuthnStatements = len(authn)
	for _, st := range authn {
		// SAML core 2.7.2: SessionNotOnOrAfter bounds the session; with
		// several statements the earliest does.
		end, reason := parseTime(st, "SessionNotOnOrAfter")
		if reason != "" {
			return nil, reason
		}
		if !end.IsZero() && (out.SessionNotOnOrAfter.IsZero() || end.Before(out.SessionNotOnOrAfter)) {
			out.SessionNotOnOrAfter = end
		}
	}
	for _, st := range children(a, nsAssertion, "AttributeStatement") {
		if reason = readAttributes(st, out); reason != "" {
			return nil, reason
		}
	}
	return out, ""
}

// readSubject reads NameID (SAML core 2.2.3, 2.4.1) and the subject
// confirmations (2.4.1.1, 2.4.1.2). BaseID is not understood; EncryptedID
// was refused with the document.
func readSubject(s *etree.Element, out *saml.Assertion) string {
	var names []*etree.Element
	for _, c := range s.ChildElements() {
		switch {
		case is(c, nsAssertion, "NameID"):
			names = append(names, c)
		case is(c, nsAssertion, "BaseID"):
			return "subject_identifier_unsupported"
		case is(c, nsAssertion, "SubjectConfirmation"):
			conf, reason := readConfirmation(c)
			if reason != "" {
				return reason
			}
			out.Confirmations = append(out.Confirmations, conf)
		default:
			return "subject_child_unexpected"
		}
	}
	switch len(names) {
	case 0:
		return "name_id_missing"
	case 1:
	default:
		return "name_id_count"
	}
	text, ok := textOnly(names[0])
	if !ok {
		return "name_id_not_text"
	}
	out.Subject = trimXMLSpace(text)
	out.SubjectFormat, _ = attr(names[0], "Format")
	return ""
}

func readConfirmation(c *etree.Element) (saml.Confirmation, string) {
	var conf saml.Confirmation
	conf.Method, _ = attr(c, "Method")
	data := children(c, nsAssertion, "SubjectConfirmationData")
	switch len(data) {
	case 0:
		return conf, ""
	case 1:
	default:
		return conf, "subject_confirmation_data_count"
	}
	d := data[0]
	conf.HasData = true
	conf.Recipient, _ = attr(d, "Recipient")
	conf.InResponseTo, _ = attr(d, "InResponseTo")
	var reason string
	if conf.NotBefore, reason = parseTime(d, "NotBefore"); reason != "" {
		return conf, reason
	}
	if conf.NotOnOrAfter, reason = parseTime(d, "NotOnOrAfter"); reason != "" {
		return conf, reason
	}
	return conf, ""
}

// readConditions reads the validity window and the audience restrictions
// (SAML core 2.5.1). A condition that is not understood makes the
// assertion invalid rather than ignored (2.5.1.1: Indeterminate).
func readConditions(c *etree.Element, out *saml.Assertion) string {
	var reason string
	if out.NotBefore, reason = parseTime(c, "NotBefore"); reason != "" {
		return reason
	}
	if out.NotOnOrAfter, reason = parseTime(c, "NotOnOrAfter"); reason != "" {
		return reason
	}
	audiences := 0
	for _, k := range c.ChildElements() {
		switch {
		case is(k, nsAssertion, "AudienceRestriction"):
			var list []string
			for _, au := range k.ChildElements() {
				if !is(au, nsAssertion, "Audience") {
					return "condition_unsupported"
				}
				text, ok := textOnly(au)
				if !ok {
					return "audience_not_text"
				}
				audiences++
				if audiences > maxAudiences {
					return "too_many_audiences"
				}
				list = append(list, trimXMLSpace(text))
			}
			if len(list) == 0 {
				return "audience_restriction_empty"
			}
			out.AudienceRestrictions = append(out.AudienceRestrictions, list)
		case is(k, nsAssertion, "OneTimeUse"):
			if out.OneTimeUse {
				return "condition_unsupported" // at most one, 2.5.1.5
			}
			out.OneTimeUse = true
		case is(k, nsAssertion, "ProxyRestriction"):
			// Limits re-issuing assertions (2.5.1.6); keyless never does.
		default:
			return "condition_unsupported"
		}
	}
	return ""
}

// readAttributes reads an AttributeStatement (SAML core 2.7.3): each
// Attribute's Name, NameFormat and the full text of each AttributeValue;
// an xsi:nil value is the empty string (2.7.3.1.1).
func readAttributes(st *etree.Element, out *saml.Assertion) string {
	for _, at := range st.ChildElements() {
		if !is(at, nsAssertion, "Attribute") {
			return "attribute_statement_child_unexpected"
		}
		if len(out.Attributes) >= maxAttributes {
			return "too_many_attributes"
		}
		name, _ := attr(at, "Name")
		if name == "" {
			return "attribute_name_missing"
		}
		a := saml.Attribute{Name: name}
		a.NameFormat, _ = attr(at, "NameFormat")
		for _, v := range at.ChildElements() {
			if !is(v, nsAssertion, "AttributeValue") {
				return "attribute_child_unexpected"
			}
			if len(a.Values) >= maxValuesPerAttribute {
				return "too_many_attribute_values"
			}
			text, ok := textOnly(v)
			if !ok {
				return "attribute_value_not_text"
			}
			if isNil(v) && text != "" {
				return "attribute_value_nil_with_content"
			}
			a.Values = append(a.Values, text)
		}
		out.Attributes = append(out.Attributes, a)
	}
	return ""
}

// isNil reports xsi:nil="true" (XML Schema part 1, 2.6.2).
func isNil(el *etree.Element) bool {
	for i := range el.Attr {
		a := &el.Attr[i]
		if a.Key == "nil" && a.Space != "" && a.NamespaceURI() == nsXSI {
			return a.Value == "true" || a.Value == "1"
		}
	}
	return false
}
