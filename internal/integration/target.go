package integration

import (
	"context"
	"time"

	"github.com/keyless-dev/keyless/internal/secret"
)

// Credentials are a target account's temporary credentials (or, as a
// caller of the target, an access key without a token).
type Credentials struct {
	AccessKeyID  string
	Secret       secret.String
	SessionToken secret.String
	Expiration   time.Time
}

// Session is what an AssumeRole* call at the target returned.
type Session struct {
	Credentials
	AssumedRoleARN string // empty for GetSessionToken
}

// WebIdentityRequest is an AssumeRoleWithWebIdentity at the target.
type WebIdentityRequest struct {
	RoleARN, SessionName string
	Duration             time.Duration
	Token                secret.String
}

// RoleRequest is an AssumeRole at the target.
type RoleRequest struct {
	RoleARN, SessionName, ExternalID string
	Duration                         time.Duration
}

// Target is a target account's STS (package stsclient).
type Target interface {
	AssumeRoleWithWebIdentity(ctx context.Context, ep Endpoint, r WebIdentityRequest) (Session, error)
	AssumeRole(ctx context.Context, ep Endpoint, key Credentials, r RoleRequest) (Session, error)
	GetSessionToken(ctx context.Context, ep Endpoint, key Credentials, d time.Duration) (Session, error)
	// GetCallerIdentity returns the ARN the credentials belong to.
	GetCallerIdentity(ctx context.Context, ep Endpoint, c Credentials) (string, error)
}

// TargetError is a refusal or failure of the target's STS.
type TargetError struct {
	// Code and Message are the target's error, when it answered one.
	Code, Message string
	Status        int
	// Unreachable: no answer (connection refused, timeout, TLS, an
	// address the outbound rules refuse).
	Unreachable bool
	Cause       error
}

func (e *TargetError) Error() string {
	if e.Unreachable {
		return "target STS unreachable: " + e.Cause.Error()
	}
	return "target STS answered " + e.Code + ": " + e.Message
}

func (e *TargetError) Unwrap() error { return e.Cause }
