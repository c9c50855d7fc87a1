package credential

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/secret"
)

// Issuer is the action that issued a session; it decides which actions the
// session may call (STS API reference, "Comparing the AWS STS API operations").
type Issuer uint8

// Issuers.
const (
	IssuerGetSessionToken    Issuer = 1
	IssuerAssumeRole         Issuer = 2
	IssuerGetFederationToken Issuer = 3
	IssuerWebIdentity        Issuer = 4 // AssumeRoleWithWebIdentity
	IssuerSAML               Issuer = 5 // AssumeRoleWithSAML
	// IssuerSignIn: a developer sign-in's session of a user (aws login,
	// refreshed through /v1/token), the user's own permissions.
	IssuerSignIn Issuer = 6
)

// RoleSession reports whether sessions of this issuer are role sessions.
func (i Issuer) RoleSession() bool {
	return i == IssuerAssumeRole || i == IssuerWebIdentity || i == IssuerSAML
}

// Federated reports whether sessions of this issuer carry a Federation.
func (i Issuer) Federated() bool { return i == IssuerWebIdentity || i == IssuerSAML }

// Federation is who a web identity session was issued to: the identity
// provider and the claims AWS carries into the session for later requests
// (IAM User Guide, reference_policies_iam-condition-keys, "cross-service"
// web identity keys: amr, aud, sub).
//
// For a SAML session, the keys AWS carries are saml:namequalifier,
// saml:sub and saml:sub_type (IAM User Guide, condition-keys-saml): Subject
// is the NameID, SubjectType and NameQualifier are set, and Audience is the
// Recipient.
type Federation struct {
	Provider string // the OIDC or SAML provider's ARN
	Subject  string
	Audience string
	AMR      []string
	// SubjectType and NameQualifier are set for SAML sessions only.
	SubjectType   string
	NameQualifier string
}

// Session is what a session token carries.
type Session struct {
	AccessKeyID string // not sealed: it is the associated data
	Secret      secret.String
	IssuedAt    time.Time
	Expiration  time.Time
	Issuer      Issuer
	// Principal is whose session it is: the user or root for
	// GetSessionToken and GetFederationToken, the role for AssumeRole.
	Principal iam.Principal
	// Name is the role session name (AssumeRole) or the federated user's
	// name (GetFederationToken).
	Name string
	// MFAAuthenticatedAt is when MFA was verified for this session; zero if
	// it was not (aws:MultiFactorAuthPresent, aws:MultiFactorAuthAge).
	MFAAuthenticatedAt time.Time
	// SourceIdentity is set once and carried through role chaining.
	SourceIdentity string
	// Packed holds the session policies and session tags.
	Packed Packed
	// Federation is set for AssumeRoleWithWebIdentity and
	// AssumeRoleWithSAML sessions only.
	Federation *Federation
}

// MFA reports whether the session was created with MFA.
func (s Session) MFA() bool { return !s.MFAAuthenticatedAt.IsZero() }

// Field tags, in the order they must appear.
const (
	tagSecret        = 1
	tagIssuedAt      = 2
	tagExpiration    = 3
	tagIssuer        = 4
	tagPrincipalType = 5
	tagAccount       = 6
	tagUniqueID      = 7
	tagName          = 8
	tagPath          = 9
	tagMFAAt         = 10
	tagSessionName   = 11 // session name
	tagSource        = 12 // source identity
	tagPacked        = 13
	tagFederation    = 14
)

// secretLen is the raw length of a secret access key: 30 bytes are 40
// base64 characters, the length of an AWS secret.
const secretLen = 30

var errMalformed = errors.New("credential: malformed claims")

