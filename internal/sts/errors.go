package sts

import "fmt"

// Code is the class of a refusal. The edge maps each to an AWS error code
// and HTTP status; nothing in this package picks either.
type Code int

// Codes.
const (
	AccessDenied                Code = iota + 1 // AccessDenied, 403
	ValidationError                             // ValidationError, 400
	InvalidClientTokenID                        // InvalidClientTokenId, 403
	ExpiredToken                                // ExpiredToken, 403
	ServiceUnavailable                          // ServiceUnavailable, 503: a dependency failed
	MalformedPolicyDocument                     // MalformedPolicyDocument, 400
	PackedPolicyTooLarge                        // PackedPolicyTooLarge, 400
	InvalidParameterValue                       // InvalidParameterValue, 400
	InvalidAuthorizationMessage                 // InvalidAuthorizationMessageException, 400
	InvalidIdentityToken                        // InvalidIdentityToken, 400
	ExpiredIdentityToken                        // ExpiredTokenException, 400
	IDPRejectedClaim                            // IDPRejectedClaim, 403
	IDPCommunicationError                       // IDPCommunicationError, 400
	OutboundFederationDisabled                  // OutboundWebIdentityFederationDisabledException, 403
	SessionDurationEscalation                   // SessionDurationEscalationException, 403
	JWTPayloadSizeExceeded                      // JWTPayloadSizeExceededException, 400
	Throttling                                  // Throttling, 429: password verification is busy
)

// Error is a refused request. Msg is what the client sees; Reason is a
// stable, secret-free code for the audit log and metrics; Cause is for the
// server log only.
type Error struct {
	Code   Code
	Msg    string
	Reason string
	Cause  error
	// Encoded is the encoded authorization message of a policy
	// decision's AccessDenied; the client sees it after Msg, the audit
	// log does not keep it.
	Encoded string
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s (%s): %v", e.Msg, e.Reason, e.Cause)
	}
	return e.Msg + " (" + e.Reason + ")"
}

func (e *Error) Unwrap() error { return e.Cause }

// Messages real AWS sends, where known (aws-sts.md section 3.8).
const (
	msgInvalidToken = "The security token included in the request is invalid."
	msgExpiredToken = "The security token included in the request is expired"
	msgMFA          = "GetSessionToken call failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."
	msgUnavailable  = "Service is temporarily unavailable. Please try again."
)

func validation(reason, msg string) *Error {
	return &Error{Code: ValidationError, Msg: msg, Reason: reason}
}

func invalidParameter(reason, msg string) *Error {
	return &Error{Code: InvalidParameterValue, Msg: msg, Reason: reason}
}

func denied(reason, msg string) *Error { return &Error{Code: AccessDenied, Msg: msg, Reason: reason} }

func invalidToken(reason string) *Error {
	return &Error{Code: InvalidClientTokenID, Msg: msgInvalidToken, Reason: reason}
}

func unavailable(reason string, cause error) *Error {
	return &Error{Code: ServiceUnavailable, Msg: msgUnavailable, Reason: reason, Cause: cause}
}
