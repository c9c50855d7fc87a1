package sts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/saml"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
)

// SAMLRequest is a shape-validated AssumeRoleWithSAML request (STS API
// reference, AssumeRoleWithSAML).
type SAMLRequest struct {
	RoleARN      string
	PrincipalARN string
	// Assertion is the base64 SAML Response, as sent.
	Assertion  secret.String
	Policy     string
	PolicyARNs []string
	Duration   time.Duration
	// Recipient, when set, is the only Recipient accepted: a sign-in
	// page's own URL (SAML profiles 4.1.4.3). The API accepts any
	// configured sign-in URL.
	Recipient string
	Origin    Origin
}

// SAMLResult is what AssumeRoleWithSAML returns. On a refusal after the
// assertion was verified, the identity fields are still set, for the audit
// log.
type SAMLResult struct {
	AssumeRoleResult
	Subject       string
	SubjectType   string
	Issuer        string
	Audience      string // the Recipient that matched
	NameQualifier string
	// Provider is the SAML provider's ARN, set once it was found.
	Provider string
	// AssertionID and the session tags are for the audit event
	// (CloudTrail's sAMLAssertionID, principalTags, transitiveTagKeys).
	AssertionID string
	SessionName string
	Tags        []credential.Tag
}

// SAMLRolesRequest asks which roles a posted SAML Response offers.
type SAMLRolesRequest struct {
	Assertion secret.String
	// Recipient is the sign-in page's own URL.
	Recipient string
}

// SAMLOffer is what a verified Response offers at a sign-in page: the
// role and provider pairs of its Role attribute whose provider verified
// it. Nothing is consumed: the assertion stays single-use for the
// AssumeRoleWithSAML that follows.
type SAMLOffer struct {
	Subject  string
	Issuer   string
	Roles    []saml.RolePair
	Expires  time.Time // the assertion's last deadline
	Provider string    // the first provider that verified it
}

const (
	msgSAMLDenied       = "Not authorized to perform sts:AssumeRoleWithSAML"
	actionSAML          = "sts:AssumeRoleWithSAML"
	msgProviderUnknown  = "Specified provider doesn't exist."
	msgSessionNameNeed  = "RoleSessionName is required in AuthnResponse"
	msgSessionNameShape = "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}"
	msgSourceIdentity   = `Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"`
	msgSessionDuration  = "SessionDuration in AuthnResponse must be an integer from 900 to 43200"
	msgSAMLTags         = "The session tag attributes in AuthnResponse are not valid."
	// maxSignInProviders bounds the providers a sign-in page tries for
	// one issuer.
	maxSignInProviders = 8
)

// AssumeRoleWithSAML exchanges a SAML Response from a SAML provider of the
// role's account for a role session (aws-sts.md 4.3, 5.9).
func (s *Service) AssumeRoleWithSAML(ctx context.Context, req SAMLRequest) (SAMLResult, error) {
	var res SAMLResult
	src := &samlAssertion{s: s, req: req, res: &res}
	var err error
	res.AssumeRoleResult, _, err = s.AssumeRoleAs(ctx, src, FederatedRequest{Duration: req.Duration, Policy: req.Policy,
		PolicyARNs: req.PolicyARNs, Origin: req.Origin})
	return res, err
}

// samlAssertion is a SAML Response as an identity source: verified with
// the keys of the provider PrincipalArn names, and spent. It fills in the
// result's SAML members as it learns them.
type samlAssertion struct {
	s   *Service
	req SAMLRequest
	res *SAMLResult
}

