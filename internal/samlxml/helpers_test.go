package samlxml

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/saml"
	"github.com/keyless-dev/keyless/internal/samlxml/samlxmltest"
)

const testEntityID = "https://idp.example.test/metadata"

func testNow() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// testIDP is one IdP shared by the package's tests: RSA key generation is
// the slow part of a test.
var testIDP = sync.OnceValue(func() *samlxmltest.IdP { return samlxmltest.NewIdP(testEntityID) })

// attackerIDP claims the same entity ID with its own key.
var attackerIDP = sync.OnceValue(func() *samlxmltest.IdP { return samlxmltest.NewIdP(testEntityID) })

func verify(xml []byte) (*saml.Assertion, error) {
	return New(Options{}).Verify(context.Background(), samlxmltest.Encode(xml), testIDP().Keys(), testNow())
}

// wantRefused asserts that err is exactly the refusal kind/reason, with
// the fixed client message and nothing of the document in it.
func wantRefused(t *testing.T, err error, signature bool, reason string) {
	t.Helper()
	var se *saml.Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want *saml.Error %q", err, err, reason)
	}
	msg := saml.MsgInvalidResponse
	if signature {
		msg = saml.MsgSignatureInvalid
	}
	if se.Kind != saml.Invalid || se.Reason != reason || se.Msg != msg {
		t.Fatalf("refusal = {kind %d, %q, %q}, want {Invalid, %q, %q}", se.Kind, se.Reason, se.Msg, reason, msg)
	}
	if got := err.Error(); got != msg+" ("+reason+")" {
		t.Fatalf("Error() = %q leaks more than the fixed message", got)
	}
}

// replaceOnce replaces the one occurrence of old in x.
func replaceOnce(t *testing.T, x []byte, old, new string) []byte {
	t.Helper()
	if n := bytes.Count(x, []byte(old)); n != 1 {
		t.Fatalf("%q occurs %d times, want 1", old, n)
	}
	return bytes.Replace(x, []byte(old), []byte(new), 1)
}

// bounded runs f and fails if it takes longer than d or allocates more
// than maxAlloc bytes (SAML-25: bounded time and memory).
func bounded(t *testing.T, d time.Duration, maxAlloc uint64, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if took > d {
		t.Errorf("took %v, want under %v", took, d)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxAlloc {
		t.Errorf("allocated %d bytes, want under %d", alloc, maxAlloc)
	}
}
