// Package awsprooftest builds and mutates serialized signed requests (the
// token exchange's AWS proof) for tests: headers keep their order and may
// repeat, and the body may be absent, so that hostile variants can be made.
package awsprooftest

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// Envelope is {"url", "method", "headers": [{"key", "value"}], "body"}.
type Envelope struct {
	URL, Method string
	Headers     [][2]string
	Body        *string
}

// Decode reads an envelope; it is lenient (tests decode what they made).
func Decode(b []byte) (Envelope, error) {
	var raw struct {
		URL     string `json:"url"`
		Method  string `json:"method"`
		Headers []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"headers"`
		Body *string `json:"body"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Envelope{}, err
	}
	e := Envelope{URL: raw.URL, Method: raw.Method, Body: raw.Body}
	for _, h := range raw.Headers {
		e.Headers = append(e.Headers, [2]string{h.Key, h.Value})
	}
	return e, nil
}

// Bytes serializes the envelope as written, repeats included.
func (e Envelope) Bytes() []byte {
	var hs []string
	for _, h := range e.Headers {
		hs = append(hs, `{"key":`+quote(h[0])+`,"value":`+quote(h[1])+`}`)
	}
	s := `{"url":` + quote(e.URL) + `,"method":` + quote(e.Method) + `,"headers":[` + strings.Join(hs, ",") + `]`
	if e.Body != nil {
		s += `,"body":` + quote(*e.Body)
	}
	return []byte(s + "}")
}

func quote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}

// Get returns the first value of name, in any spelling.
func (e Envelope) Get(name string) string {
	for _, h := range e.Headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

// Set replaces the value of name (its first spelling), or adds it.
func (e Envelope) Set(name, value string) Envelope {
	e.Headers = slices.Clone(e.Headers)
	for i, h := range e.Headers {
		if strings.EqualFold(h[0], name) {
			e.Headers[i][1] = value
			return e
		}
	}
	e.Headers = append(e.Headers, [2]string{name, value})
	return e
}

// Add appends a header, even one already present.
func (e Envelope) Add(name, value string) Envelope {
	e.Headers = append(slices.Clone(e.Headers), [2]string{name, value})
	return e
}

// Del removes every spelling of name.
func (e Envelope) Del(name string) Envelope {
	e.Headers = slices.DeleteFunc(slices.Clone(e.Headers), func(h [2]string) bool { return strings.EqualFold(h[0], name) })
	return e
}

// WithBody sets the body.
func (e Envelope) WithBody(b string) Envelope {
	e.Body = &b
	return e
}

// WithoutBody leaves the body member out.
func (e Envelope) WithoutBody() Envelope {
	e.Body = nil
	return e
}

// WithURL replaces the URL.
func (e Envelope) WithURL(u string) Envelope {
	e.URL = u
	return e
}

// WithMethod replaces the method.
func (e Envelope) WithMethod(m string) Envelope {
	e.Method = m
	return e
}

// EditAuthorization rewrites the Authorization value.
func (e Envelope) EditAuthorization(edit func(string) string) Envelope {
	return e.Set("authorization", edit(e.Get("authorization")))
}

// IdentityXML is a GetCallerIdentityResponse as AWS writes it.
func IdentityXML(arn, userID, account string) string {
	return `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>` + arn + `</Arn>
    <UserId>` + userID + `</UserId>
    <Account>` + account + `</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
`
}
