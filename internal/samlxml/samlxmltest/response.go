package samlxmltest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/beevik/etree"
)

// Sign says which elements of a Response carry a signature.
type Sign int

// Signing modes. The zero value signs the assertion only, the default of
// AD FS, Okta and Entra ID.
const (
	SignAssertion Sign = iota
	SignResponse
	SignBoth
	SignNone
)

// Canonicalization methods a Response can be signed with; only the
// default is what keyless accepts (security.md SAML-06).
const (
	C14NExclusive             = "exc"
	C14NExclusiveWithComments = "exc-with-comments"
	C14N11                    = "c14n11"
	C14N10                    = "c14n10"
)

// Signature methods (RFC 6931). The digest uses the same hash.
const (
	RSASHA1     = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	RSASHA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	RSASHA512   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	ECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
)

// AWS attribute names (IAM User Guide,
// id_roles_providers_create_saml_assertions).
const (
	AttrRole            = "https://aws.amazon.com/SAML/Attributes/Role"
	AttrRoleSessionName = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
	AttrSessionDuration = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
	// NameFormatURI is the usual NameFormat of AWS's attributes.
	NameFormatURI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
)

// Attribute is one Attribute of the AttributeStatement.
type Attribute struct {
	Name       string
	NameFormat string
	Values     []string
}

// Response describes a SAML Response to sign. Zero fields take the
// defaults Complete documents; Now is required.
type Response struct {
	// Now is the IdP's clock; every default time derives from it.
	Now time.Time
	// Shape is the IdP's writing style; zero means DefaultShape().
	Shape Shape

	ResponseID  string // default random "_" + 32 hex digits
	AssertionID string // idem
	// Issuer is the Assertion's and the Response's Issuer; default the
	// IdP's entity ID.
	Issuer string
	// ResponseIssuer overrides the Response's Issuer.
	ResponseIssuer string
	// OmitResponseIssuer leaves the Response without an Issuer.
	OmitResponseIssuer bool
	// Destination is the Response's; default DefaultRecipient.
	Destination  string
	InResponseTo string

	NameID       string // default "alice@example.com"
	NameIDFormat string // default Shape.NameIDFormat
	// ConfirmationMethod defaults to bearer.
	ConfirmationMethod string
	// Recipient is the SubjectConfirmationData's; default Destination.
	Recipient string
	// Audiences form one AudienceRestriction; default [DefaultAudience].
	Audiences []string

	// Times; zero means: IssueInstant = Now, NotBefore = Now-5m,
	// NotOnOrAfter and ConfirmationNotOnOrAfter = Now+5m,
	// SessionNotOnOrAfter = Now+1h.
	IssueInstant             time.Time
	NotBefore                time.Time
	NotOnOrAfter             time.Time
	ConfirmationNotOnOrAfter time.Time
	SessionNotOnOrAfter      time.Time

	// Attributes of the AttributeStatement; nil means DefaultAttributes(),
	// an empty non-nil slice means no AttributeStatement.
	Attributes []Attribute

	Sign Sign
	// SignatureMethod defaults to RSASHA256 (ECDSASHA256 for an ECDSA
	// IdP); the digest uses the same hash.
	SignatureMethod string
	// Canonicalization defaults to C14NExclusive.
	Canonicalization string
	// OmitKeyInfo leaves the certificate out of the signatures.
	OmitKeyInfo bool
}

// DefaultAttributes are what an IdP sends AWS: a Role pair for role
// saml-admin and provider corp-idp of account 123456789012, and a
// RoleSessionName.
func DefaultAttributes() []Attribute {
	return []Attribute{
		{Name: AttrRole, NameFormat: NameFormatURI, Values: []string{
			"arn:aws:iam::123456789012:role/saml-admin,arn:aws:iam::123456789012:saml-provider/corp-idp",
		}},
		{Name: AttrRoleSessionName, NameFormat: NameFormatURI, Values: []string{"alice@example.com"}},
	}
}