// Prove verifies and spends the assertion, checks that its Role attribute
// offers the role through this provider, and reads its attributes.
func (sa *samlAssertion) Prove(ctx context.Context) (*Federated, error) {
	s, req, res := sa.s, sa.req, sa.res
	account, _, _, ok := arn.ParseIAM(req.RoleARN, "role")
	if !ok {
		return nil, validation("role_arn_invalid", req.RoleARN+" is invalid")
	}
	pAccount, pPath, pName, ok := arn.ParseIAM(req.PrincipalARN, "saml-provider")
	if !ok || pPath != "/" {
		return nil, validation("principal_arn_invalid", req.PrincipalARN+" is invalid")
	}
	provider, ok := s.o.Directory.SAMLProvider(pAccount, pName)
	if !ok {
		return nil, &Error{Code: InvalidIdentityToken, Reason: "provider_unknown", Msg: msgProviderUnknown}
	}
	res.Provider = provider.ARN()
	now := s.o.Clock.Now()
	a, recipient, err := s.verifySAML(ctx, req.Assertion.Reveal(), provider, req.Recipient, now)
	if err != nil {
		return nil, err
	}
	res.AssertionID, res.Subject, res.Issuer, res.Audience = a.ID, a.Subject, a.Issuer, recipient
	res.SubjectType = saml.SubjectType(a.SubjectFormat)
	res.NameQualifier = saml.NameQualifier(a.Issuer, provider.Account, provider.Name)
	// The assertion is spent here, whatever follows: a refused one cannot
	// be tried again with other parameters (SAML profiles 4.1.4.5).
	if err := s.spendAssertion(ctx, a, now); err != nil {
		return nil, err
	}

	roles, _ := a.Values(saml.AttrRole)
	if !slices.Contains(saml.RolePairs(roles), saml.RolePair{Role: req.RoleARN, Provider: req.PrincipalARN}) || account != pAccount {
		return nil, denied("role_not_in_assertion", msgSAMLDenied)
	}
	f := &Federated{
		RoleARN: req.RoleARN, Provider: provider.ARN(), Action: actionSAML, Denied: msgSAMLDenied, Issuer: credential.IssuerSAML,
		Federation: credential.Federation{Provider: provider.ARN(), Subject: a.Subject, Audience: recipient,
			SubjectType: res.SubjectType, NameQualifier: res.NameQualifier},
		// Credentials never outlive the IdP's session (SAML core 2.7.2).
		NotAfter: a.SessionNotOnOrAfter,
		Ended:    &Error{Code: ExpiredIdentityToken, Reason: "session_expired", Msg: saml.MsgExpired},
	}
	if f.SessionName, err = samlSessionName(a); err != nil {
		return nil, err
	}
	// The attribute only shortens the session (aws-sts.md 4.3).
	if f.MaxDuration, err = samlSessionDuration(a); err != nil {
		return nil, err
	}
	if f.SourceIdentity, err = samlSourceIdentity(a); err != nil {
		return nil, err
	}
	if f.Tags, err = samlTags(a); err != nil {
		return nil, err
	}
	res.Tags, res.SessionName = f.Tags, f.SessionName
	keys, err := saml.ConditionKeys(a, recipient, provider.Account, provider.Name)
	if err != nil {
		return nil, samlError(err)
	}
	f.Keys = func(ctx *policy.Context) {
		for _, k := range keys {
			ctx.Set(k.Name, k.Values...)
		}
	}
	return f, nil
}

// SAMLRoles verifies a Response posted to a sign-in page and lists the
// roles it offers. The issuer the document claims only picks the
// providers whose keys are tried.
func (s *Service) SAMLRoles(ctx context.Context, req SAMLRolesRequest) (SAMLOffer, error) {
	if s.o.SAML == nil {
		return SAMLOffer{}, unavailable("saml_not_configured", nil)
	}
	raw := req.Assertion.Reveal()
	issuer, err := s.o.SAML.Issuer(ctx, raw)
	if err != nil {
		return SAMLOffer{}, samlError(err)
	}
	candidates := s.o.Directory.SAMLProvidersFor(issuer)
	if len(candidates) == 0 {
		// The page does not tell which entity IDs are configured.
		return SAMLOffer{}, &Error{Code: InvalidIdentityToken, Reason: "provider_unknown", Msg: saml.MsgInvalidResponse}
	}
	var (
		offer SAMLOffer
		first error
	)
	now := s.o.Clock.Now()
	for _, p := range candidates[:min(len(candidates), maxSignInProviders)] {
		a, _, err := s.verifySAML(ctx, raw, p, req.Recipient, now)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		if offer.Provider == "" {
			offer.Provider, offer.Subject, offer.Issuer = p.ARN(), a.Subject, a.Issuer
			offer.Expires = a.UsableUntil(0)
		}
		values, _ := a.Values(saml.AttrRole)
		for _, pair := range saml.RolePairs(values) {
			if pair.Provider == p.ARN() && !slices.Contains(offer.Roles, pair) {
				offer.Roles = append(offer.Roles, pair)
			}
		}
	}
	switch {
	case offer.Provider == "":
		return SAMLOffer{}, first
	case len(offer.Roles) == 0:
		return offer, denied("no_role_in_assertion", msgSAMLDenied)
	}
	return offer, nil
}

// verifySAML checks a Response's signature against the provider's keys
// and its content against our expectations.
func (s *Service) verifySAML(ctx context.Context, raw string, p *iam.SAMLProvider, recipient string, now time.Time) (*saml.Assertion, string, error) {
	if s.o.SAML == nil {
		return nil, "", unavailable("saml_not_configured", nil)
	}
	a, err := s.o.SAML.Verify(ctx, raw, saml.Keys{Certificates: p.Certificates, AllowSHA1: p.AllowSHA1}, now)
	if err != nil {
		return nil, "", samlError(err)
	}
	exp := s.o.SAMLExpect
	exp.Issuer = p.EntityID
	if recipient != "" {
		if !slices.Contains(exp.Recipients, recipient) {
			return nil, "", unavailable("sign_in_url_not_configured", errors.New(recipient))
		}
		exp.Recipients = []string{recipient}
	}
	got, err := saml.Check(a, exp, now)
	if err != nil {
		return nil, "", samlError(err)
	}
	return a, got, nil
}

