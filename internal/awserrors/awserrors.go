package awserrors

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/sts"
)

// Messages shared by several refusals.
const (
	MsgInternal    = "An internal error occurred."
	MsgUnavailable = "Service is temporarily unavailable. Please try again."
)

type codeStatus struct {
	code   string
	status int
}

// stsCodes maps domain refusals.
var stsCodes = map[sts.Code]codeStatus{
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
	sts.OutboundFederationDisabled:  {"OutboundWebIdentityFederationDisabledException", http.StatusForbidden},
	sts.SessionDurationEscalation:   {"SessionDurationEscalationException", http.StatusForbidden},
	sts.JWTPayloadSizeExceeded:      {"JWTPayloadSizeExceededException", http.StatusBadRequest},
	sts.Throttling:                  {"Throttling", http.StatusTooManyRequests},
}

// sigv4Codes maps signature failures (IAM User Guide, "Troubleshoot
// signatures"; STS common errors).
var sigv4Codes = map[sigv4.Failure]struct {
	codeStatus
	reason string
}{
	sigv4.Missing:    {codeStatus{"MissingAuthenticationToken", http.StatusForbidden}, "signature_missing"},
	sigv4.Incomplete: {codeStatus{"IncompleteSignature", http.StatusBadRequest}, "signature_incomplete"},
	sigv4.Mismatch:   {codeStatus{"SignatureDoesNotMatch", http.StatusForbidden}, "signature_mismatch"},
}

// Refuse maps err to its AWS refusal.
func Refuse(err error) edge.Refusal {
	if e, ok := errors.AsType[*sts.Error](err); ok {
		if c, ok := stsCodes[e.Code]; ok {
			return edge.Refusal{Code: c.code, Message: e.Msg, Status: c.status, Reason: e.Reason, Cause: e.Cause, Detail: e.Encoded}
		}
	}
	if e, ok := errors.AsType[*sigv4.Error](err); ok {
		if c, ok := sigv4Codes[e.Failure]; ok {
			return edge.Refusal{Code: c.code, Message: e.Msg, Status: c.status, Reason: c.reason}
		}
	}
	if e, ok := errors.AsType[*awsquery.ParseError](err); ok {
		return edge.Refusal{Code: e.Code, Message: e.Msg, Status: http.StatusBadRequest, Reason: "invalid_request"}
	}
	if e, ok := errors.AsType[*edge.Error](err); ok {
		switch e.Failure {
		case edge.Panicked:
			return edge.Refusal{Code: "InternalFailure", Message: MsgInternal, Status: http.StatusInternalServerError, Reason: "panic", Cause: e}
		case edge.AuditUnavailable:
			return Unavailable("audit_unavailable", e)
		case edge.Unavailable:
			return Unavailable("not_accepting", e)
		case edge.Throttled:
			// STS's common error for a request rate over the limit.
			return edge.Refusal{Code: "Throttling", Message: "Rate exceeded", Status: http.StatusBadRequest, Reason: "throttled"}
		case edge.BodyTooLarge:
			return edge.Refusal{Code: "RequestEntityTooLarge", Message: fmt.Sprintf("Request body must be at most %d bytes.", e.Limit),
				Status: http.StatusRequestEntityTooLarge, Reason: "body_too_large"}
		case edge.BodyUnreadable:
			return edge.Refusal{Code: "IncompleteBody", Message: "The request body could not be read.", Status: http.StatusBadRequest,
				Reason: "body_unreadable", Cause: e}
		}
	}
	return edge.Refusal{Code: "InternalFailure", Message: MsgInternal, Status: http.StatusInternalServerError, Reason: "internal", Cause: err}
}

// Unavailable is a 503 ServiceUnavailable refusal.
func Unavailable(reason string, cause error) edge.Refusal {
	return edge.Refusal{Code: "ServiceUnavailable", Message: MsgUnavailable, Status: http.StatusServiceUnavailable, Reason: reason, Cause: cause}
}

// New is a refusal a surface makes itself: a code of its own wire, such
// as NotFound or MethodNotAllowed.
func New(code string, status int, reason, msg string) *edge.Refusal {
	return &edge.Refusal{Code: code, Message: msg, Status: status, Reason: reason}
}
