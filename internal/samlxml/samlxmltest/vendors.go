package samlxmltest

import "time"

// Example Responses as three IdPs send them to AWS, with their claim
// names (IAM User Guide, id_roles_providers_create_saml_assertions; the
// vendors' AWS integration guides). Each still needs an IdP to Sign it;
// the Issuer is the IdP's entity ID.

// OktaResponse is Okta's AWS Account Federation app: typed values, a Role,
// RoleSessionName and SessionDuration. Okta signs the assertion, and the
// Response too when so configured (set Sign to SignBoth).
func OktaResponse(now time.Time) Response {
	return Response{
		Now:    now,
		Shape:  OktaShape(),
		NameID: "alice@example.com",
		Attributes: []Attribute{
			{Name: AttrRole, NameFormat: NameFormatURI, Values: []string{
				"arn:aws:iam::123456789012:saml-provider/corp-idp,arn:aws:iam::123456789012:role/saml-admin",
			}},
			{Name: AttrRoleSessionName, NameFormat: NameFormatURI, Values: []string{"alice@example.com"}},
			{Name: AttrSessionDuration, NameFormat: NameFormatURI, Values: []string{"3600"}},
		},
	}
}

// ADFSResponse is AD FS with the relying party trust for AWS: a
// persistent NameID, RoleSessionName from the UPN, Role from group
// membership, and the WS-Federation claim URIs AD FS adds.
func ADFSResponse(now time.Time) Response {
	return Response{
		Now:    now,
		Shape:  ADFSShape(),
		NameID: `CORP\alice`,
		Attributes: []Attribute{
			{Name: AttrRoleSessionName, Values: []string{"alice@corp.example.com"}},
			{Name: AttrRole, Values: []string{
				"arn:aws:iam::123456789012:role/saml-admin,arn:aws:iam::123456789012:saml-provider/corp-idp",
				"arn:aws:iam::123456789012:role/saml-readonly,arn:aws:iam::123456789012:saml-provider/corp-idp",
			}},
			{Name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", Values: []string{"alice@corp.example.com"}},
			{Name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", Values: []string{`CORP\alice`}},
			{Name: "http://schemas.xmlsoap.org/claims/Group", Values: []string{"Domain Users", "AWS-123456789012-saml-admin"}},
		},
	}
}

// EntraResponse is Microsoft Entra ID's AWS Single-Account Access app: an
// emailAddress NameID and the identity/claims URIs Entra sends besides
// AWS's attributes.
func EntraResponse(now time.Time) Response {
	return Response{
		Now:    now,
		Shape:  EntraShape(),
		NameID: "alice@contoso.example",
		Attributes: []Attribute{
			{Name: "http://schemas.microsoft.com/identity/claims/tenantid", Values: []string{"72f988bf-86f1-41af-91ab-2d7cd011db47"}},
			{Name: "http://schemas.microsoft.com/identity/claims/objectidentifier", Values: []string{"0c6e5b1a-4b1e-4a4e-9d6e-2f1f0b2c3d4e"}},
			{Name: "http://schemas.microsoft.com/identity/claims/displayname", Values: []string{"Alice Example"}},
			{Name: "http://schemas.microsoft.com/identity/claims/identityprovider", Values: []string{"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"}},
			{Name: "http://schemas.microsoft.com/claims/authnmethodsreferences", Values: []string{"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"}},
			{Name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", Values: []string{"alice@contoso.example"}},
			{Name: AttrRole, Values: []string{
				"arn:aws:iam::123456789012:role/saml-admin,arn:aws:iam::123456789012:saml-provider/corp-idp",
			}},
			{Name: AttrRoleSessionName, Values: []string{"alice@contoso.example"}},
			{Name: AttrSessionDuration, Values: []string{"900"}},
		},
	}
}