// spendAssertion records the assertion's ID as used until it expires, in
// storage shared by every node and kept across restarts (security.md
// SAML-17).
func (s *Service) spendAssertion(ctx context.Context, a *saml.Assertion, now time.Time) error {
	sum := sha256.Sum256([]byte(a.Issuer + "\x00" + a.ID))
	// Kept until the assertion's last deadline, but no longer than Check
	// would accept it anyway: an IdP may set NotOnOrAfter years ahead.
	until := a.UsableUntil(s.o.SAMLExpect.Leeway)
	if e := s.o.SAMLExpect; e.MaxAge > 0 {
		if limit := a.IssueInstant.Add(e.MaxAge + 2*e.Leeway); limit.Before(until) {
			until = limit
		}
	}
	err := s.o.SingleUse.UseOnce(ctx, "saml:"+hex.EncodeToString(sum[:]), until, now)
	switch {
	case errors.Is(err, storage.ErrConflict):
		return &Error{Code: InvalidIdentityToken, Reason: "assertion_replayed", Msg: saml.MsgReplay}
	case err != nil:
		return unavailable("single_use_unavailable", err)
	}
	return nil
}

// samlError maps a refused assertion to its STS code.
func samlError(err error) error {
	var e *saml.Error
	if !errors.As(err, &e) {
		return unavailable("saml_verification", err)
	}
	if e.Kind == saml.Expired {
		return &Error{Code: ExpiredIdentityToken, Reason: e.Reason, Msg: e.Msg}
	}
	return &Error{Code: InvalidIdentityToken, Reason: e.Reason, Msg: e.Msg}
}

// single reads an attribute that may have one value: present reports the
// attribute, ok that it had exactly one.
func single(a *saml.Assertion, name string) (v string, present, ok bool) {
	values, present := a.Values(name)
	if len(values) != 1 {
		return "", present, false
	}
	return values[0], present, true
}

// samlSessionName reads RoleSessionName (required; 2 to 64 of [\w+=,.@-]).
func samlSessionName(a *saml.Assertion) (string, error) {
	v, present, ok := single(a, saml.AttrRoleSessionName)
	switch {
	case !present:
		return "", &Error{Code: InvalidIdentityToken, Reason: "session_name_missing", Msg: msgSessionNameNeed}
	case !ok || len(v) < 2 || len(v) > 64 || !arn.IsNameChars(v):
		return "", &Error{Code: InvalidIdentityToken, Reason: "session_name_invalid", Msg: msgSessionNameShape}
	}
	return v, nil
}

// samlSessionDuration reads SessionDuration: 900 to 43200 seconds, or
// zero when absent.
func samlSessionDuration(a *saml.Assertion) (time.Duration, error) {
	v, present, ok := single(a, saml.AttrSessionDuration)
	if !present {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n < 900 || n > 43200 || strconv.Itoa(n) != v {
		return 0, &Error{Code: InvalidIdentityToken, Reason: "session_duration_invalid", Msg: msgSessionDuration}
	}
	return time.Duration(n) * time.Second, nil
}

// samlSourceIdentity reads SourceIdentity, or "" when absent.
func samlSourceIdentity(a *saml.Assertion) (string, error) {
	v, present, ok := single(a, saml.AttrSourceIdentity)
	if present && (!ok || !validSourceIdentity(v)) {
		return "", &Error{Code: InvalidIdentityToken, Reason: "source_identity_invalid", Msg: msgSourceIdentity}
	}
	return v, nil
}

// samlTags reads the PrincipalTag:KEY attributes (one value each) and
// TransitiveTagKeys (each one of those keys), under AssumeRole's tag
// rules; nothing is silently dropped (security.md SAML-24).
func samlTags(a *saml.Assertion) ([]credential.Tag, error) {
	bad := func(reason string) error {
		return &Error{Code: InvalidIdentityToken, Reason: reason, Msg: msgSAMLTags}
	}
	var tags []credential.Tag
	for _, at := range a.Attributes {
		key, ok := strings.CutPrefix(at.Name, saml.AttrPrincipalTag)
		if !ok {
			continue
		}
		if len(at.Values) != 1 {
			return nil, bad("tag_attribute_values")
		}
		tags = append(tags, credential.Tag{Key: key, Value: at.Values[0]})
	}
	if err := checkIDPTags(tags, bad); err != nil {
		return nil, err
	}
	transitive, _ := a.Values(saml.AttrTransitiveTagKeys)
	for _, k := range transitive {
		i := slices.IndexFunc(tags, func(t credential.Tag) bool { return strings.EqualFold(t.Key, k) })
		if i < 0 {
			return nil, bad("transitive_key_not_a_tag")
		}
		tags[i].Transitive = true
	}
	return tags, nil
}
