package audit

import (
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/internal/jsontext"
)

// Event is a CloudTrail record.
type Event struct {
	EventVersion        string            `json:"eventVersion"`
	UserIdentity        UserIdentity      `json:"userIdentity"`
	EventTime           string            `json:"eventTime"`
	EventSource         string            `json:"eventSource"`
	EventName           string            `json:"eventName"`
	AWSRegion           string            `json:"awsRegion"`
	SourceIPAddress     string            `json:"sourceIPAddress"`
	UserAgent           string            `json:"userAgent"`
	ErrorCode           string            `json:"errorCode,omitempty"`
	ErrorMessage        string            `json:"errorMessage,omitempty"`
	RequestParameters   map[string]any    `json:"requestParameters"`
	ResponseElements    map[string]any    `json:"responseElements"`
	AdditionalEventData map[string]string `json:"additionalEventData,omitempty"`
	RequestID           string            `json:"requestID"`
	EventID             string            `json:"eventID"`
	ReadOnly            bool              `json:"readOnly"`
	EventType           string            `json:"eventType"`
	ManagementEvent     bool              `json:"managementEvent"`
	RecipientAccountID  string            `json:"recipientAccountId,omitempty"`
	EventCategory       string            `json:"eventCategory"`

	// Indexed alongside the event; not part of the JSON.
	IssuedKeyID string `json:"-"`
}

// UserIdentity is who made the request, as far as it was established.
type UserIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
	UserName    string `json:"userName,omitempty"`
	// IdentityProvider is set for a WebIdentityUser: the provider's host
	// and path.
	IdentityProvider string          `json:"identityProvider,omitempty"`
	SessionContext   *SessionContext `json:"sessionContext,omitempty"`
}

// SessionContext describes temporary credentials: who issued the session
// (the role, or the user of a federated user), when, with or without MFA,
// and the source identity carried through a chain of roles.
type SessionContext struct {
	SessionIssuer *SessionIssuer `json:"sessionIssuer,omitempty"`
	// WebIDFederationData names the identity provider of a session from
	// AssumeRoleWithWebIdentity.
	WebIDFederationData *WebIDFederationData `json:"webIdFederationData,omitempty"`
	Attributes          SessionAttributes    `json:"attributes"`
	SourceIdentity      string               `json:"sourceIdentity,omitempty"`
}

// WebIDFederationData is CloudTrail's record of a web identity session's
// provider.
type WebIDFederationData struct {
	FederatedProvider string `json:"federatedProvider"`
}

// SessionIssuer is the identity a session was issued for.
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// SessionAttributes are a session's creation time and MFA state.
type SessionAttributes struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// Constant fields of every event keyless writes.
const (
	EventVersion = "1.09"
	EventSource  = "sts.amazonaws.com"
	EventType    = "AwsApiCall"
	Category     = "Management"
)

// MaxField bounds every string in an event. Longer strings are cut and the
// event is marked with additionalEventData.truncated = "true".
const MaxField = 1024

