package sts

import (
	"context"
	"errors"
	"time"

	"github.com/keyless-dev/keyless/internal/accesskey"
	"github.com/keyless-dev/keyless/internal/attempts"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Identity is GetCallerIdentity's answer.
type Identity struct {
	Account string
	ARN     string
	UserID  string
}

// GetCallerIdentity returns who the caller is. It needs no permission
// (STS API reference, GetCallerIdentity). Sessions from GetSessionToken
// report the user they belong to, as AWS does; role sessions and
// federated users report their session ARNs.
func (s *Service) GetCallerIdentity(_ context.Context, c Caller) Identity {
	return Identity{Account: c.Principal.Account, ARN: c.ARN(), UserID: c.UserID()}
}

// GetSessionTokenRequest is a validated GetSessionToken request. Duration is
// zero when the client did not send DurationSeconds.
type GetSessionTokenRequest struct {
	Duration     time.Duration
	SerialNumber string
	TokenCode    secret.String
}

// Session durations (STS API reference, GetSessionToken).
const (
	defaultUserSession = 12 * time.Hour
	rootSessionCap     = time.Hour
)

// GetSessionToken issues temporary credentials for a user or root, with MFA
// recorded when a valid code is given.
func (s *Service) GetSessionToken(ctx context.Context, c Caller, req GetSessionTokenRequest) (Credentials, error) {
	if c.Session != nil {
		return Credentials{}, denied("session_credentials", "Cannot call GetSessionToken with session credentials")
	}
	d := req.Duration
	switch {
	case c.Principal.Type == iam.Root && (d == 0 || d > rootSessionCap):
		d = rootSessionCap // root sessions are capped at one hour, silently
	case d == 0:
		d = defaultUserSession
	}
	now := s.o.Clock.Now().UTC().Truncate(time.Second)
	sess := &credential.Session{
		IssuedAt:   now,
		Expiration: now.Add(d),
		Issuer:     credential.IssuerGetSessionToken,
		Principal:  c.Principal,
	}
	if req.SerialNumber != "" || !req.TokenCode.IsZero() {
		if err := s.checkMFA(ctx, c.Principal, req.SerialNumber, req.TokenCode, mfaMessages{invalid: msgMFA, incomplete: msgMFA}); err != nil {
			return Credentials{}, err
		}
		sess.MFAAuthenticatedAt = now
	}
	return s.issue(sess)
}

// mfaMessages are the texts an action's MFA refusals carry.
type mfaMessages struct{ invalid, incomplete string }

// checkMFA verifies a TOTP code for the caller's device. A code is good for
// one use per device (RFC 6238 section 5.2), across nodes, because the used
// time step is recorded in storage by compare-and-swap. An attempt is
// counted in shared storage before the code is checked, so that no more
// than MFAMaxFailures codes per window are ever evaluated, however many
// arrive at once; an accepted code, and the same code sent again (a
// client's retry), give theirs back. Every refusal but a missing parameter
// has the same message, so the answer does not say which check failed.
func (s *Service) checkMFA(ctx context.Context, p iam.Principal, serial string, code secret.String, m mfaMessages) error {
	if serial == "" || code.IsZero() {
		return denied("mfa_incomplete", m.incomplete)
	}
	dev, ok := s.o.Directory.MFADevice(serial)
	if !ok || dev.Owner != p {
		return denied("mfa_device_not_owned", m.invalid)
	}
	attempt, err := s.mfaAttempts.Take(ctx, "mfa:"+serial)
	switch {
	case errors.Is(err, attempts.ErrLimited):
		return denied("mfa_locked_out", m.invalid)
	case err != nil:
		return unavailable("mfa_store_unavailable", err)
	}
	step, ok := dev.TOTP.Verify(dev.Seed.Reveal(), code.Reveal(), s.o.Clock.Now())
	if !ok {
		return denied("mfa_code_invalid", m.invalid) // the attempt stays counted
	}
	err = s.o.MFA.UseTOTPStep(ctx, serial, step)
	if err != nil && !errors.Is(err, storage.ErrConflict) {
		return unavailable("mfa_store_unavailable", err)
	}
	// Accepted, or a right code whose step was already used: not a guess.
	// If giving the attempt back fails, it stays counted (the safe side).
	_ = attempt.Return(ctx)
	if err != nil {
		return denied("mfa_code_reused", m.invalid)
	}
	return nil
}

// GetAccessKeyInfo returns the account that owns an access key id: from
// this deployment's directory when it knows the key, otherwise decoded from
// the id itself as AWS key ids encode it. The caller needs
// sts:GetAccessKeyInfo.
func (s *Service) GetAccessKeyInfo(_ context.Context, c Caller, accessKeyID string) (string, error) {
	if err := s.onlyFromUsersAndRoles(&c, "GetAccessKeyInfo"); err != nil {
		return "", err
	}
	sub, err := s.subject(&c)
	if err != nil {
		return "", err
	}
	if err := s.authorize(sub, access{Action: "sts:GetAccessKeyInfo", Resource: "*"}); err != nil {
		return "", err
	}
	if k, ok := s.o.Directory.AccessKey(accessKeyID); ok {
		return k.Owner.Account, nil
	}
	acct, err := accesskey.Account(accessKeyID)
	if err != nil {
		return "", &Error{Code: ValidationError, Reason: "access_key_not_decodable",
			Msg: "1 validation error detected: Value '" + accessKeyID + "' at 'accessKeyId' failed to satisfy constraint: Member must be an access key id that encodes an account"}
	}
	return acct, nil
}

// onlyFromUsersAndRoles refuses the sessions that may call only
// AssumeRole and GetCallerIdentity (GetSessionToken) or only
// GetCallerIdentity (GetFederationToken) (aws-sts.md section 5.12).
func (s *Service) onlyFromUsersAndRoles(c *Caller, action string) error {
	if c.Session != nil && (c.Session.Issuer == credential.IssuerGetSessionToken || c.Session.Issuer == credential.IssuerGetFederationToken) {
		return denied("session_credentials", "Cannot call "+action+" with session credentials")
	}
	return nil
}
