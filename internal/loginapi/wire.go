package loginapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/keyless-dev/keyless/internal/awserrors"
	"github.com/keyless-dev/keyless/internal/dpop"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/jsontext"
	"github.com/keyless-dev/keyless/internal/login"
)

// wire is the signin service's rest-json format: answers as JSON, errors
// as {"error": CODE, "message": ...} with the exception's shape name in
// x-amzn-errortype (signin-and-issuer.md section 1.2). A refusal's Code
// is the OAuth2 error code the clients switch on (and the event's
// errorCode); its shape follows from it.
type wire struct{}

// shapes are the exceptions each code is sent as.
var shapes = map[string]string{
	string(login.TokenExpired):            "AccessDeniedException",
	string(login.AuthcodeExpired):         "AccessDeniedException",
	string(login.CredentialsChanged):      "AccessDeniedException",
	string(login.InsufficientPermissions): "AccessDeniedException",
	string(login.InvalidRequest):          "ValidationException",
	codeThrottled:                         "TooManyRequestsError",
	codeServerError:                       "InternalServerException",
}

const (
	codeThrottled   = "TOO_MANY_REQUESTS"
	codeServerError = "server_error"
)

// Refuse is the token call's one error table.
func (wire) Refuse(err error) edge.Refusal {
	if le, ok := errors.AsType[*login.Error](err); ok {
		status := http.StatusBadRequest
		switch le.Code {
		case login.TokenExpired, login.AuthcodeExpired:
			status = http.StatusUnauthorized
		case login.CredentialsChanged, login.InsufficientPermissions:
			status = http.StatusForbidden
		}
		return edge.Refusal{Code: string(le.Code), Message: le.Msg, Status: status, Reason: le.Reason}
	}
	if de, ok := errors.AsType[*dpop.Error](err); ok {
		return edge.Refusal{Code: string(login.InvalidRequest), Message: de.Msg, Status: http.StatusBadRequest, Reason: de.Reason}
	}
	if errors.Is(err, errMethod) {
		return edge.Refusal{Code: string(login.InvalidRequest), Message: "Only POST is allowed here.", Status: http.StatusMethodNotAllowed,
			Reason: "method_not_allowed"}
	}
	if ee, ok := errors.AsType[*edge.Error](err); ok {
		switch ee.Failure {
		case edge.Throttled:
			return edge.Refusal{Code: codeThrottled, Message: "Too many requests; retry later.", Status: http.StatusTooManyRequests, Reason: "throttled"}
		case edge.BodyTooLarge, edge.BodyUnreadable:
			return edge.Refusal{Code: string(login.InvalidRequest), Message: "The request body is too large or unreadable.",
				Status: http.StatusBadRequest, Reason: "body_invalid"}
		case edge.AuditUnavailable:
			return edge.Refusal{Code: codeServerError, Message: awserrors.MsgUnavailable, Status: http.StatusServiceUnavailable,
				Reason: "audit_unavailable", Cause: ee}
		case edge.Unavailable:
			return edge.Refusal{Code: codeServerError, Message: awserrors.MsgUnavailable, Status: http.StatusServiceUnavailable,
				Reason: "not_accepting", Cause: ee}
		case edge.Panicked:
			return edge.Refusal{Code: codeServerError, Message: awserrors.MsgInternal, Status: http.StatusInternalServerError, Reason: "panic", Cause: ee}
		}
	}
	return edge.Refusal{Code: codeServerError, Message: awserrors.MsgInternal, Status: http.StatusInternalServerError, Reason: "internal", Cause: err}
}

// Write writes the answer or the refusal.
func (wire) Write(w http.ResponseWriter, c *edge.Call, a any, f *edge.Refusal) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store") // RFC 6749 section 5.1
	hdr.Set("Pragma", "no-cache")
	ans, ok := a.(answer)
	if f == nil && !ok {
		f = &edge.Refusal{Code: codeServerError, Message: awserrors.MsgInternal, Status: http.StatusInternalServerError}
	}
	var out []byte
	status := http.StatusOK
	if f != nil {
		status = f.Status
		shape, ok := shapes[f.Code]
		if !ok {
			shape = "ValidationException" // a code of the edge's shared table
		}
		hdr.Set("x-amzn-errortype", shape)
		out = jsontext.AppendString(append(out, `{"error":`...), f.Code)
		out = jsontext.AppendString(append(out, `,"message":`...), f.Message)
		out = append(out, '}')
	} else {
		out = ans.AppendJSON(make([]byte, 0, 2048))
	}
	out = append(out, '\n')
	hdr.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	_, _ = w.Write(out)
}
