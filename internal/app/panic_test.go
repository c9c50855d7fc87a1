package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/exchangeapi"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

// panicBody panics when a handler reads it: a bug anywhere in a surface.
type panicBody struct{}

func (panicBody) Read([]byte) (int, error) { panic("injected panic while reading the body") }
func (panicBody) Close() error             { return nil }

// TestPanicEverySurface drives a panic through every audited surface: it
// is answered in the surface's own format, audited exactly once as an
// internal failure, and leaves the audit writer with nothing in flight, so
// later group commits do not wait for an event that will never come.
func TestPanicEverySurface(t *testing.T) {
	cfg, err := config.Load("../../examples/quickstart.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	var logs bytes.Buffer
	a, err := New(context.Background(), cfg, Deps{KeyEncryption: testKEK(t), Store: store, Clock: clock.System{}, Random: rand.Reader,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	const form, jsonType = "application/x-www-form-urlencoded", "application/json"
	for _, c := range []struct {
		surface, path, ctype string
		code                 string
	}{
		{"sts", "/", form, "InternalFailure"},
		{"authorize", "/v1/authorize", jsonType, "InternalFailure"},
		{"exchange", exchangeapi.PathExchange, jsonType, "server_error"},
		{"exchange", exchangeapi.PathToken, form, "server_error"},
		{"exchange", exchangeapi.PathChallenge, jsonType, "server_error"},
		{"exchange", exchangeapi.PathExplain, jsonType, "server_error"},
		{"signin", "/saml", form, "InternalFailure"},
	} {
		req := httptest.NewRequest(http.MethodPost, c.path, nil)
		req.Body, req.ContentLength = panicBody{}, -1
		req.Header.Set("Content-Type", c.ctype)
		w := httptest.NewRecorder()
		a.Handler().ServeHTTP(w, req)
		id := w.Header().Get("x-amzn-RequestId")
		if w.Code != http.StatusInternalServerError || id == "" || !strings.Contains(w.Body.String(), c.code) {
			t.Errorf("%s %s: %d (request id %q):\n%s", c.surface, c.path, w.Code, id, w.Body.String())
		}
		var events []audit.Event
		_ = store.QueryAudit(context.Background(), storage.AuditFilter{}, func(r storage.AuditRecord) error {
			var ev audit.Event
			if err := json.Unmarshal(r.JSON, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.RequestID == id {
				events = append(events, ev)
			}
			return nil
		})
		if len(events) != 1 || events[0].ErrorCode != c.code || events[0].AdditionalEventData["reason"] != "panic" {
			t.Errorf("%s %s: events %+v", c.surface, c.path, events)
		}
		if n := a.audit.InFlight(); n != 0 {
			t.Fatalf("%s %s: %d requests still in flight in the audit writer", c.surface, c.path, n)
		}
	}
	if !strings.Contains(logs.String(), "injected panic") {
		t.Errorf("the panics were not logged:\n%s", logs.String())
	}

	// The writer is healthy: a request after the panics is answered and
	// audited.
	req := httptest.NewRequest(http.MethodPost, exchangeapi.PathChallenge, strings.NewReader(`{"audience":"keyless-quickstart"}`))
	req.Header.Set("Content-Type", jsonType)
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusOK || a.audit.InFlight() != 0 {
		t.Errorf("after the panics: %d %s", w.Code, w.Body.String())
	}
}

// testKEK is the key-encryption key source of every app in these tests:
// one random key for the whole run, so that an app built again on the
// same store opens its keys.
func testKEK(testing.TB) func(*config.Config) (*kek.Set, error) {
	return func(*config.Config) (*kek.Set, error) { return testKEKSet, nil }
}

var testKEKSet = func() *kek.Set {
	s, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		panic(err)
	}
	return s
}()