// Encode renders the event as one JSON line (no trailing newline). Strings
// are cut to MaxField bytes, invalid UTF-8 is replaced with U+FFFD, and
// every control, format (bidi overrides included) and line or paragraph
// separator character is escaped as \uXXXX, so the line cannot be split or
// visually spoofed. Object keys of the free-form maps are sorted, so the
// encoding is deterministic.
func Encode(e *Event) []byte {
	truncated := false
	cut := func(s string) string {
		if len(s) <= MaxField {
			return s
		}
		n := MaxField
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		truncated = true
		return s[:n]
	}
	u := &e.UserIdentity
	u.ARN, u.PrincipalID, u.UserName, u.AccessKeyID = cut(u.ARN), cut(u.PrincipalID), cut(u.UserName), cut(u.AccessKeyID)
	u.IdentityProvider = cut(u.IdentityProvider)
	e.UserAgent, e.ErrorMessage, e.SourceIPAddress, e.RequestID = cut(e.UserAgent), cut(e.ErrorMessage), cut(e.SourceIPAddress), cut(e.RequestID)
	for k, v := range e.RequestParameters {
		if s, ok := v.(string); ok {
			e.RequestParameters[k] = cut(s)
		}
	}
	if truncated {
		if e.AdditionalEventData == nil {
			e.AdditionalEventData = map[string]string{}
		}
		e.AdditionalEventData["truncated"] = "true"
	}

	b := make([]byte, 0, 1024)
	b = append(b, `{"eventVersion":`...)
	b = jsontext.AppendString(b, e.EventVersion)
	b = append(b, `,"userIdentity":{"type":`...)
	b = jsontext.AppendString(b, u.Type)
	b = appendOptional(b, "principalId", u.PrincipalID)
	b = appendOptional(b, "arn", u.ARN)
	b = appendOptional(b, "accountId", u.AccountID)
	b = appendOptional(b, "accessKeyId", u.AccessKeyID)
	b = appendOptional(b, "userName", u.UserName)
	b = appendOptional(b, "identityProvider", u.IdentityProvider)
	if sc := u.SessionContext; sc != nil {
		b = append(b, `,"sessionContext":{`...)
		if si := sc.SessionIssuer; si != nil {
			b = append(b, `"sessionIssuer":{"type":`...)
			b = jsontext.AppendString(b, si.Type)
			for _, f := range [...]struct{ k, v string }{
				{"principalId", si.PrincipalID}, {"arn", si.ARN}, {"accountId", si.AccountID}, {"userName", si.UserName},
			} {
				b = appendKey(b, f.k)
				b = jsontext.AppendString(b, f.v)
			}
			b = append(b, `},`...)
		}
		if w := sc.WebIDFederationData; w != nil {
			b = append(b, `"webIdFederationData":{"federatedProvider":`...)
			b = jsontext.AppendString(b, w.FederatedProvider)
			b = append(b, `},`...)
		}
		b = append(b, `"attributes":{"creationDate":`...)
		b = jsontext.AppendString(b, sc.Attributes.CreationDate)
		b = append(b, `,"mfaAuthenticated":`...)
		b = jsontext.AppendString(b, sc.Attributes.MFAAuthenticated)
		b = append(b, '}')
		b = appendOptional(b, "sourceIdentity", sc.SourceIdentity)
		b = append(b, '}')
	}
	b = append(b, '}')
	for _, f := range [...]struct{ k, v string }{
		{"eventTime", e.EventTime}, {"eventSource", e.EventSource}, {"eventName", e.EventName}, {"awsRegion", e.AWSRegion},
		{"sourceIPAddress", e.SourceIPAddress}, {"userAgent", e.UserAgent},
	} {
		b = appendKey(b, f.k)
		b = jsontext.AppendString(b, f.v)
	}
	b = appendOptional(b, "errorCode", e.ErrorCode)
	b = appendOptional(b, "errorMessage", e.ErrorMessage)
	b = appendKey(b, "requestParameters")
	b = appendValue(b, e.RequestParameters)
	b = appendKey(b, "responseElements")
	b = appendValue(b, e.ResponseElements)
	if len(e.AdditionalEventData) > 0 {
		b = appendKey(b, "additionalEventData")
		b = appendValue(b, e.AdditionalEventData)
	}
	b = appendKey(b, "requestID")
	b = jsontext.AppendString(b, e.RequestID)
	b = appendKey(b, "eventID")
	b = jsontext.AppendString(b, e.EventID)
	b = append(b, `,"readOnly":`...)
	b = strconv.AppendBool(b, e.ReadOnly)
	b = appendKey(b, "eventType")
	b = jsontext.AppendString(b, e.EventType)
	b = append(b, `,"managementEvent":`...)
	b = strconv.AppendBool(b, e.ManagementEvent)
	b = appendOptional(b, "recipientAccountId", e.RecipientAccountID)
	b = appendKey(b, "eventCategory")
	b = jsontext.AppendString(b, e.EventCategory)
	return append(b, '}')
}

func appendKey(b []byte, k string) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func appendOptional(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	return jsontext.AppendString(appendKey(b, k), v)
}

// appendValue encodes the values that the free-form fields hold: strings,
// integers, booleans, and lists and maps of them. Anything else is a programming
// error and is encoded as null rather than guessed at.
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return jsontext.AppendString(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case bool:
		return strconv.AppendBool(b, v)
	case map[string]string:
		return appendMap(b, v)
	case map[string]any:
		return appendMap(b, v)
	case []string:
		return appendList(b, v)
	case []any:
		return appendList(b, v)
	case []map[string]string:
		return appendList(b, v)
	}
	return append(b, "null"...)
}

// appendList encodes a list; nil is null.
func appendList[V any](b []byte, l []V) []byte {
	if l == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, v := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendValue(b, v)
	}
	return append(b, ']')
}

// appendMap encodes a map with its keys sorted; nil is null.
func appendMap[V any](b []byte, m map[string]V) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(jsontext.AppendString(b, k), ':')
		b = appendValue(b, m[k])
	}
	return append(b, '}')
}
