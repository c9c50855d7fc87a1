package awsproof

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Marshal serializes the parts of a signed request into an envelope for
// VerifyAWS: header names lower-cased and sorted, a host entry added from
// the URL if header has none. It does not filter: every header given is
// written, so the request should carry only what was signed. A header
// with several values, or given under two spellings, is an error.
func Marshal(method, rawURL string, header http.Header, body string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, errors.New("awsproof: Marshal: URL has no host")
	}
	type field struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	env := struct {
		URL     string  `json:"url"`
		Method  string  `json:"method"`
		Headers []field `json:"headers"`
		Body    string  `json:"body,omitempty"`
	}{URL: rawURL, Method: method, Headers: []field{}, Body: body}
	for name, values := range header {
		lower := strings.ToLower(name)
		if len(values) != 1 || !utf8.ValidString(values[0]) {
			return nil, errors.New("awsproof: Marshal: header " + lower + " must have exactly one UTF-8 value")
		}
		if slices.ContainsFunc(env.Headers, func(f field) bool { return f.Key == lower }) {
			return nil, errors.New("awsproof: Marshal: header " + lower + " given twice")
		}
		env.Headers = append(env.Headers, field{lower, values[0]})
	}
	if !slices.ContainsFunc(env.Headers, func(f field) bool { return f.Key == "host" }) {
		env.Headers = append(env.Headers, field{"host", u.Host})
	}
	slices.SortFunc(env.Headers, func(a, b field) int { return strings.Compare(a.Key, b.Key) })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		return nil, errors.New("awsproof: Marshal: " + err.Error())
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(out) > MaxEnvelopeBytes {
		return nil, errors.New("awsproof: Marshal: envelope longer than MaxEnvelopeBytes")
	}
	return out, nil
}
