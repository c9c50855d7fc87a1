package sts

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/secret"
)

// RoleSignIn is a federated person signed in to a role on keyless's
// sign-in pages, through SAML or OpenID Connect: what issuing that role's
// sessions again for them needs, kept with the browser session and the
// aws login session. It holds no secret; the proof was spent at sign-in.
type RoleSignIn struct {
	Account        string                `json:"account"`
	RoleName       string                `json:"role"`
	RolePath       string                `json:"path"`
	RoleID         string                `json:"role_id"` // the role signed in to, not one re-created since
	SessionName    string                `json:"session"`
	SourceIdentity string                `json:"source_identity,omitempty"`
	Tags           []credential.Tag      `json:"tags,omitempty"`
	Issuer         credential.Issuer     `json:"issuer"`
	Federation     credential.Federation `json:"federation"`
	SignedInAt     time.Time             `json:"signed_in_at"`
	// Ends is when the sign-in ends: the role's maximum session duration
	// after it, or the provider's own shorter limit.
	Ends   time.Time `json:"ends"`
	Origin Origin    `json:"origin"`
}

// ARN is the role session's ARN, the aws login idToken's sub.
func (in RoleSignIn) ARN() string { return arn.AssumedRole(in.Account, in.RoleName, in.SessionName) }

// ID is the role session's unique id (AROA...:session).
func (in RoleSignIn) ID() string { return in.RoleID + ":" + in.SessionName }

// roleSignIn is the sign-in a federated role session starts.
func (s *Service) roleSignIn(f *Federated, origin Origin) RoleSignIn {
	account, _, name, _ := arn.ParseIAM(f.RoleARN, "role")
	role, _ := s.o.Directory.Role(account, name)
	now := s.o.Clock.Now().UTC().Truncate(time.Second)
	life := role.MaxSessionDuration
	if f.MaxDuration > 0 && f.MaxDuration < life {
		life = f.MaxDuration
	}
	ends := now.Add(life)
	if !f.NotAfter.IsZero() && f.NotAfter.Before(ends) {
		ends = f.NotAfter.UTC().Truncate(time.Second)
	}
	return RoleSignIn{Account: role.Account, RoleName: role.Name, RolePath: role.Path, RoleID: role.UniqueID, SessionName: f.SessionName,
		SourceIdentity: f.SourceIdentity, Tags: f.Tags, Issuer: f.Issuer, Federation: f.Federation, SignedInAt: now, Ends: ends, Origin: origin}
}

// SignInWithSAML is AssumeRoleWithSAML for the sign-in pages: the
// credentials page's session, and the sign-in the browser keeps.
func (s *Service) SignInWithSAML(ctx context.Context, req SAMLRequest) (SAMLResult, RoleSignIn, error) {
	var res SAMLResult
	src := &samlAssertion{s: s, req: req, res: &res}
	var (
		f   *Federated
		err error
	)
	res.AssumeRoleResult, f, err = s.AssumeRoleAs(ctx, src, FederatedRequest{Origin: req.Origin})
	if err != nil {
		return res, RoleSignIn{}, err
	}
	return res, s.roleSignIn(f, req.Origin), nil
}

// SignInWithWebIdentity is AssumeRoleWithWebIdentity for the sign-in
// pages, with an ID token keyless obtained itself as an OpenID Connect
// relying party.
func (s *Service) SignInWithWebIdentity(ctx context.Context, req WebIdentityRequest) (WebIdentityResult, RoleSignIn, error) {
	var res WebIdentityResult
	src := webIdentity{s: s, roleARN: req.RoleARN, sessionName: req.SessionName, token: req.Token}
	var (
		f   *Federated
		err error
	)
	res.AssumeRoleResult, f, err = s.AssumeRoleAs(ctx, src, FederatedRequest{Origin: req.Origin})
	if f != nil {
		res.Subject, res.Audience, res.Provider = f.Federation.Subject, f.Federation.Audience, f.Provider
	}
	if err != nil {
		return res, RoleSignIn{}, err
	}
	return res, s.roleSignIn(f, req.Origin), nil
}

// WebIdentityOffer is who an ID token proves and the roles of account
// whose trust policies admit them (sts:AssumeRoleWithWebIdentity, and
// the tag and source identity permissions its claims need).
type WebIdentityOffer struct {
	Subject, Provider string
	Roles             []string // role ARNs, sorted
}