// Complete returns r with every default filled in, so that a test knows
// the IDs and times of what Sign will write. Sign calls it too.
func (p *IdP) Complete(r Response) Response {
	if r.Now.IsZero() {
		panic("samlxmltest: Response.Now is required")
	}
	if r.Shape.Name == "" {
		r.Shape = DefaultShape()
	}
	if r.ResponseID == "" {
		r.ResponseID = newID()
	}
	if r.AssertionID == "" {
		r.AssertionID = newID()
	}
	if r.Issuer == "" {
		r.Issuer = p.EntityID
	}
	if r.ResponseIssuer == "" {
		r.ResponseIssuer = r.Issuer
	}
	if r.Destination == "" {
		r.Destination = DefaultRecipient
	}
	if r.NameID == "" {
		r.NameID = "alice@example.com"
	}
	if r.NameIDFormat == "" {
		r.NameIDFormat = r.Shape.NameIDFormat
	}
	if r.ConfirmationMethod == "" {
		r.ConfirmationMethod = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	}
	if r.Recipient == "" {
		r.Recipient = r.Destination
	}
	if r.Audiences == nil {
		r.Audiences = []string{DefaultAudience}
	}
	if r.IssueInstant.IsZero() {
		r.IssueInstant = r.Now
	}
	if r.NotBefore.IsZero() {
		r.NotBefore = r.Now.Add(-5 * time.Minute)
	}
	if r.NotOnOrAfter.IsZero() {
		r.NotOnOrAfter = r.Now.Add(5 * time.Minute)
	}
	if r.ConfirmationNotOnOrAfter.IsZero() {
		r.ConfirmationNotOnOrAfter = r.Now.Add(5 * time.Minute)
	}
	if r.SessionNotOnOrAfter.IsZero() {
		r.SessionNotOnOrAfter = r.Now.Add(time.Hour)
	}
	if r.Attributes == nil {
		r.Attributes = DefaultAttributes()
	}
	if r.SignatureMethod == "" {
		r.SignatureMethod = RSASHA256
		if _, ok := p.key.(*ecdsa.PrivateKey); ok {
			r.SignatureMethod = ECDSASHA256
		}
	}
	if r.Canonicalization == "" {
		r.Canonicalization = C14NExclusive
	}
	return r
}

func newID() string {
	var b [16]byte
	_, err := rand.Read(b[:])
	must(err)
	return "_" + hex.EncodeToString(b[:])
}

// Sign writes the Response r describes and signs it as r.Sign says: the
// Assertion first, then the Response around it, each Signature placed
// right after its parent's Issuer (SAML core 5.4.1 and the schema order).
func (p *IdP) Sign(r Response) []byte {
	r = p.Complete(r)
	doc, resp, assertion := build(r)
	if r.Sign == SignAssertion || r.Sign == SignBoth {
		p.signEnveloped(assertion, r)
	}
	if r.Sign == SignResponse || r.Sign == SignBoth {
		p.signEnveloped(resp, r)
	}
	out, err := doc.WriteToBytes()
	must(err)
	return out
}

// SignDocument signs a Response document that a test wrote or changed
// (for instance Sign with SignNone, then Mutate), as r's Sign,
// SignatureMethod, Canonicalization, OmitKeyInfo and Shape say; r's other
// fields are ignored. Content the kit cannot describe (child elements in
// a NameID, unknown conditions) can be signed this way.
func (p *IdP) SignDocument(xml []byte, r Response) []byte {
	r = p.Complete(r)
	doc := etree.NewDocument()
	must(doc.ReadFromBytes(xml))
	resp := doc.Root()
	if r.Sign == SignAssertion || r.Sign == SignBoth {
		for _, c := range resp.ChildElements() {
			if c.Tag == "Assertion" {
				p.signEnveloped(c, r)
			}
		}
	}
	if r.Sign == SignResponse || r.Sign == SignBoth {
		p.signEnveloped(resp, r)
	}
	out, err := doc.WriteToBytes()
	must(err)
	return out
}

