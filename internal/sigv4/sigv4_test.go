package sigv4_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/sigv4"
)

const captureSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

func anyRegion(string) bool { return true }

// fromWire parses raw HTTP bytes with net/http's own request reader, so that
// Host and header handling are those of the real server.
func fromWire(t testing.TB, raw []byte) *sigv4.Request {
	t.Helper()
	hr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("ReadRequest: %v", err)
	}
	body, err := io.ReadAll(hr.Body)
	if err != nil {
		t.Fatal(err)
	}
	return toRequest(t, hr, body)
}

func toRequest(t testing.TB, hr *http.Request, body []byte) *sigv4.Request {
	t.Helper()
	q, err := parseQuery(hr.URL.RawQuery)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	return &sigv4.Request{
		Method:     hr.Method,
		EscapedURI: hr.URL.EscapedPath(),
		Query:      q,
		Host:       hr.Host,
		Header:     hr.Header,
		BodySHA256: sha256.Sum256(body),
	}
}

func failure(err error) sigv4.Failure {
	var e *sigv4.Error
	if errors.As(err, &e) {
		return e.Failure
	}
	return 0
}

// Every request captured from a real client on this machine (test-bench.md
// section 1 and 2.6) verifies with the capture's secret at its own time.
func TestRealClientCaptures(t *testing.T) {
	files, err := filepath.Glob("testdata/captures/*.http")
	if err != nil || len(files) < 7 {
		t.Fatalf("captures missing: %v %v", files, err)
	}
	v := sigv4.NewVerifier(16)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			req := fromWire(t, raw)
			at := captureTime(t, req)
			if _, err := sigv4.Parse(req, "sts", anyRegion, at.Add(15*time.Minute+time.Second)); failure(err) != sigv4.Mismatch || !strings.HasPrefix(err.Error(), "Signature expired") {
				t.Fatalf("15m1s later: %v", err)
			}
			if _, err := sigv4.Parse(req, "sts", anyRegion, at.Add(-15*time.Minute-time.Second)); failure(err) != sigv4.Mismatch || !strings.HasPrefix(err.Error(), "Signature not yet current") {
				t.Fatalf("15m1s earlier: %v", err)
			}
			if _, err := sigv4.Parse(req, "sts", func(r string) bool { return r == "eu-west-1" }, at); failure(err) != sigv4.Mismatch {
				t.Fatalf("region outside the allow-list: %v", err)
			}
			if _, err := sigv4.Parse(req, "iam", anyRegion, at); failure(err) != sigv4.Mismatch {
				t.Fatalf("other service: %v", err)
			}
			s, err := sigv4.Parse(req, "sts", anyRegion, at.Add(15*time.Minute-time.Second))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if s.AccessKeyID != "AKIDEXAMPLE" || s.Scope.Region != "us-east-1" {
				t.Fatalf("parsed %+v", s)
			}
			if err := v.Verify(s, captureSecret); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if err := v.Verify(s, strings.Replace(captureSecret, "w", "W", 1)); failure(err) != sigv4.Mismatch {
				t.Fatalf("wrong secret: %v", err)
			}
		})
	}
}

func captureTime(t *testing.T, r *sigv4.Request) time.Time {
	d := r.Header.Get("X-Amz-Date")
	if d == "" {
		d = r.Query.Get("X-Amz-Date")
	}
	at, err := time.Parse("20060102T150405Z", d)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// Vault replays the signed request with path "//" and the Host it signed;
// SigV4 normalisation makes "//" canonicalise to "/".
func TestVaultDoubleSlash(t *testing.T) {
	raw, err := os.ReadFile("testdata/captures/vault-aws-sdk-go-v1.http")
	if err != nil {
		t.Fatal(err)
	}
	req := fromWire(t, raw)
	if req.EscapedURI != "//" || req.Host != "sts.amazonaws.com" {
		t.Fatalf("capture changed: %q %q", req.EscapedURI, req.Host)
	}
	s, err := sigv4.Parse(req, "sts", anyRegion, captureTime(t, req))
	if err != nil {
		t.Fatal(err)
	}
	if err := sigv4.NewVerifier(4).Verify(s, captureSecret); err != nil {
		t.Fatal(err)
	}
}

func TestCanonicalURI(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "/",
		"/":                "/",
		"//":               "/",
		"///":              "/",
		"/./":              "/",
		"/a/../b":          "/b",
		"/../../a/":        "/a/",
		"/sts/":            "/sts/",
		"/a//b/./c/":       "/a/b/c/",
		"/a%20b/%2F":       "/a%2520b/%252F",
		"/caf%C3%A9/~x-y_": "/caf%25C3%25A9/~x-y_",
	} {
		if got := sigv4.CanonicalURI(in); got != want {
			t.Errorf("CanonicalURI(%q) = %q, want %q", in, got, want)
		}
	}
}
