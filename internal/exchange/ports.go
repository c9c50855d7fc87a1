package exchange

import (
	"context"
	"time"
)

// AWSIdentity is what an upstream STS answered to a workload's signed
// GetCallerIdentity request (STS API reference, GetCallerIdentity).
type AWSIdentity struct {
	ARN     string // arn:aws:iam::123456789012:user/Name, arn:aws:sts::123456789012:assumed-role/Role/Session
	Account string // 12 digits, the ARN's account
	UserID  string // AIDA..., AROA...:Session
	// AccessKeyID is the key the workload signed with, from the request's
	// credential scope.
	AccessKeyID string
	// Endpoint is the host (and port, if any) the request was sent to,
	// exactly as signed: an allowed one is lower-case.
	Endpoint string
	// Upstream reports that Endpoint is an STS the operator configured,
	// not a public AWS endpoint: its answers are only as good as it is.
	Upstream bool
	// SignedAt is the request's X-Amz-Date.
	SignedAt time.Time
	// NotAfter is when the session that signed the request ends, when
	// the verifier can see it: only for a session token this deployment
	// sealed. It only caps what the exchange issues; the upstream's
	// answer alone says who signed.
	NotAfter time.Time
}

// AWSVerifier checks a serialized, signed GetCallerIdentity request bound
// to audience and has an upstream STS execute it.
//
// An error that has a method Unavailable() bool returning true means the
// upstream could not be reached or answered 5xx: the caller should retry
// later. Any other error is a refusal. An error with a method
// Reason() string names the failed check for the audit log and explain.
type AWSVerifier interface {
	VerifyAWS(ctx context.Context, envelope []byte, audience string) (AWSIdentity, error)
}
