package sigv4_test

import (
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/sigv4"
)

var at = time.Date(2026, 11, 21, 20, 58, 23, 0, time.UTC)

const goodAuth = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261121/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=8ca37a82f908c0af18e7dba6337938847c82177a36cd5b3f35d33dd5c9d887a0"

func headerReq(auth string, extra ...string) *sigv4.Request {
	h := http.Header{}
	if auth != "" {
		h.Set("Authorization", auth)
	}
	h.Set("X-Amz-Date", "20261121T205823Z")
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			h.Del(extra[i])
		} else {
			h.Add(extra[i], extra[i+1])
		}
	}
	return &sigv4.Request{Method: "POST", EscapedURI: "/", Query: url.Values{}, Host: "127.0.0.1:8080", Header: h, BodySHA256: sha256.Sum256([]byte("Action=GetCallerIdentity&Version=2011-06-15"))}
}

func TestParseFailures(t *testing.T) {
	rep := func(old, new string) string { return strings.Replace(goodAuth, old, new, 1) }
	cases := []struct {
		name string
		req  *sigv4.Request
		want sigv4.Failure
	}{
		{"no auth", headerReq(""), sigv4.Missing},
		{"sha1 algorithm", headerReq(rep("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1")), sigv4.Incomplete},
		{"sigv4a", headerReq(rep("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")), sigv4.Incomplete},
		{"sigv2", headerReq("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg="), sigv4.Incomplete},
		{"bearer", headerReq("Bearer abc"), sigv4.Incomplete},
		{"no credential", headerReq(rep("Credential=AKIAIOSFODNN7EXAMPLE/20261121/us-east-1/sts/aws4_request, ", "")), sigv4.Incomplete},
		{"no signed headers", headerReq(rep("SignedHeaders=content-type;host;x-amz-date, ", "")), sigv4.Incomplete},
		{"empty signature", headerReq(rep("Signature=8ca37a82f908c0af18e7dba6337938847c82177a36cd5b3f35d33dd5c9d887a0", "Signature=")), sigv4.Incomplete},
		{"repeated signed headers", headerReq(goodAuth + ", SignedHeaders=host;x-amz-date"), sigv4.Incomplete},
		{"unknown component", headerReq(goodAuth + ", Foo=bar"), sigv4.Incomplete},
		{"four-part credential", headerReq(rep("/aws4_request", "")), sigv4.Incomplete},
		{"bad terminator", headerReq(rep("aws4_request", "aws5_request")), sigv4.Mismatch},
		{"scope service s3", headerReq(rep("/sts/", "/s3/")), sigv4.Mismatch},
		{"scope service STS", headerReq(rep("/sts/", "/STS/")), sigv4.Mismatch},
		{"scope date mismatch", headerReq(rep("/20261121/", "/20261120/")), sigv4.Mismatch},
		{"host not signed", headerReq(rep("content-type;host;x-amz-date", "content-type;x-amz-date")), sigv4.Incomplete},
		{"date not signed", headerReq(rep("content-type;host;x-amz-date", "content-type;host")), sigv4.Incomplete},
		{"unsorted signed headers", headerReq(rep("content-type;host;x-amz-date", "host;content-type;x-amz-date")), sigv4.Incomplete},
		{"upper-case signed header", headerReq(rep("content-type;host;x-amz-date", "Content-Type;host;x-amz-date")), sigv4.Incomplete},
		{"duplicate signed header", headerReq(rep("content-type;host;x-amz-date", "content-type;host;host;x-amz-date")), sigv4.Incomplete},
		{"upper-case signature", headerReq(rep("8ca37a82f908c0af18e7dba6337938847c82177a36cd5b3f35d33dd5c9d887a0", "8CA37A82F908C0AF18E7DBA6337938847C82177A36CD5B3F35D33DD5C9D887A0")), sigv4.Mismatch},
		{"63 hex", headerReq(rep("8ca37a82f908c0af18e7dba6337938847c82177a36cd5b3f35d33dd5c9d887a0", "8ca37a82f908c0af18e7dba6337938847c82177a36cd5b3f35d33dd5c9d887a")), sigv4.Mismatch},
		{"65 hex", headerReq(rep("8ca37a82f908c0af18e7dba6337938847c82177a36cd5b3f35d33dd5c9d887a0", "8ca37a82f908c0af18e7dba6337938847c82177a36cd5b3f35d33dd5c9d887a00")), sigv4.Mismatch},
		{"no x-amz-date", headerReq(goodAuth, "X-Amz-Date", "", "Date", "Sat, 21 Nov 2026 20:58:23 GMT"), sigv4.Incomplete},
		{"iso date with dashes", headerReq(goodAuth, "X-Amz-Date", "", "X-Amz-Date", "2026-11-21T20:58:23Z"), sigv4.Incomplete},
		{"leap second", headerReq(goodAuth, "X-Amz-Date", "", "X-Amz-Date", "20261121T205860Z"), sigv4.Incomplete},
		{"two dates", headerReq(goodAuth, "X-Amz-Date", "20261121T205823Z"), sigv4.Incomplete},
		{"two tokens", headerReq(goodAuth, "X-Amz-Security-Token", "a", "X-Amz-Security-Token", "b"), sigv4.Incomplete},
		{"two authorization headers", headerReq(goodAuth, "Authorization", goodAuth), sigv4.Incomplete},
		{"unsigned payload", headerReq(goodAuth, "X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"), sigv4.Incomplete},
		{"streaming payload", headerReq(goodAuth, "X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), sigv4.Incomplete},
		{"wrong payload hash", headerReq(goodAuth, "X-Amz-Content-Sha256", strings.Repeat("0", 64)), sigv4.Mismatch},
		{"year 9999", headerReq(rep("/20261121/", "/99991121/"), "X-Amz-Date", "", "X-Amz-Date", "99991121T205823Z"), sigv4.Mismatch},
	}
	both := headerReq(goodAuth)
	both.Query = url.Values{"X-Amz-Signature": {"00"}}
	cases = append(cases, struct {
		name string
		req  *sigv4.Request
		want sigv4.Failure
	}{"header and query signature", both, sigv4.Incomplete})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sigv4.Parse(c.req, "sts", anyRegion, at)
			if got := failure(err); got != c.want {
				t.Fatalf("got %v (%v), want failure %d", got, err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message has a newline: %q", err.Error())
			}
		})
	}
	if _, err := sigv4.Parse(headerReq(goodAuth), "sts", anyRegion, at); err != nil {
		t.Fatalf("control case refused: %v", err)
	}
}

