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
	account, path, name, ok := arn.ParseIAM(req.RoleARN, "role")
	if !ok {
		return res, validation("role_arn_invalid", req.RoleARN+" is invalid")
	}
	pAccount, pPath, pName, ok := arn.ParseIAM(req.PrincipalARN, "saml-provider")
	if !ok || pPath != "/" {
		return res, validation("principal_arn_invalid", req.PrincipalARN+" is invalid")
	}
	provider, ok := s.o.Directory.SAMLProvider(pAccount, pName)
	if !ok {
		return res, &Error{Code: InvalidIdentityToken, Reason: "provider_unknown", Msg: msgProviderUnknown}
	}
	res.Provider = provider.ARN()
	now := s.o.Clock.Now()
	a, recipient, err := s.verifySAML(ctx, req.Assertion.Reveal(), provider, req.Recipient, now)
	if err != nil {
		return res, err
	}
	res.AssertionID, res.Subject, res.Issuer, res.Audience = a.ID, a.Subject, a.Issuer, recipient
	res.SubjectType = saml.SubjectType(a.SubjectFormat)
	res.NameQualifier = saml.NameQualifier(a.Issuer, provider.Account, provider.Name)
	// The assertion is spent here, whatever follows: a refused one cannot
	// be tried again with other parameters (SAML profiles 4.1.4.5).
	if err := s.spendAssertion(ctx, a, now); err != nil {
		return res, err
	}

	roles, _ := a.Values(saml.AttrRole)
	if !slices.Contains(saml.RolePairs(roles), saml.RolePair{Role: req.RoleARN, Provider: req.PrincipalARN}) || account != pAccount {
		return res, denied("role_not_in_assertion", msgSAMLDenied)
	}
	sessionName, err := samlSessionName(a)
	if err != nil {
		return res, err
	}
	attrDuration, err := samlSessionDuration(a)
	if err != nil {
		return res, err
	}
	sourceIdentity, err := samlSourceIdentity(a)
	if err != nil {
		return res, err
	}
	tags, err := samlTags(a)
	if err != nil {
		return res, err
	}
	res.Tags, res.SessionName = tags, sessionName
	if req.Policy != "" {
		if _, err := s.parseSessionPolicy(req.Policy); err != nil {
			return res, err
		}
	}

	// The trust policy alone decides (IAM User Guide,
	// id_roles_providers_saml). Identity Center's roles are its own.
	role, found := s.o.Directory.Role(account, name)
	if !found || role.Name != name || role.Path != path || strings.HasPrefix(role.Name, "AWSReservedSSO_") {
		return res, denied(decisionReason(policy.NoResourceAllow), msgSAMLDenied)
	}
	keys, err := saml.ConditionKeys(a, recipient, provider.Account, provider.Name)
	if err != nil {
		return res, samlError(err)
	}
	ctxKeys := policy.NewContext(16 + len(keys) + len(tags))
	for _, k := range keys {
		ctxKeys.Set(k.Name, k.Values...)
	}
	federatedKeys(ctxKeys, provider.ARN(), sessionName, sourceIdentity, tags, req.Origin, now.UTC())
	set := &policy.Set{Resource: &policy.Named{Name: "trust policy of role/" + role.Name, Doc: role.Trust},
		ResourceAccount: account, RequireResource: true}
	principal := policy.Principal{Account: account, Federated: []string{provider.ARN()}}
	for _, action := range samlActions(tags, sourceIdentity) {
		d := policy.Decide(set, &policy.Request{Principal: principal, Action: action, Resource: req.RoleARN, Context: ctxKeys})
		if !d.Allowed {
			return res, denied(decisionReason(d.Reason), msgSAMLDenied)
		}
	}

	d := req.Duration
	switch {
	case d == 0:
		d = defaultRoleSession
	case d > role.MaxSessionDuration:
		return res, validation("role_duration", msgRoleDuration)
	}
	if attrDuration > 0 && attrDuration < d {
		d = attrDuration // the attribute only shortens (aws-sts.md 4.3)
	}
	if err := s.checkPolicyARNs(req.PolicyARNs, account); err != nil {
		return res, err
	}
	packed := credential.Pack(credential.Attributes{Policy: req.Policy, PolicyARNs: req.PolicyARNs, Tags: tags})
	if err := packedFits(packed); err != nil {
		return res, err
	}
	issued := now.UTC().Truncate(time.Second)
	expires := issued.Add(d)
	if end := a.SessionNotOnOrAfter; !end.IsZero() && end.Before(expires) {
		// Credentials never outlive the IdP's session (SAML core 2.7.2).
		expires = end.UTC().Truncate(time.Second)
	}
	if !expires.After(issued) {
		return res, &Error{Code: ExpiredIdentityToken, Reason: "session_expired", Msg: saml.MsgExpired}
	}
	sess := &credential.Session{
		IssuedAt:       issued,
		Expiration:     expires,
		Issuer:         credential.IssuerSAML,
		Principal:      role.Principal(),
		Name:           sessionName,
		SourceIdentity: sourceIdentity,
		Packed:         packed,
		Federation: &credential.Federation{Provider: provider.ARN(), Subject: a.Subject, Audience: recipient,
			SubjectType: res.SubjectType, NameQualifier: res.NameQualifier},
	}
	res.AssumeRoleResult, err = s.issueRole(role, sess, req.Policy != "" || len(req.PolicyARNs) > 0 || len(tags) > 0)
	return res, err
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

// samlActions are the trust policy actions a request needs: the
// TagSession and SetSourceIdentity permissions when the assertion carries
// tags or a source identity (aws-sts.md 5.2).
func samlActions(tags []credential.Tag, sourceIdentity string) []string {
	actions := []string{actionSAML}
	if len(tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if sourceIdentity != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	return actions
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
