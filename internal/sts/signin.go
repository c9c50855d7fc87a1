package sts

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/attempts"
	"github.com/keyless-dev/keyless/internal/password"
	"github.com/keyless-dev/keyless/internal/secret"

	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
)

// SignIn is a user who signed in through keyless's sign-in pages (issue
// 17): when, and when with MFA.
type SignIn struct {
	Principal  iam.Principal // a user
	SignedInAt time.Time
	MFAAt      time.Time // zero without MFA
	// PasswordStamp is the stamp of the password signed in with
	// (password.Stored.Stamp): the sign-in ends if it changes.
	PasswordStamp string
	Origin        Origin
}

// signInSession is the session a sign-in's credentials carry.
func (in SignIn) session(issued, expires time.Time) *credential.Session {
	return &credential.Session{IssuedAt: issued, Expiration: expires, Issuer: credential.IssuerSignIn, Principal: in.Principal,
		MFAAuthenticatedAt: in.MFAAt}
}

// CheckSignIn authorizes a sign-in's action (signin:AuthorizeOAuth2Access,
// signin:CreateOAuth2Token) on resource with the user's own policies and
// the sign-in's MFA context. The user must still exist.
func (s *Service) CheckSignIn(ctx context.Context, in SignIn, action, resource string) error {
	if err := s.signInUser(in); err != nil {
		return err
	}
	c := Caller{Principal: in.Principal, Session: in.session(in.SignedInAt, in.SignedInAt.Add(defaultUserSession)), Origin: in.Origin}
	return s.CheckAccess(ctx, c, AccessRequest{Action: action, Resource: resource})
}

// SignInCredentials issues a sign-in's credentials, expiring at expires:
// a session of the user itself, as a console session is, with the MFA
// context of the sign-in.
func (s *Service) SignInCredentials(_ context.Context, in SignIn, expires time.Time) (Credentials, error) {
	if err := s.signInUser(in); err != nil {
		return Credentials{}, err
	}
	now := s.o.Clock.Now().UTC().Truncate(time.Second)
	expires = expires.UTC().Truncate(time.Second)
	if !expires.After(now) {
		return Credentials{}, &Error{Code: ExpiredToken, Reason: "session_expired", Msg: "The sign-in session has ended."}
	}
	return s.issue(in.session(now, expires))
}

// ReasonCredentialsChanged is the Reason of a sign-in that ended because
// the user's password changed or their sessions were revoked.
const ReasonCredentialsChanged = "signin_credentials_changed"

func (s *Service) signInUser(in SignIn) error {
	if in.Principal.Type != iam.User {
		return denied("signin_not_user", "Only IAM users sign in with a password.")
	}
	u, ok := s.o.Directory.User(in.Principal.Account, in.Principal.Name)
	if !ok || u.UniqueID != in.Principal.UniqueID {
		return denied("signin_user_unknown", "The user no longer exists.")
	}
	if u.Password == nil || u.Password.Stamp() != in.PasswordStamp {
		return denied(ReasonCredentialsChanged, "The user's password changed since this sign-in.")
	}
	if s.o.RevokedBefore != nil && in.SignedInAt.Before(s.o.RevokedBefore(in.Principal.UniqueID)) {
		return denied(ReasonCredentialsChanged, "The user's sessions were revoked since this sign-in.")
	}
	return nil
}

// PasswordSignIn is a sign-in on keyless's pages with a console password
// and, for a user with an MFA device, a TOTP code.
type PasswordSignIn struct {
	Account  string // id or alias
	User     string
	Password secret.String
	MFACode  secret.String
	// Source is the client's address, for the per-source limit.
	Source string
	Origin Origin
}

// SignInLimits bound failed sign-ins per user name and per source.
type SignInLimits struct {
	PerUser, PerSource int
	Window             time.Duration
}

// msgSignInFailed is every failed sign-in's message: it does not say
// which part was wrong, or whether the user exists.
const msgSignInFailed = "The account, user name, password or MFA code is not correct."

// Bounds of a sign-in's fields, checked before anything is looked up.
const (
	maxSignInAccount  = 63 // an alias; an id is 12 digits
	maxSignInPassword = 1024
	maxSignInCode     = 16
)