// encode writes the claims as tag (uvarint), length (uvarint), value.
func encodeClaims(s Session, rawSecret []byte) []byte {
	b := make([]byte, 0, 160)
	put := func(tag uint64, v []byte) {
		b = binary.AppendUvarint(b, tag)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	num := func(tag uint64, n uint64) { put(tag, binary.AppendUvarint(nil, n)) }
	str := func(tag uint64, v string) {
		if v != "" {
			put(tag, []byte(v))
		}
	}
	put(tagSecret, rawSecret)
	num(tagIssuedAt, uint64(s.IssuedAt.UnixMilli()))
	num(tagExpiration, uint64(s.Expiration.UnixMilli()))
	num(tagIssuer, uint64(s.Issuer))
	num(tagPrincipalType, uint64(s.Principal.Type))
	str(tagAccount, s.Principal.Account)
	str(tagUniqueID, s.Principal.UniqueID)
	str(tagName, s.Principal.Name)
	str(tagPath, s.Principal.Path)
	if s.MFA() {
		num(tagMFAAt, uint64(s.MFAAuthenticatedAt.UnixMilli()))
	}
	str(tagSessionName, s.Name)
	str(tagSource, s.SourceIdentity)
	if !s.Packed.Empty() {
		put(tagPacked, s.Packed.raw)
	}
	if f := s.Federation; f != nil {
		put(tagFederation, encodeFederation(f))
	}
	return b
}

// decodeClaims is the strict inverse of encodeClaims: tags strictly
// ascending, known, each value well-formed; required fields present.
func decodeClaims(b []byte) (Session, []byte, error) {
	var (
		s       Session
		raw     []byte
		last    uint64
		seen    = map[uint64]bool{}
		readNum = func(v []byte) (uint64, bool) {
			n, k := uvarint(v)
			return n, k > 0 && k == len(v)
		}
	)
	for len(b) > 0 {
		tag, k := uvarint(b)
		if k <= 0 || tag <= last {
			return Session{}, nil, errMalformed
		}
		b = b[k:]
		l, k := uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return Session{}, nil, errMalformed
		}
		v := b[k : k+int(l)]
		b = b[k+int(l):]
		last = tag
		seen[tag] = true
		var ok bool
		var n uint64
		switch tag {
		case tagSecret:
			raw, ok = v, len(v) == secretLen
		case tagIssuedAt, tagExpiration, tagMFAAt:
			if n, ok = readNum(v); ok {
				t := time.UnixMilli(int64(n)).UTC()
				switch tag {
				case tagIssuedAt:
					s.IssuedAt = t
				case tagExpiration:
					s.Expiration = t
				default:
					s.MFAAuthenticatedAt = t
				}
			}
		case tagIssuer:
			n, ok = readNum(v)
			s.Issuer = Issuer(n)
			ok = ok && s.Issuer >= IssuerGetSessionToken && s.Issuer <= IssuerSignIn
		case tagPrincipalType:
			n, ok = readNum(v)
			s.Principal.Type = iam.PrincipalType(n)
			ok = ok && (s.Principal.Type == iam.User || s.Principal.Type == iam.Root || s.Principal.Type == iam.Role)
		case tagAccount:
			s.Principal.Account, ok = string(v), true
		case tagUniqueID:
			s.Principal.UniqueID, ok = string(v), true
		case tagName:
			s.Principal.Name, ok = string(v), true
		case tagPath:
			s.Principal.Path, ok = string(v), true
		case tagSessionName:
			s.Name, ok = string(v), true
		case tagSource:
			s.SourceIdentity, ok = string(v), true
		case tagPacked:
			s.Packed, ok = Packed{raw: v}, len(v) > 0
		case tagFederation:
			s.Federation, ok = decodeFederation(v)
		}
		if !ok {
			return Session{}, nil, errMalformed
		}
	}
	for _, required := range []uint64{tagSecret, tagIssuedAt, tagExpiration, tagIssuer, tagPrincipalType, tagAccount, tagUniqueID} {
		if !seen[required] {
			return Session{}, nil, errMalformed
		}
	}
	if !consistent(&s) {
		return Session{}, nil, errMalformed
	}
	return s, raw, nil
}

// consistent checks that the issuer and the principal go together: a role
// session is a role's and named; a federated user is named and belongs to a
// user or root; GetSessionToken sessions carry no name.
func consistent(s *Session) bool {
	if s.Issuer.Federated() != (s.Federation != nil) {
		return false
	}
	if f := s.Federation; f != nil && (s.Issuer == IssuerSAML) != (f.SubjectType != "") {
		return false
	}
	switch s.Issuer {
	case IssuerAssumeRole, IssuerWebIdentity, IssuerSAML:
		return s.Principal.Type == iam.Role && s.Name != ""
	case IssuerGetFederationToken:
		return s.Principal.Type != iam.Role && s.Name != ""
	default:
		return s.Principal.Type != iam.Role && s.Name == "" && s.Packed.Empty() && s.SourceIdentity == ""
	}
}

// uvarint is binary.Uvarint that also refuses overlong encodings, so that
// every value has exactly one encoding.
func uvarint(b []byte) (uint64, int) {
	n, k := binary.Uvarint(b)
	if k > 1 && b[k-1] == 0 {
		return 0, 0
	}
	return n, k
}

// encodeFederation writes provider, subject, audience and the amr values,
// each as a uvarint length and bytes, after a uvarint count of amr values;
// then, for a SAML session only, subject type and name qualifier.
func encodeFederation(f *Federation) []byte {
	var b []byte
	str := func(v string) {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	str(f.Provider)
	str(f.Subject)
	str(f.Audience)
	b = binary.AppendUvarint(b, uint64(len(f.AMR)))
	for _, a := range f.AMR {
		str(a)
	}
	if f.SubjectType != "" {
		str(f.SubjectType)
		str(f.NameQualifier)
	}
	return b
}

// decodeFederation is the strict inverse of encodeFederation.
func decodeFederation(b []byte) (*Federation, bool) {
	ok := true
	num := func() uint64 {
		n, k := uvarint(b)
		if k <= 0 {
			ok = false
			return 0
		}
		b = b[k:]
		return n
	}
	str := func() string {
		n := num()
		if !ok || n > uint64(len(b)) {
			ok = false
			return ""
		}
		v := string(b[:n])
		b = b[n:]
		return v
	}
	f := &Federation{Provider: str(), Subject: str(), Audience: str()}
	n := num()
	if n > uint64(len(b)) {
		return nil, false
	}
	for i := uint64(0); i < n && ok; i++ {
		f.AMR = append(f.AMR, str())
	}
	if ok && len(b) > 0 {
		f.SubjectType, f.NameQualifier = str(), str()
		if f.SubjectType == "" {
			return nil, false // one encoding per value
		}
	}
	if !ok || len(b) != 0 || f.Provider == "" || f.Subject == "" {
		return nil, false
	}
	return f, true
}