// WebIdentityRoles verifies token with account's provider for its issuer
// and lists the roles it may sign in to, for the sign-in page's chooser.
func (s *Service) WebIdentityRoles(ctx context.Context, account string, token secret.String, sessionName string, origin Origin) (WebIdentityOffer, error) {
	probe := arn.Role(account, "/", "probe")
	f, err := webIdentity{s: s, roleARN: probe, sessionName: sessionName, token: token}.Prove(ctx)
	if err != nil {
		return WebIdentityOffer{}, err
	}
	offer := WebIdentityOffer{Subject: f.Federation.Subject, Provider: f.Provider}
	for _, role := range s.o.Directory.RolesOf(account) {
		if strings.HasPrefix(role.Name, "AWSReservedSSO_") {
			continue
		}
		f.RoleARN = role.ARN()
		if s.trusts(f, role, origin) == nil {
			offer.Roles = append(offer.Roles, role.ARN())
		}
	}
	slices.Sort(offer.Roles)
	return offer, nil
}

// signInRole is the role a sign-in is to and when the sign-in ends, if
// it is still the same role, its identity provider is still declared,
// and the sign-in has not been revoked or ended. The end is the one the
// sign-in started with, or sooner if the role's maximum session duration
// was lowered since. (The trust policy decided at sign-in; a changed
// trust policy ends sign-ins when their sessions are revoked.)
func (s *Service) signInRole(in RoleSignIn) (*iam.RoleInfo, time.Time, error) {
	role, ok := s.o.Directory.Role(in.Account, in.RoleName)
	if !ok || role.Name != in.RoleName || role.Path != in.RolePath || role.UniqueID != in.RoleID {
		return nil, time.Time{}, denied("signin_role_unknown", "The role no longer exists.")
	}
	if !s.providerDeclared(in.Federation.Provider) {
		return nil, time.Time{}, denied(ReasonCredentialsChanged, "The identity provider of this sign-in is no longer declared.")
	}
	if s.o.RevokedBefore != nil && in.SignedInAt.Before(s.o.RevokedBefore(role.UniqueID)) {
		return nil, time.Time{}, denied(ReasonCredentialsChanged, "The role's sessions were revoked since this sign-in.")
	}
	ends := in.Ends
	if limit := in.SignedInAt.Add(role.MaxSessionDuration); limit.Before(ends) {
		ends = limit
	}
	if !s.o.Clock.Now().Before(ends) {
		return nil, time.Time{}, &Error{Code: ExpiredToken, Reason: "session_expired", Msg: "The sign-in session has ended."}
	}
	return role, ends, nil
}

// providerDeclared reports whether a SAML or OIDC provider ARN is still
// in the directory.
func (s *Service) providerDeclared(provider string) bool {
	if account, _, name, ok := arn.ParseIAM(provider, "saml-provider"); ok {
		_, found := s.o.Directory.SAMLProvider(account, name)
		return found
	}
	for _, p := range s.o.Directory.OIDCProviders() {
		if p.ARN() == provider {
			return true
		}
	}
	return false
}

// roleSession is the session a role sign-in's credentials carry.
func (in RoleSignIn) session(role *iam.RoleInfo, issued, expires time.Time) *credential.Session {
	fed := in.Federation
	return &credential.Session{IssuedAt: issued, Expiration: expires, Issuer: in.Issuer, Principal: role.Principal(), Name: in.SessionName,
		SourceIdentity: in.SourceIdentity, Packed: credential.Pack(credential.Attributes{Tags: in.Tags}), Federation: &fed}
}

// CheckRoleSignIn authorizes a role sign-in's action
// (signin:AuthorizeOAuth2Access, signin:CreateOAuth2Token) on resource
// with the role session's policies.
func (s *Service) CheckRoleSignIn(ctx context.Context, in RoleSignIn, action, resource string) error {
	role, ends, err := s.signInRole(in)
	if err != nil {
		return err
	}
	c := Caller{Principal: role.Principal(), Session: in.session(role, in.SignedInAt, ends), Origin: in.Origin}
	return s.CheckAccess(ctx, c, AccessRequest{Action: action, Resource: resource})
}

// RoleSignInCredentials issues the role's session for a sign-in again,
// expiring at expires at the latest (and never after the sign-in ends).
func (s *Service) RoleSignInCredentials(_ context.Context, in RoleSignIn, expires time.Time) (AssumeRoleResult, error) {
	role, ends, err := s.signInRole(in)
	if err != nil {
		return AssumeRoleResult{}, err
	}
	if ends.Before(expires) {
		expires = ends
	}
	fed := in.Federation
	return s.issueRoleSession(roleSession{role: role, issuer: in.Issuer, name: in.SessionName, notAfter: expires,
		ended: &Error{Code: ExpiredToken, Reason: "session_expired", Msg: "The sign-in session has ended."},
		tags:  in.Tags, sourceIdentity: in.SourceIdentity, federation: &fed})
}
