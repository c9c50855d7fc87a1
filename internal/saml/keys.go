package saml

// Key is one condition key for a trust policy and its values.
type Key struct {
	Name   string
	Values []string
}

// attributeKeys maps attribute names to saml: condition keys and whether
// the key is a list (IAM User Guide, reference_policies_iam-condition-keys,
// "Available keys for SAML-based AWS STS federation"): eduPerson and eduOrg
// object identifiers, X.500 ones, and the Active Directory claim URIs AD FS
// sends.
var attributeKeys = map[string]struct {
	key  string
	list bool
}{
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.1":                                        {"saml:edupersonaffiliation", true},
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.2":                                        {"saml:edupersonnickname", true},
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.3":                                        {"saml:edupersonorgdn", false},
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.4":                                        {"saml:edupersonorgunitdn", true},
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.5":                                        {"saml:edupersonprimaryaffiliation", false},
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.6":                                        {"saml:edupersonprincipalname", false},
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.7":                                        {"saml:edupersonentitlement", true},
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.8":                                        {"saml:edupersonprimaryorgunitdn", false},
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.9":                                        {"saml:edupersonscopedaffiliation", true},
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.10":                                       {"saml:edupersontargetedid", true},
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.11":                                       {"saml:edupersonassurance", true},
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.2":                                        {"saml:eduorghomepageuri", true},
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.3":                                        {"saml:eduorgidentityauthnpolicyuri", true},
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.4":                                        {"saml:eduorglegalname", true},
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.5":                                        {"saml:eduorgsuperioruri", true},
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.6":                                        {"saml:eduorgwhitepagesuri", true},
	"urn:oid:2.5.4.3":                                                         {"saml:cn", true},
	"urn:oid:2.5.4.42":                                                        {"saml:givenName", false},
	"urn:oid:2.5.4.4":                                                         {"saml:surname", false},
	"urn:oid:2.5.4.41":                                                        {"saml:name", false},
	"urn:oid:2.5.4.45":                                                        {"saml:x500UniqueIdentifier", false},
	"urn:oid:0.9.2342.19200300.100.1.1":                                       {"saml:uid", false},
	"urn:oid:0.9.2342.19200300.100.1.3":                                       {"saml:mail", false},
	"http://schemas.xmlsoap.org/claims/CommonName":                            {"saml:commonName", false},
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname":         {"saml:givenName", false},
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname":           {"saml:surname", false},
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name":              {"saml:name", false},
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress":      {"saml:mail", false},
	"http://schemas.microsoft.com/ws/2008/06/identity/claims/primarygroupsid": {"saml:primaryGroupSID", false},
}

// ConditionKeys are the saml: keys of a trust policy evaluation (IAM User
// Guide, condition-keys-saml): aud (the Recipient, not the Audience), iss,
// sub, sub_type, namequalifier, doc, and the mapped attributes. Attributes
// that map to one key (an OID and an AD FS claim for mail) give it all
// their values. A single-valued key with several values refuses the
// assertion rather than drop a key a Deny may test (security review,
// 2026-11-22).
func ConditionKeys(a *Assertion, recipient, account, providerName string) ([]Key, error) {
	keys := []Key{
		{"saml:aud", []string{recipient}},
		{"saml:iss", []string{a.Issuer}},
		{"saml:sub", []string{a.Subject}},
		{"saml:sub_type", []string{SubjectType(a.SubjectFormat)}},
		{"saml:namequalifier", []string{NameQualifier(a.Issuer, account, providerName)}},
		{"saml:doc", []string{account + "/" + providerName}},
	}
	at := map[string]int{} // key name -> index in keys
	for _, attr := range a.Attributes {
		m, ok := attributeKeys[attr.Name]
		if !ok {
			continue
		}
		i, seen := at[m.key]
		if !seen {
			i = len(keys)
			at[m.key] = i
			keys = append(keys, Key{Name: m.key})
		}
		keys[i].Values = append(keys[i].Values, attr.Values...)
		if !m.list && len(keys[i].Values) > 1 {
			return nil, Refuse("attribute_key_multivalued")
		}
	}
	return keys, nil
}
