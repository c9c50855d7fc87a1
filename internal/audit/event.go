package audit

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
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
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
}

// SessionContext describes temporary credentials.
type SessionContext struct {
	Attributes SessionAttributes `json:"attributes"`
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
// are cut to MaxField bytes, invalid UTF-8 is replaced, and every control,
// format (bidi overrides included) and line/paragraph separator character is
// escaped as \uXXXX, so the line cannot be split or visually spoofed.
func Encode(e *Event) []byte {
	truncated := false
	cut := func(s *string) {
		if len(*s) > MaxField {
			n := MaxField
			for n > 0 && !utf8.RuneStart((*s)[n]) {
				n--
			}
			*s = (*s)[:n]
			truncated = true
		}
	}
	for _, s := range []*string{&e.UserAgent, &e.ErrorMessage, &e.SourceIPAddress, &e.UserIdentity.ARN,
		&e.UserIdentity.PrincipalID, &e.UserIdentity.UserName, &e.UserIdentity.AccessKeyID, &e.RequestID} {
		cut(s)
	}
	for k, v := range e.RequestParameters {
		if s, ok := v.(string); ok {
			cut(&s)
			e.RequestParameters[k] = s
		}
	}
	if truncated {
		if e.AdditionalEventData == nil {
			e.AdditionalEventData = map[string]string{}
		}
		e.AdditionalEventData["truncated"] = "true"
	}
	b, err := json.Marshal(e)
	if err != nil {
		// Only strings, numbers, bools and maps of them: cannot happen.
		panic("audit: encode event: " + err.Error())
	}
	return escapeUnsafe(b)
}

// escapeUnsafe rewrites characters encoding/json leaves raw but that a
// terminal or log viewer would interpret. Any non-ASCII rune in the output
// is inside a JSON string, so the \u escape is always valid there.
func escapeUnsafe(b []byte) []byte {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii || bytes.IndexFunc(b, unsafeRune) < 0 {
		return b // encoding/json already escaped every ASCII control
	}
	out := make([]byte, 0, len(b)+16)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if unsafeRune(r) {
			units := []rune{r}
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				units = []rune{r1, r2}
			}
			for _, u := range units {
				out = append(out, `\u`...)
				h := strconv.FormatUint(uint64(u), 16)
				for len(h) < 4 {
					h = "0" + h
				}
				out = append(out, h...)
			}
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}

func unsafeRune(r rune) bool {
	return r >= 0x80 && (unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r))
}