// build writes the unsigned document.
func build(r Response) (*etree.Document, *etree.Element, *etree.Element) {
	s := r.Shape
	ts := func(t time.Time) string { return t.UTC().Format(s.TimeLayout) }
	const (
		nsP = "urn:oasis:names:tc:SAML:2.0:protocol"
		nsA = "urn:oasis:names:tc:SAML:2.0:assertion"
	)
	pq := func(local string) string { return s.ProtocolPrefix + ":" + local }
	aq := func(local string) string {
		if s.AssertionPrefix == "" {
			return local
		}
		return s.AssertionPrefix + ":" + local
	}
	// declareA declares the assertion namespace on el unless the Response
	// already did.
	declareA := func(el *etree.Element) {
		switch {
		case s.AssertionPrefix == "":
			el.CreateAttr("xmlns", nsA)
		case !s.AssertionNSOnResponse:
			el.CreateAttr("xmlns:"+s.AssertionPrefix, nsA)
		}
	}

	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	resp := doc.CreateElement(pq("Response"))
	resp.CreateAttr("xmlns:"+s.ProtocolPrefix, nsP)
	if s.AssertionNSOnResponse && s.AssertionPrefix != "" {
		resp.CreateAttr("xmlns:"+s.AssertionPrefix, nsA)
	}
	resp.CreateAttr("ID", r.ResponseID)
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", ts(r.IssueInstant))
	resp.CreateAttr("Destination", r.Destination)
	if r.InResponseTo != "" {
		resp.CreateAttr("InResponseTo", r.InResponseTo)
	}
	if s.Consent != "" {
		resp.CreateAttr("Consent", s.Consent)
	}
	if !r.OmitResponseIssuer {
		iss := resp.CreateElement(aq("Issuer"))
		declareA(iss)
		if s.IssuerFormat {
			iss.CreateAttr("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:entity")
		}
		iss.SetText(r.ResponseIssuer)
	}
	st := resp.CreateElement(pq("Status"))
	st.CreateElement(pq("StatusCode")).CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")

	a := resp.CreateElement(aq("Assertion"))
	declareA(a)
	a.CreateAttr("ID", r.AssertionID)
	a.CreateAttr("IssueInstant", ts(r.IssueInstant))
	a.CreateAttr("Version", "2.0")
	iss := a.CreateElement(aq("Issuer"))
	if s.IssuerFormat {
		iss.CreateAttr("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:entity")
	}
	iss.SetText(r.Issuer)

	subj := a.CreateElement(aq("Subject"))
	nid := subj.CreateElement(aq("NameID"))
	if r.NameIDFormat != "" {
		nid.CreateAttr("Format", r.NameIDFormat)
	}
	nid.SetText(r.NameID)
	sc := subj.CreateElement(aq("SubjectConfirmation"))
	sc.CreateAttr("Method", r.ConfirmationMethod)
	scd := sc.CreateElement(aq("SubjectConfirmationData"))
	if r.InResponseTo != "" {
		scd.CreateAttr("InResponseTo", r.InResponseTo)
	}
	scd.CreateAttr("NotOnOrAfter", ts(r.ConfirmationNotOnOrAfter))
	scd.CreateAttr("Recipient", r.Recipient)

	cond := a.CreateElement(aq("Conditions"))
	cond.CreateAttr("NotBefore", ts(r.NotBefore))
	cond.CreateAttr("NotOnOrAfter", ts(r.NotOnOrAfter))
	if len(r.Audiences) > 0 {
		ar := cond.CreateElement(aq("AudienceRestriction"))
		for _, au := range r.Audiences {
			ar.CreateElement(aq("Audience")).SetText(au)
		}
	}

	authn := func() {
		as := a.CreateElement(aq("AuthnStatement"))
		as.CreateAttr("AuthnInstant", ts(r.IssueInstant))
		as.CreateAttr("SessionIndex", "_session"+r.AssertionID)
		as.CreateAttr("SessionNotOnOrAfter", ts(r.SessionNotOnOrAfter))
		ac := as.CreateElement(aq("AuthnContext"))
		ac.CreateElement(aq("AuthnContextClassRef")).SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
	}
	attributes := func() {
		if len(r.Attributes) > 0 {
			stmt := a.CreateElement(aq("AttributeStatement"))
			for _, at := range r.Attributes {
				el := stmt.CreateElement(aq("Attribute"))
				el.CreateAttr("Name", at.Name)
				if at.NameFormat != "" {
					el.CreateAttr("NameFormat", at.NameFormat)
				}
				for _, v := range at.Values {
					ve := el.CreateElement(aq("AttributeValue"))
					if s.TypedValues {
						ve.CreateAttr("xmlns:xs", "http://www.w3.org/2001/XMLSchema")
						ve.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
						ve.CreateAttr("xsi:type", "xs:string")
					}
					ve.SetText(v)
				}
			}
		}
	}
	if s.AttributesFirst {
		attributes()
		authn()
	} else {
		authn()
		attributes()
	}
	return doc, resp, a
}
