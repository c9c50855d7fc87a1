package stsapi

import (
	"errors"
	"net/http"

	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/sts"
)

// wireError is a refusal as it goes on the wire: AWS error code, message,
// HTTP status, and the audit reason.
type wireError struct {
	code   string
	msg    string
	status int
	reason string
	cause  error
	// encoded is an encoded authorization message, sent after msg but
	// not recorded in the audit event.
	encoded string
}

func (e *wireError) Error() string { return e.code + ": " + e.msg }
func (e *wireError) Unwrap() error { return e.cause }

// stsCodes maps domain refusals to AWS codes and statuses (aws-sts.md
// sections 1.2 and 3.8).
var stsCodes = map[sts.Code]struct {
	code   string
	status int
}{
	sts.AccessDenied:                {"AccessDenied", http.StatusForbidden},
	sts.ValidationError:             {"ValidationError", http.StatusBadRequest},
	sts.InvalidClientTokenID:        {"InvalidClientTokenId", http.StatusForbidden},
	sts.ExpiredToken:                {"ExpiredToken", http.StatusForbidden},
	sts.ServiceUnavailable:          {"ServiceUnavailable", http.StatusServiceUnavailable},
	sts.MalformedPolicyDocument:     {"MalformedPolicyDocument", http.StatusBadRequest},
	sts.PackedPolicyTooLarge:        {"PackedPolicyTooLarge", http.StatusBadRequest},
	sts.InvalidParameterValue:       {"InvalidParameterValue", http.StatusBadRequest},
	sts.InvalidAuthorizationMessage: {"InvalidAuthorizationMessageException", http.StatusBadRequest},
	sts.InvalidIdentityToken:        {"InvalidIdentityToken", http.StatusBadRequest},
	sts.ExpiredIdentityToken:        {"ExpiredTokenException", http.StatusBadRequest},
	sts.IDPRejectedClaim:            {"IDPRejectedClaim", http.StatusForbidden},
	sts.IDPCommunicationError:       {"IDPCommunicationError", http.StatusBadRequest},
}

// sigv4Codes maps signature failures (IAM User Guide, "Troubleshoot
// signatures"; STS common errors).
var sigv4Codes = map[sigv4.Failure]struct {
	code   string
	status int
	reason string
}{
	sigv4.Missing:    {"MissingAuthenticationToken", http.StatusForbidden, "signature_missing"},
	sigv4.Incomplete: {"IncompleteSignature", http.StatusBadRequest, "signature_incomplete"},
	sigv4.Mismatch:   {"SignatureDoesNotMatch", http.StatusForbidden, "signature_mismatch"},
}

// toWire is the one place that turns an error into what the client sees.
// Anything unrecognised is an internal failure whose details stay in the
// server log.
func toWire(err error) *wireError {
	var (
		we *wireError
		se *sts.Error
		ve *sigv4.Error
		pe *awsquery.ParseError
	)
	switch {
	case errors.As(err, &we):
		return we
	case errors.As(err, &se):
		if c, ok := stsCodes[se.Code]; ok {
			return &wireError{code: c.code, msg: se.Msg, status: c.status, reason: se.Reason, cause: se.Cause, encoded: se.Encoded}
		}
	case errors.As(err, &ve):
		if c, ok := sigv4Codes[ve.Failure]; ok {
			return &wireError{code: c.code, msg: ve.Msg, status: c.status, reason: c.reason}
		}
	case errors.As(err, &pe):
		return &wireError{code: pe.Code, msg: pe.Msg, status: http.StatusBadRequest, reason: "invalid_request"}
	}
	return &wireError{code: "InternalFailure", msg: "An internal error occurred.", status: http.StatusInternalServerError, reason: "internal", cause: err}
}

// wireMessage is the message the client sees: with an encoded
// authorization message appended the way AWS services append it.
func (e *wireError) wireMessage() string {
	if e.encoded == "" {
		return e.msg
	}
	return e.msg + " Encoded authorization failure message: " + e.encoded
}

func unavailable(reason string, cause error) error {
	return &wireError{code: "ServiceUnavailable", msg: "Service is temporarily unavailable. Please try again.",
		status: http.StatusServiceUnavailable, reason: reason, cause: cause}
}

// Refusal is how an error goes on the wire, for the other edges (the
// authorization API) that answer with AWS error codes: the one table is
// here.
type Refusal struct {
	Code, Message, Encoded, Reason string
	Status                         int
}

// Describe maps err through the AWS error table.
func Describe(err error) Refusal {
	w := toWire(err)
	return Refusal{Code: w.code, Message: w.msg, Encoded: w.encoded, Reason: w.reason, Status: w.status}
}
