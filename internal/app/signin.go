package app

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/login"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/signing"
	"github.com/keyless-dev/keyless/internal/sts"
)

// userSignIns issues for people signed in on keyless's pages, IAM users
// with a password and federated role sign-ins: the credentials and
// idTokens of `aws login` (login.Issuer) and what the sign-in pages ask
// (portal.Users). A login.Principal's Session is the sign-in it started
// from.
type userSignIns struct {
	sts    *sts.Service
	sign   func(alg signing.Algorithm, claims []byte) (string, error)
	issuer string // the idToken's iss: keyless's issuer
	region string // of the signin resource ARNs
	clock  clock.Clock
}

// signInSession is a login.Principal's Session: a user's sign-in, or a
// federated role sign-in (RoleSignIn).
type signInSession struct {
	User *userSession    `json:"user,omitempty"`
	Role *sts.RoleSignIn `json:"role,omitempty"`
}

// userSession is a user's password sign-in.
type userSession struct {
	Account    string    `json:"account"`
	Name       string    `json:"name"`
	Path       string    `json:"path"`
	UniqueID   string    `json:"uid"`
	SignedInAt time.Time `json:"signed_in_at"`
	MFAAt      time.Time `json:"mfa_at,omitzero"`
	Stamp      string    `json:"stamp"`
}

// principal is in's login.Principal.
func (u *userSignIns) principal(in sts.SignIn) (login.Principal, error) {
	p := in.Principal
	raw, err := json.Marshal(signInSession{User: &userSession{Account: p.Account, Name: p.Name, Path: p.Path, UniqueID: p.UniqueID,
		SignedInAt: in.SignedInAt, MFAAt: in.MFAAt, Stamp: in.PasswordStamp}})
	if err != nil {
		return login.Principal{}, err
	}
	return login.Principal{ARN: p.ARN(), ID: p.UniqueID, Session: raw}, nil
}

// RolePrincipal is a federated role sign-in's login.Principal.
func (u *userSignIns) RolePrincipal(in sts.RoleSignIn) (login.Principal, error) {
	raw, err := json.Marshal(signInSession{Role: &in})
	if err != nil {
		return login.Principal{}, err
	}
	return login.Principal{ARN: in.ARN(), ID: in.ID(), Session: raw}, nil
}

// read reads p's Session back: a user's sign-in or a role's.
func (u *userSignIns) read(p login.Principal) (*sts.SignIn, *sts.RoleSignIn, error) {
	var ss signInSession
	if err := json.Unmarshal(p.Session, &ss); err != nil || (ss.User == nil) == (ss.Role == nil) {
		return nil, nil, errors.New("sign-in session unreadable")
	}
	if ss.Role != nil {
		return nil, ss.Role, nil
	}
	s := ss.User
	return &sts.SignIn{
		Principal:  iam.Principal{Type: iam.User, Account: s.Account, Name: s.Name, Path: s.Path, UniqueID: s.UniqueID},
		SignedInAt: s.SignedInAt, MFAAt: s.MFAAt, PasswordStamp: s.Stamp,
	}, nil, nil
}

// PasswordSignIn verifies a password sign-in.
func (u *userSignIns) PasswordSignIn(ctx context.Context, in sts.PasswordSignIn) (login.Principal, bool, error) {
	s, err := u.sts.SignInWithPassword(ctx, in)
	if err != nil {
		return login.Principal{}, false, err
	}
	p, err := u.principal(s)
	return p, !s.MFAAt.IsZero(), err
}

// resource is the signin resource of client, the ARN AWS's
// SignInLocalDevelopmentAccess policy names with a wildcard.
func (u *userSignIns) resource(account, client string) string {
	name := "same-device"
	if client == login.CrossDevice {
		name = "cross-device"
	}
	return "arn:aws:signin:" + u.region + ":" + account + ":oauth2/public-client/" + name
}

// Authorize checks signin:AuthorizeOAuth2Access for p and client.
func (u *userSignIns) Authorize(ctx context.Context, p login.Principal, client string, origin sts.Origin) error {
	return u.check(ctx, p, client, "signin:AuthorizeOAuth2Access", origin)
}

// check authorizes action for p's sign-in, through client, for a request
// from origin (its aws:SourceIp, not the sign-in's).
func (u *userSignIns) check(ctx context.Context, p login.Principal, client, action string, origin sts.Origin) error {
	user, role, err := u.read(p)
	switch {
	case err != nil:
		return err
	case role != nil:
		role.Origin = origin
		return u.sts.CheckRoleSignIn(ctx, *role, action, u.resource(role.Account, client))
	}
	user.Origin = origin
	return u.sts.CheckSignIn(ctx, *user, action, u.resource(user.Principal.Account, client))
}

// Check is login.Issuer's: signin:CreateOAuth2Token, and the sign-in
// still in force (user, password, revocations).
func (u *userSignIns) Check(ctx context.Context, p login.Principal, client string, _ time.Time, origin sts.Origin) error {
	err := u.check(ctx, p, client, "signin:CreateOAuth2Token", origin)
	if e, ok := errors.AsType[*sts.Error](err); ok && e.Code == sts.AccessDenied {
		code := login.InsufficientPermissions
		if e.Reason == sts.ReasonCredentialsChanged || e.Reason == "signin_user_unknown" || e.Reason == "signin_role_unknown" {
			code = login.CredentialsChanged
		}
		return &login.Error{Code: code, Reason: e.Reason, Msg: e.Msg}
	}
	if e, ok := errors.AsType[*sts.Error](err); ok && e.Code == sts.ExpiredToken {
		return &login.Error{Code: login.TokenExpired, Reason: e.Reason, Msg: e.Msg}
	}
	return err
}

// Credentials issues p's credentials.
func (u *userSignIns) Credentials(ctx context.Context, p login.Principal, expires time.Time) (sts.Credentials, error) {
	user, role, err := u.read(p)
	switch {
	case err != nil:
		return sts.Credentials{}, err
	case role != nil:
		res, err := u.sts.RoleSignInCredentials(ctx, *role, expires)
		return res.Credentials, err
	}
	return u.sts.SignInCredentials(ctx, *user, expires)
}

// idTokenLifetime is the idToken's life: the clients read its sub once.
const idTokenLifetime = 15 * time.Minute

// IDToken signs the idToken: keyless's issuer, sub the principal's ARN
// (the clients' login_session name), aud the client.
func (u *userSignIns) IDToken(_ context.Context, p login.Principal, client string) (secret.String, error) {
	now := u.clock.Now().Unix()
	claims, err := json.Marshal(map[string]any{"iss": u.issuer, "sub": p.ARN, "aud": client, "iat": now,
		"exp": now + int64(idTokenLifetime/time.Second)})
	if err != nil {
		return secret.String{}, err
	}
	tok, err := u.sign(signing.RS256, claims)
	return secret.NewString(tok), err
}

// macKeys are the keyring's refresh-token MAC keys (login.MACKeys).
type macKeys struct{ ring *keyring.Ring }

func (m macKeys) ActiveMACKey() (uint32, []byte, error) {
	return m.ring.ActiveMACKey(keyring.LoginRefreshToken)
}

func (m macKeys) MACKey(ctx context.Context, id uint32) ([]byte, error) {
	k, err := m.ring.MACKey(ctx, id, keyring.LoginRefreshToken)
	if errors.Is(err, keyring.ErrUnknownKey) {
		return nil, errors.Join(login.ErrUnknownKey, err)
	}
	return k, err
}