// SignInWithPassword verifies a console sign-in. Each attempt takes one
// of the user name's and one of the source's failures before the
// password is checked, and gives them back if it succeeds, so that
// parallel guesses get no more than the limits evaluated (the hardening
// rule of sts.checkMFA). The password of an unknown user is checked
// against a dummy hash, and every failure has the same message.
func (s *Service) SignInWithPassword(ctx context.Context, in PasswordSignIn) (SignIn, error) {
	fail := func(reason string) (SignIn, error) { return SignIn{}, denied(reason, msgSignInFailed) }
	if in.Account == "" || in.User == "" || in.Password.IsZero() || len(in.Account) > maxSignInAccount || len(in.User) > 64 ||
		len(in.Password.Reveal()) > maxSignInPassword || len(in.MFACode.Reveal()) > maxSignInCode {
		return fail("signin_input_invalid")
	}
	if s.passwords == nil {
		return fail("signin_disabled")
	}
	account, ok := s.o.Directory.Account(in.Account)
	if !ok {
		account, ok = s.o.Directory.AccountByAlias(in.Account)
	}
	var user *iam.UserInfo
	key := "signin-user:" + strings.ToLower(in.Account) + "/" + strings.ToLower(in.User)
	if ok {
		key = "signin-user:" + account.ID + "/" + strings.ToLower(in.User)
		user, _ = s.o.Directory.User(account.ID, in.User)
	}
	attempt, err := s.signInAttempts.take(ctx, key, "signin-source:"+in.Source)
	switch {
	case errors.Is(err, attempts.ErrLimited):
		return fail("signin_locked_out")
	case err != nil:
		return SignIn{}, unavailable("signin_store_unavailable", err)
	}
	var stored *password.Stored
	if user != nil {
		stored = user.Password
	}
	match, err := s.passwords.Verify(ctx, stored, in.Password)
	switch {
	case errors.Is(err, password.ErrBusy):
		_ = attempt.Return(ctx) // nothing was checked
		return SignIn{}, &Error{Code: Throttling, Reason: "signin_busy", Msg: "Too many sign-ins are in progress. Try again in a moment."}
	case err != nil:
		_ = attempt.Return(ctx)
		return SignIn{}, unavailable("signin_cancelled", err)
	case user == nil:
		return fail("signin_user_unknown")
	case stored == nil:
		return fail("signin_no_password")
	case !match:
		return fail("signin_password_wrong")
	}
	now := s.o.Clock.Now()
	out := SignIn{Principal: user.Principal, SignedInAt: now, PasswordStamp: stored.Stamp(), Origin: in.Origin}
	if devices := s.o.Directory.MFADevicesOf(user.Principal); len(devices) > 0 {
		if in.MFACode.IsZero() {
			return fail("signin_mfa_missing")
		}
		var mfaErr error
		for _, serial := range devices {
			if mfaErr = s.checkMFA(ctx, user.Principal, serial, in.MFACode, mfaMessages{incomplete: msgSignInFailed, invalid: msgSignInFailed}); mfaErr == nil {
				break
			}
		}
		if mfaErr != nil {
			if e, ok := errors.AsType[*Error](mfaErr); ok && e.Code == AccessDenied {
				return fail("signin_" + e.Reason)
			}
			return SignIn{}, mfaErr
		}
		out.MFAAt = now
	}
	_ = attempt.Return(ctx) // if it fails, the failures stay counted: the safe side
	return out, nil
}

// signInLimiter takes one failure of each of two limits.
type signInLimiter struct{ user, source attempts.Limiter }

// signInAttempt is a failure taken of both limits.
type signInAttempt struct{ user, source attempts.Attempt }

func (l *signInLimiter) take(ctx context.Context, user, source string) (signInAttempt, error) {
	a, err := l.user.Take(ctx, user)
	if err != nil {
		return signInAttempt{}, err
	}
	b, err := l.source.Take(ctx, source)
	if err != nil {
		return signInAttempt{}, errors.Join(err, a.Return(ctx))
	}
	return signInAttempt{a, b}, nil
}

// Return gives both back.
func (a *signInAttempt) Return(ctx context.Context) error {
	return errors.Join(a.user.Return(ctx), a.source.Return(ctx))
}
