package idtoken

import "errors"

// Kind classifies a refusal the way STS answers it.
type Kind uint8

// Kinds.
const (
	// Invalid: the token cannot be validated (InvalidIdentityToken).
	Invalid Kind = iota + 1
	// Expired: valid but past exp (ExpiredTokenException).
	Expired
	// Unavailable: the provider's keys could not be fetched and none
	// usable are cached (IDPCommunicationError).
	Unavailable
)

// Error is a refusal. Msg is safe to show the caller: it never contains
// the token or a claim value other than the issuer. Reason is a stable
// code for the audit log.
type Error struct {
	Kind   Kind
	Reason string
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Messages AWS sends (aws-sts.md section 4.2).
const (
	msgNotJWT    = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
	msgAudience  = "Incorrect token audience"
	msgNoKey     = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
	msgSignature = "The signature of the ID Token could not be verified."
	msgClaims    = "The ID Token has invalid claims."
)

func invalid(reason, msg string) *Error { return &Error{Kind: Invalid, Reason: reason, Msg: msg} }

// Errors a KeySource returns.
var (
	// ErrUnknownKey: the provider publishes no key with that id (after
	// whatever refresh the source allows).
	ErrUnknownKey = errors.New("idtoken: no such key")
	// ErrUnavailable: the provider's keys cannot be fetched and no usable
	// copy is cached.
	ErrUnavailable = errors.New("idtoken: identity provider unavailable")
)
