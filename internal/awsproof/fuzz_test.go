package awsproof

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/awsproof/awsprooftest"
)

// FuzzEnvelope: no input panics, every failure is an *Error, and even an
// upstream that answers every request with an identity never makes
// VerifyAWS accept, or send, anything but the allowed method, URL and
// body (security.md V-01, GCIX-02..05).
func FuzzEnvelope(f *testing.F) {
	var bad atomic.Int64 // requests the mock should never have seen
	h := newHarness(f, func(_ *mockSTS, w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 64)
		n, _ := r.Body.Read(body)
		form := r.Method == http.MethodPost &&
			(r.RequestURI == "/?"+Body && n == 0 || r.RequestURI == "/" && string(body[:n]) == Body)
		if !form {
			bad.Add(1)
		}
		writeXML(w, 200, awsprooftest.IdentityXML(testARN, testUserID, testAccount))
	}, func(o *Options) {
		o.UseOnce = func(context.Context, string, time.Time) error { return nil }
	})

	f.Add(sign(f, spec{}))
	f.Add(sign(f, spec{bodyForm: true}))
	f.Add(sign(f, spec{host: "sts.us-east-2.amazonaws.com", region: "us-east-2", noToken: true}))
	for _, c := range hostileCases(f) {
		f.Add(c.env)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := h.v.VerifyAWS(context.Background(), b, testAudience)
		if n := bad.Load(); n != 0 {
			t.Fatalf("the upstream received %d requests of another form", n)
		}
		if err != nil {
			e, ok := errors.AsType[*Error](err)
			if !ok || e.Reason() == "" {
				t.Fatalf("err = %v (%T), want *Error with a reason", err, err)
			}
			noSecrets(t, err.Error())
			return
		}
		// Accepted: the envelope must be one of the allowed forms.
		var env struct {
			URL    string  `json:"url"`
			Method string  `json:"method"`
			Body   *string `json:"body"`
		}
		d := json.NewDecoder(bytes.NewReader(b))
		if err := d.Decode(&env); err != nil {
			t.Fatalf("accepted an envelope encoding/json cannot read: %v", err)
		}
		rest, ok := strings.CutPrefix(env.URL, "https://")
		host, path := rest, ""
		if i := strings.IndexAny(rest, "/?"); i >= 0 {
			host, path = rest[:i], rest[i:]
		}
		body := ""
		if env.Body != nil {
			body = *env.Body
		}
		lower := strings.ToLower(host)
		_, _, known := awsEndpoint(lower, []string{"aws"})
		switch {
		case !ok || !known || env.Method != "POST":
			t.Fatalf("accepted url %q method %q", env.URL, env.Method)
		// An empty path is "/" (Google's clients send it; TestGoogleEmptyPath).
		case (path == "/?"+Body || path == "?"+Body) && body == "", (path == "/" || path == "") && body == Body:
		default:
			t.Fatalf("accepted url %q body %q", env.URL, body)
		}
		if id.Endpoint != lower || id.ARN != testARN || id.AccessKeyID != testAKID {
			t.Fatalf("identity = %+v for url %q", id, env.URL)
		}
	})
}
