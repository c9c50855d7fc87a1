package saml

import (
	"crypto/sha1" // #nosec: NameQualifier is defined with SHA-1; it is an identifier, not a signature.
	"encoding/base64"
	"strings"
)

// Attributes AWS reads (IAM User Guide,
// id_roles_providers_create_saml_assertions). Names are case-sensitive.
const (
	AttrRole              = "https://aws.amazon.com/SAML/Attributes/Role"
	AttrRoleSessionName   = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
	AttrSessionDuration   = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
	AttrSourceIdentity    = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
	AttrPrincipalTag      = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:"
	AttrTransitiveTagKeys = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys"
)

const nameIDFormatPrefix = "urn:oasis:names:tc:SAML:2.0:nameid-format:"

// UnspecifiedFormat is a NameID's format when it names none (SAML core
// 8.3.1).
const UnspecifiedFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"

// SubjectType is the answer's SubjectType and saml:sub_type: the NameID
// format without the SAML 2.0 prefix (persistent, transient), or the full
// format URI for any other (STS API reference, AssumeRoleWithSAML).
func SubjectType(format string) string {
	if format == "" {
		format = UnspecifiedFormat
	}
	return strings.TrimPrefix(format, nameIDFormatPrefix)
}

// NameQualifier is BASE64(SHA1(issuer + account + "/" + provider name)),
// the answer's NameQualifier and saml:namequalifier (IAM User Guide,
// id_roles_providers_saml, "Uniquely identifying users").
func NameQualifier(issuer, account, providerName string) string {
	sum := sha1.Sum([]byte(issuer + account + "/" + providerName))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// RolePair is one value of the Role attribute: a role and the SAML
// provider that may assume it.
type RolePair struct{ Role, Provider string }

// RolePairs reads the Role attribute. Each value is "role-arn,provider-arn"
// in either order, as IdPs send both; values that are not such a pair are
// skipped.
func RolePairs(values []string) []RolePair {
	var out []RolePair
	for _, v := range values {
		first, second, ok := strings.Cut(v, ",")
		if !ok || strings.Contains(second, ",") {
			continue
		}
		first, second = strings.TrimSpace(first), strings.TrimSpace(second)
		switch {
		case strings.Contains(first, ":role/") && strings.Contains(second, ":saml-provider/"):
			out = append(out, RolePair{Role: first, Provider: second})
		case strings.Contains(second, ":role/") && strings.Contains(first, ":saml-provider/"):
			out = append(out, RolePair{Role: second, Provider: first})
		}
	}
	return out
}