func TestParseQueryFailures(t *testing.T) {
	base := url.Values{
		"Action":              {"GetCallerIdentity"},
		"Version":             {"2011-06-15"},
		"X-Amz-Algorithm":     {"AWS4-HMAC-SHA256"},
		"X-Amz-Credential":    {"AKIAIOSFODNN7EXAMPLE/20261121/us-east-1/sts/aws4_request"},
		"X-Amz-Date":          {"20261121T205823Z"},
		"X-Amz-SignedHeaders": {"host"},
		"X-Amz-Signature":     {strings.Repeat("a", 64)},
	}
	mk := func(edit func(url.Values)) *sigv4.Request {
		q := url.Values{}
		for k, v := range base {
			q[k] = append([]string(nil), v...)
		}
		edit(q)
		return &sigv4.Request{Method: "GET", EscapedURI: "/", Query: q, Host: "h", Header: http.Header{}}
	}
	cases := map[string]func(url.Values){
		"lower-case credential key": func(q url.Values) { q["x-amz-credential"] = q["X-Amz-Credential"]; delete(q, "X-Amz-Credential") },
		"case variant duplicate":    func(q url.Values) { q["x-amz-credential"] = []string{"AKIAOTHER/20261121/us-east-1/sts/aws4_request"} },
		"duplicate credential":      func(q url.Values) { q.Add("X-Amz-Credential", "AKIAOTHER/20261121/us-east-1/sts/aws4_request") },
		"duplicate signed headers":  func(q url.Values) { q.Add("X-Amz-SignedHeaders", "host;x-k8s-aws-id") },
		"missing signature":         func(q url.Values) { q.Del("X-Amz-Signature") },
		"missing date":              func(q url.Values) { q.Del("X-Amz-Date") },
		"other algorithm":           func(q url.Values) { q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA1") },
		"expires negative":          func(q url.Values) { q.Set("X-Amz-Expires", "-1") },
		"expires too large":         func(q url.Values) { q.Set("X-Amz-Expires", "604801") },
	}
	for name, edit := range cases {
		if _, err := sigv4.Parse(mk(edit), "sts", anyRegion, at); failure(err) != sigv4.Incomplete {
			t.Errorf("%s: got %v", name, err)
		}
	}
	// X-Amz-Expires is ignored for the window: a presigned request with
	// X-Amz-Expires=60 is still good 14 minutes later (EKS tokens rely on it).
	r := mk(func(q url.Values) { q.Set("X-Amz-Expires", "60") })
	if _, err := sigv4.Parse(r, "sts", anyRegion, at.Add(14*time.Minute)); err != nil {
		t.Errorf("X-Amz-Expires=60 after 14 min: %v", err)
	}
	if _, err := sigv4.Parse(r, "sts", anyRegion, at.Add(16*time.Minute)); failure(err) != sigv4.Mismatch {
		t.Errorf("after 16 min: %v", err)
	}
}
