package issuerapi_test

import (
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/edge/edgetest"
	"github.com/keyless-dev/keyless/internal/issuerapi"
)

const issuer = "https://keyless.example.com/oidc"

func serve(t *testing.T, rec *edgetest.Recorder, keySet *atomic.Value) http.Handler {
	t.Helper()
	h := issuerapi.New(issuerapi.Options{
		JWKS:   func() []byte { return keySet.Load().([]byte) },
		Issuer: issuer, Path: "/oidc", Accounts: []string{"0123456789abcdef0123456789abcdef"},
		Algorithms: []string{"RS256", "ES256", "ES384"}, AccountAlgorithms: []string{"RS256", "ES384"}, MaxAge: time.Hour,
	})
	e := edge.New(edge.Options{Audit: rec, Clock: clock.NewFake(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)), Random: rand.Reader,
		Logger: slog.New(slog.DiscardHandler)})
	rt, err := e.Mount(h.Surface())
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func do(h http.Handler, method, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

func TestDiscoveryAndKeySets(t *testing.T) {
	rec := &edgetest.Recorder{}
	var keySet atomic.Value
	keySet.Store([]byte(`{"keys":[{"kty":"EC","kid":"a"}]}`))
	h := serve(t, rec, &keySet)
	account := issuer + "/tokens/0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		path, iss string
		algs      []string
	}{
		{"/oidc/.well-known/openid-configuration", issuer, []string{"RS256", "ES256", "ES384"}},
		{"/oidc/tokens/0123456789abcdef0123456789abcdef/.well-known/openid-configuration", account, []string{"RS256", "ES384"}},
	} {
		w := do(h, http.MethodGet, tc.path)
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "public, max-age=3600" {
			t.Fatalf("%s: %d %v", tc.path, w.Code, w.Header())
		}
		var d struct {
			Issuer  string   `json:"issuer"`
			JWKSURI string   `json:"jwks_uri"`
			Algs    []string `json:"id_token_signing_alg_values_supported"`
			Resp    []string `json:"response_types_supported"`
			Subj    []string `json:"subject_types_supported"`
			Claims  []string `json:"claims_supported"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		if d.Issuer != tc.iss || d.JWKSURI != tc.iss+"/.well-known/jwks.json" || len(d.Algs) != len(tc.algs) || d.Algs[0] != "RS256" ||
			len(d.Resp) == 0 || len(d.Subj) == 0 || len(d.Claims) == 0 {
			t.Errorf("%s: %s", tc.path, w.Body)
		}
	}
	for _, path := range []string{"/oidc/.well-known/jwks.json", "/oidc/tokens/0123456789abcdef0123456789abcdef/.well-known/jwks.json"} {
		w := do(h, http.MethodGet, path)
		if w.Code != 200 || w.Body.String() != `{"keys":[{"kty":"EC","kid":"a"}]}` || w.Header().Get("Cache-Control") != "public, max-age=3600" {
			t.Errorf("%s: %d %s %v", path, w.Code, w.Body, w.Header())
		}
	}
	// A rotation shows at once: the key set is read per request.
	keySet.Store([]byte(`{"keys":[]}`))
	if w := do(h, http.MethodGet, "/oidc/.well-known/jwks.json"); w.Body.String() != `{"keys":[]}` {
		t.Errorf("after a key change: %s", w.Body)
	}
	if w := do(h, http.MethodHead, "/oidc/.well-known/jwks.json"); w.Code != 200 || w.Header().Get("Content-Length") != "11" {
		t.Errorf("HEAD: %d %v", w.Code, w.Header())
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodPost, "/oidc/.well-known/jwks.json", 405},
		{http.MethodDelete, "/oidc/.well-known/openid-configuration", 405},
		{http.MethodGet, "/oidc/tokens/ffffffffffffffffffffffffffffffff/.well-known/jwks.json", 404},
		{http.MethodGet, "/oidc/tokens/0123456789abcdef0123456789abcdeF/.well-known/openid-configuration", 404},
		{http.MethodGet, "/.well-known/openid-configuration", 404}, // not the issuer's path
	} {
		w := do(h, tc.method, tc.path)
		if w.Code != tc.status || w.Header().Get("Cache-Control") == "public, max-age=3600" {
			t.Errorf("%s %s: %d %v, want %d and not cached", tc.method, tc.path, w.Code, w.Header(), tc.status)
		}
		if tc.status == 405 && w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, w.Header().Get("Allow"))
		}
	}
	if n := rec.Len(); n != 0 {
		t.Errorf("%d audit events for public documents", n)
	}
}
