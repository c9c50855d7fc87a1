package sts

import (
	"context"
	"errors"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/authmsg"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
)

// GetFederationTokenRequest is a shape-validated GetFederationToken request
// (STS API reference, GetFederationToken).
type GetFederationTokenRequest struct {
	Name       string
	Duration   time.Duration
	Policy     string
	PolicyARNs []string
	Tags       []credential.Tag
}

// GetFederationTokenResult is what GetFederationToken returns.
type GetFederationTokenResult struct {
	Credentials      Credentials
	FederatedUserARN string
	FederatedUserID  string
	PackedPolicySize int
}

// Federation token durations (aws-sts.md section 5.3).
const defaultFederationSession = 12 * time.Hour

// GetFederationToken issues credentials for a federated user named by the
// caller. Its permissions are the caller's identity policies intersected
// with the session policies; with no session policy it has none.
func (s *Service) GetFederationToken(_ context.Context, c Caller, req GetFederationTokenRequest) (GetFederationTokenResult, error) {
	if c.Session != nil {
		return GetFederationTokenResult{}, denied("session_credentials", "Cannot call GetFederationToken with session credentials")
	}
	sub, err := s.subject(&c)
	if err != nil {
		return GetFederationTokenResult{}, err
	}
	tags, err := sessionTags(nil, req.Tags, nil)
	if err != nil {
		return GetFederationTokenResult{}, err
	}
	if req.Policy != "" {
		if _, err := s.parseSessionPolicy(req.Policy); err != nil {
			return GetFederationTokenResult{}, err
		}
	}
	fedARN := arn.FederatedUser(c.Principal.Account, req.Name)
	a := access{Action: "sts:GetFederationToken", Resource: fedARN}
	if err := s.authorize(sub, a); err != nil {
		return GetFederationTokenResult{}, err
	}
	if len(tags) > 0 {
		a.Action = "sts:TagSession"
		if err := s.authorize(sub, a); err != nil {
			return GetFederationTokenResult{}, err
		}
	}
	if err := s.checkPolicyARNs(req.PolicyARNs, c.Principal.Account); err != nil {
		return GetFederationTokenResult{}, err
	}
	packed := credential.Pack(credential.Attributes{Policy: req.Policy, PolicyARNs: req.PolicyARNs, Tags: tags})
	if err := packedFits(packed); err != nil {
		return GetFederationTokenResult{}, err
	}
	d := req.Duration
	switch {
	case c.Principal.Type == iam.Root && (d == 0 || d > rootSessionCap):
		d = rootSessionCap // root: at most an hour, and an hour by default
	case d == 0:
		d = defaultFederationSession
	}
	now := s.o.Clock.Now().UTC().Truncate(time.Second)
	creds, err := s.issue(&credential.Session{
		IssuedAt:   now,
		Expiration: now.Add(d),
		Issuer:     credential.IssuerGetFederationToken,
		Principal:  c.Principal,
		Name:       req.Name,
		Packed:     packed,
	})
	if err != nil {
		return GetFederationTokenResult{}, err
	}
	return GetFederationTokenResult{Credentials: creds, FederatedUserARN: fedARN,
		FederatedUserID: c.Principal.Account + ":" + req.Name, PackedPolicySize: packed.Percent()}, nil
}

// DecodeAuthorizationMessage opens an encoded authorization message for
// a caller of the account whose principal was denied. The caller needs
// sts:DecodeAuthorizationMessage.
func (s *Service) DecodeAuthorizationMessage(ctx context.Context, c Caller, encoded string) (string, error) {
	if err := s.onlyFromUsersAndRoles(&c, "DecodeAuthorizationMessage"); err != nil {
		return "", err
	}
	sub, err := s.subject(&c)
	if err != nil {
		return "", err
	}
	if err := s.authorize(sub, access{Action: "sts:DecodeAuthorizationMessage", Resource: "*"}); err != nil {
		return "", err
	}
	plain, err := s.o.Messages.Open(ctx, c.Principal.Account, encoded)
	switch {
	case errors.Is(err, authmsg.ErrInvalid):
		return "", &Error{Code: InvalidAuthorizationMessage, Reason: "authorization_message_invalid",
			Msg: "The encoded authorization message is invalid, was issued for another account, or has expired."}
	case err != nil:
		return "", unavailable("key_ring_unavailable", err)
	}
	return string(plain), nil
}
