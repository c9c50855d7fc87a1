package sts

import (
	"context"
	"time"

	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
)

// SignIn is a user who signed in through keyless's sign-in pages (issue
// 17): when, and when with MFA.
type SignIn struct {
	Principal  iam.Principal // a user
	SignedInAt time.Time
	MFAAt      time.Time // zero without MFA
	Origin     Origin
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

func (s *Service) signInUser(in SignIn) error {
	if in.Principal.Type != iam.User {
		return denied("signin_not_user", "Only IAM users sign in with a password.")
	}
	if _, ok := s.o.Directory.User(in.Principal.Account, in.Principal.Name); !ok {
		return denied("signin_user_unknown", "The user no longer exists.")
	}
	return nil
}
