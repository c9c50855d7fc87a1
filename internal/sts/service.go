package sts

import (
	"context"
	"errors"
	"github.com/keyless-dev/keyless/internal/password"
	"io"
	"time"

	"github.com/keyless-dev/keyless/internal/accesskey"
	"github.com/keyless-dev/keyless/internal/attempts"
	"github.com/keyless-dev/keyless/internal/authmsg"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/saml"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Options wire a Service.
type Options struct {
	Directory *iam.Directory
	Tokens    *credential.TokenSealer
	Messages  *authmsg.MessageSealer
	// MFA records the time steps of accepted codes (RFC 6238 section 5.2).
	MFA storage.MFA
	// Attempts counts the codes tried on each device, in storage every
	// node shares.
	Attempts storage.Attempts
	Clock    clock.Clock
	// MFAMaxFailures wrong codes per device per MFALockoutWindow (fixed
	// windows: the clock truncated to it) lock the device until the window
	// ends: every code, the right one too, is refused. Each code takes an
	// attempt in Attempts before it is checked, so that concurrent guesses
	// cannot get more than this many evaluated; an accepted code, and the
	// same code sent again (a client's retry), give theirs back.
	MFAMaxFailures   int
	MFALockoutWindow time.Duration
	// RevokedBefore returns the time before which the sessions of a
	// principal (by unique id) are revoked; zero if they are not.
	RevokedBefore func(uniqueID string) time.Time
	// ProviderKeys returns an OIDC provider's key set.
	ProviderKeys func(*iam.OIDCProvider) idtoken.KeySource
	// SAML verifies SAML Responses; SAMLExpect is what they must show
	// (its Issuer is filled per provider). Without SAML every assertion
	// is refused.
	SAML       saml.Verifier
	SAMLExpect saml.Expectations
	// Issuers signs the tokens of GetWebIdentityToken; without it the
	// call is refused as for an account that has not enabled it.
	Issuers *Issuers
	// Random makes token ids (jti).
	Random io.Reader
	// SingleUse spends SAML assertion IDs (storage.SingleUse).
	SingleUse interface {
		UseOnce(ctx context.Context, key string, until, now time.Time) error
	}
	// Passwords verifies console passwords, a bounded number at once;
	// without it every password sign-in is refused.
	Passwords *password.Checker
	// SignInLimits bound failed password sign-ins (in Attempts).
	SignInLimits SignInLimits
}

// Service carries out STS actions.
type Service struct {
	o           Options
	compiled    policyCache // inline session policies, by text
	mfaAttempts attempts.Limiter
	// passwords and signInAttempts check password sign-ins.
	passwords      *password.Checker
	signInAttempts signInLimiter
}

// New returns a Service.
func New(o Options) *Service {
	limit := func(n int) attempts.Limiter {
		return attempts.Limiter{Store: o.Attempts, Max: max(n, 1), Window: max(o.SignInLimits.Window, time.Minute), Clock: o.Clock}
	}
	return &Service{o: o, mfaAttempts: attempts.Limiter{Store: o.Attempts, Max: o.MFAMaxFailures, Window: o.MFALockoutWindow, Clock: o.Clock},
		passwords: o.Passwords, signInAttempts: signInLimiter{user: limit(o.SignInLimits.PerUser), source: limit(o.SignInLimits.PerSource)}}
}

// Credentials are temporary credentials as issued to a client.
type Credentials struct {
	AccessKeyID  string
	Secret       secret.String
	SessionToken secret.String
	Expiration   time.Time
}

// SigningCredentials are what a request claims to be signed with, found
// before the signature is checked.
type SigningCredentials struct {
	Secret secret.String
	Caller Caller
}

// LookupCredentials finds the secret and identity behind an access key id
// and, for temporary credentials, the session token. It does not check
// expiry: call CheckCaller once the signature has been verified.
func (s *Service) LookupCredentials(ctx context.Context, accessKeyID, sessionToken string) (SigningCredentials, error) {
	if accesskey.IsTemporary(accessKeyID) {
		if sessionToken == "" {
			return SigningCredentials{}, invalidToken("session_token_missing")
		}
		sess, err := s.o.Tokens.Open(ctx, accessKeyID, sessionToken)
		switch {
		case errors.Is(err, credential.ErrInvalidToken):
			return SigningCredentials{}, invalidToken("session_token_invalid")
		case err != nil:
			return SigningCredentials{}, unavailable("key_ring_unavailable", err)
		}
		return SigningCredentials{Secret: sess.Secret, Caller: Caller{Principal: sess.Principal, AccessKeyID: accessKeyID, Session: &sess}}, nil
	}
	key, ok := s.o.Directory.AccessKey(accessKeyID)
	switch {
	case !ok:
		return SigningCredentials{}, invalidToken("access_key_unknown")
	case sessionToken != "":
		// A long-term key never comes with a session token (hostile input
		// SIG-25): refusing it keeps the two kinds of key from mixing.
		return SigningCredentials{}, invalidToken("session_token_with_long_term_key")
	case !key.Active:
		return SigningCredentials{}, invalidToken("access_key_inactive")
	}
	return SigningCredentials{Secret: key.Secret, Caller: Caller{Principal: key.Owner, AccessKeyID: accessKeyID}}, nil
}

// CheckCaller applies the checks that follow a verified signature: a
// session must not have expired or been revoked, and its principal must
// still exist with the same unique id (decrypting a token is never enough
// on its own). A revoked session is refused as an invalid token, for every
// action including GetCallerIdentity (docs/compatibility.md).
func (s *Service) CheckCaller(c Caller) error {
	if c.Session == nil {
		return nil
	}
	if !s.o.Clock.Now().Before(c.Session.Expiration) {
		return &Error{Code: ExpiredToken, Msg: msgExpiredToken, Reason: "session_expired"}
	}
	if !s.o.Directory.Exists(c.Principal) {
		return invalidToken("session_principal_gone")
	}
	if s.o.RevokedBefore != nil && c.Session.IssuedAt.Before(s.o.RevokedBefore(c.Principal.UniqueID)) {
		return invalidToken("session_revoked")
	}
	return nil
}
