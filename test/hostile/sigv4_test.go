package hostile

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Section 3.A: SigV4-authenticated actions.
func TestSigV4(t *testing.T) {
	h := newHarness(t)
	signed := func(c creds) *http.Request { return h.sign(h.request("POST", "/", gciBody), c, "us-east-1") }
	// edit signs a request and then changes its Authorization header.
	edit := func(old, new string) *http.Request {
		req := signed(alice)
		a := req.Header.Get("Authorization")
		if !strings.Contains(a, old) {
			t.Fatalf("%q not in %q", old, a)
		}
		req.Header.Set("Authorization", strings.Replace(a, old, new, 1))
		return req
	}
	sig := func(req *http.Request) string {
		a := req.Header.Get("Authorization")
		return a[strings.Index(a, "Signature=")+len("Signature="):]
	}
	withHeader := func(req *http.Request, k, v string) *http.Request { req.Header.Add(k, v); return req }

	rows := []struct {
		id     string
		req    func() *http.Request
		status int
		code   string
	}{
		{"SIG-01 no signature", func() *http.Request { return h.request("POST", "/", gciBody) }, 403, "MissingAuthenticationToken"},
		{"SIG-02 no Credential", func() *http.Request {
			r := signed(alice)
			a := r.Header.Get("Authorization")
			i, j := strings.Index(a, "Credential="), strings.Index(a, "SignedHeaders=")
			r.Header.Set("Authorization", a[:i]+a[j:])
			return r
		}, 400, "IncompleteSignature"},
		{"SIG-02 empty Signature", func() *http.Request { r := signed(alice); return edit("Signature="+sig(r), "Signature=") }, 400, "IncompleteSignature"},
		{"SIG-02 SignedHeaders twice", func() *http.Request {
			r := signed(alice)
			r.Header.Set("Authorization", r.Header.Get("Authorization")+", SignedHeaders=host")
			return r
		}, 400, "IncompleteSignature"},
		{"SIG-03 AWS4-HMAC-SHA1", func() *http.Request { return edit("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1") }, 400, "IncompleteSignature"},
		{"SIG-03 SigV4a", func() *http.Request { return edit("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256") }, 400, "IncompleteSignature"},
		{"SIG-03 SigV2", func() *http.Request {
			r := signed(alice)
			r.Header.Set("Authorization", "AWS "+alice.id+":frJIUN8DYpKDtOLCwo//yllqDzg=")
			return r
		}, 400, "IncompleteSignature"},
		{"SIG-03 Bearer", func() *http.Request {
			r := h.request("POST", "/", gciBody)
			r.Header.Set("Authorization", "Bearer eyJhbGciOiJub25lIn0.e30.")
			return r
		}, 400, "IncompleteSignature"},
		{"SIG-04 unknown key", func() *http.Request { return signed(creds{"AKIAUNKNOWNUNKNOWN22", alice.secret, ""}) }, 403, "InvalidClientTokenId"},
		{"SIG-04 inactive key", func() *http.Request { return signed(aliceOld) }, 403, "InvalidClientTokenId"},
		{"SIG-05 one hex digit flipped", func() *http.Request {
			r := signed(alice)
			s := sig(r)
			flip := "0"
			if s[10] == '0' {
				flip = "1"
			}
			return edit(s, s[:10]+flip+s[11:])
		}, 403, "SignatureDoesNotMatch"},
		{"SIG-05 upper-cased", func() *http.Request { r := signed(alice); return edit(sig(r), strings.ToUpper(sig(r))) }, 403, "SignatureDoesNotMatch"},
		{"SIG-05 63 hex", func() *http.Request { r := signed(alice); return edit(sig(r), sig(r)[:63]) }, 403, "SignatureDoesNotMatch"},
		{"SIG-05 65 hex", func() *http.Request { r := signed(alice); return edit(sig(r), sig(r)+"a") }, 403, "SignatureDoesNotMatch"},
		{"SIG-05 wrong secret", func() *http.Request { return signed(creds{alice.id, "not-alice-secret-0000000000000000000000", ""}) }, 403, "SignatureDoesNotMatch"},
		{"SIG-07 no X-Amz-Date, Date only", func() *http.Request {
			r := signed(alice)
			r.Header.Del("X-Amz-Date")
			r.Header.Set("Date", h.clock.Now().Format(http.TimeFormat))
			return r
		}, 400, "IncompleteSignature"},
		{"SIG-07 malformed X-Amz-Date", func() *http.Request {
			r := signed(alice)
			r.Header.Set("X-Amz-Date", "2026-11-21T12:00:10Z")
			return r
		}, 400, "IncompleteSignature"},
		{"SIG-07 leap second", func() *http.Request { r := signed(alice); r.Header.Set("X-Amz-Date", "20261121T235960Z"); return r }, 400, "IncompleteSignature"},
		{"SIG-08 scope date", func() *http.Request { return edit("/20261121/", "/20261120/") }, 403, "SignatureDoesNotMatch"},
		{"SIG-09 service s3", func() *http.Request { return edit("/sts/", "/s3/") }, 403, "SignatureDoesNotMatch"},
		{"SIG-09 service iam", func() *http.Request { return edit("/sts/", "/iam/") }, 403, "SignatureDoesNotMatch"},
		{"SIG-09 service STS", func() *http.Request { return edit("/sts/", "/STS/") }, 403, "SignatureDoesNotMatch"},
		{"SIG-09 region not a region", func() *http.Request { return h.sign(h.request("POST", "/", gciBody), alice, "US_EAST_1") }, 403, "SignatureDoesNotMatch"},
		{"SIG-09 terminator", func() *http.Request { return edit("aws4_request", "aws4_reqest") }, 403, "SignatureDoesNotMatch"},
		{"SIG-10 host not signed", func() *http.Request { return edit(";host;", ";") }, 400, "IncompleteSignature"},
		{"SIG-10 unsorted", func() *http.Request { return edit("content-type;host", "host;content-type") }, 400, "IncompleteSignature"},
		{"SIG-10 upper case", func() *http.Request { return edit("content-type;host", "Content-Type;host") }, 400, "IncompleteSignature"},
		{"SIG-10 duplicate", func() *http.Request { return edit("content-type;host", "content-type;host;host") }, 400, "IncompleteSignature"},
		{"SIG-12 header and query signature", func() *http.Request {
			r := signed(alice)
			r.URL.RawQuery = "X-Amz-Signature=" + sig(r)
			return r
		}, 400, "IncompleteSignature"},
		{"SIG-13 two X-Amz-Date", func() *http.Request {
			r := signed(alice)
			return withHeader(r, "X-Amz-Date", r.Header.Get("X-Amz-Date"))
		}, 400, "IncompleteSignature"},
		{"SIG-13 x-amz-date case variant", func() *http.Request {
			r := signed(alice)
			r.Header["x-amz-date"] = []string{r.Header.Get("X-Amz-Date")}
			return r
		}, 400, "IncompleteSignature"},
		{"SIG-13 two tokens", func() *http.Request {
			r := signed(alice)
			r.Header.Add("X-Amz-Security-Token", "a")
			r.Header.Add("X-Amz-Security-Token", "b")
			return r
		}, 400, "IncompleteSignature"},
		{"SIG-14 content sha256 mismatch", func() *http.Request {
			return withHeader(signed(alice), "X-Amz-Content-Sha256", strings.Repeat("ab", 32))
		}, 403, "SignatureDoesNotMatch"},
		{"SIG-14 UNSIGNED-PAYLOAD", func() *http.Request { return withHeader(signed(alice), "X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") }, 400, "IncompleteSignature"},
		{"SIG-14 STREAMING", func() *http.Request {
			return withHeader(signed(alice), "X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
		}, 400, "IncompleteSignature"},
		{"SIG-15 body over the cap", func() *http.Request {
			return h.request("POST", "/", gciBody+"&Pad="+strings.Repeat("x", 200<<10))
		}, 413, "RequestEntityTooLarge"},
		{"SIG-17 path %2F", func() *http.Request { return h.sign(h.request("POST", "/%2F", gciBody), alice, "us-east-1") }, 404, "NotFound"},
		{"SIG-17 path /sts", func() *http.Request { return h.sign(h.request("POST", "/sts", gciBody), alice, "us-east-1") }, 404, "NotFound"},
		{"SIG-17 path with ..", func() *http.Request {
			r := h.request("POST", "/", gciBody)
			r.URL.Opaque = "/a/.."
			return h.sign(r, alice, "us-east-1")
		}, 404, "NotFound"},
		{"SIG-18 Action in query and body", func() *http.Request {
			return h.sign(h.request("POST", "/?Action=GetSessionToken", gciBody), alice, "us-east-1")
		}, 400, "ValidationError"},
		{"SIG-19 duplicate parameter", func() *http.Request {
			return h.sign(h.request("POST", "/", "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=900&DurationSeconds=3600"), alice, "us-east-1")
		}, 400, "ValidationError"},
		{"SIG-19 case variant", func() *http.Request {
			return h.sign(h.request("POST", "/", "Action=GetSessionToken&Version=2011-06-15&durationseconds=900"), alice, "us-east-1")
		}, 400, "ValidationError"},
		{"SIG-19 unknown parameter", func() *http.Request {
			return h.sign(h.request("POST", "/", gciBody+"&RoleArn=arn:aws:iam::111122223333:role/x"), alice, "us-east-1")
		}, 400, "ValidationError"},
		{"SIG-20 missing Action", func() *http.Request { return h.sign(h.request("POST", "/", "Version=2011-06-15"), alice, "us-east-1") }, 400, "MissingAction"},
		{"SIG-20 unknown Action", func() *http.Request {
			return h.sign(h.request("POST", "/", "Action=CreateUser&Version=2011-06-15"), alice, "us-east-1")
		}, 400, "InvalidAction"},
		{"SIG-20 wrong Version", func() *http.Request {
			return h.sign(h.request("POST", "/", "Action=GetCallerIdentity&Version=2010-01-01"), alice, "us-east-1")
		}, 400, "InvalidAction"},
		{"SIG-21 JSON content type", func() *http.Request {
			r := h.request("POST", "/", `{"Action":"GetCallerIdentity","Version":"2011-06-15"}`)
			r.Header.Set("Content-Type", "application/json")
			return h.sign(r, alice, "us-east-1")
		}, 400, "ValidationError"},
		{"SIG-21 multipart", func() *http.Request {
			r := h.request("POST", "/", "--x\r\n")
			r.Header.Set("Content-Type", "multipart/form-data; boundary=x")
			return h.sign(r, alice, "us-east-1")
		}, 400, "ValidationError"},
		{"SIG-21 text/plain", func() *http.Request {
			r := h.request("POST", "/", gciBody)
			r.Header.Set("Content-Type", "text/plain")
			return h.sign(r, alice, "us-east-1")
		}, 400, "ValidationError"},
		{"SIG-21 latin-1 charset", func() *http.Request {
			r := h.request("POST", "/", gciBody)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=iso-8859-1")
			return h.sign(r, alice, "us-east-1")
		}, 400, "ValidationError"},
		{"SIG-21 bad percent escape", func() *http.Request { return h.sign(h.request("POST", "/", gciBody+"&X=%zz"), alice, "us-east-1") }, 400, "ValidationError"},
		{"SIG-21 lone percent", func() *http.Request { return h.sign(h.request("POST", "/", gciBody+"&X=%"), alice, "us-east-1") }, 400, "ValidationError"},
		{"SIG-21 bad escape in query", func() *http.Request {
			r := h.sign(h.request("GET", "/?"+gciBody, ""), alice, "us-east-1")
			r.URL.RawQuery += "&X=%zz" // after signing: the SDK would drop it
			return r
		}, 404, "MalformedQueryString"},
		{"SIG-25 ASIA key without a token", func() *http.Request { return signed(creds{"ASIAIOSFODNN7EXAMPLE", alice.secret, ""}) }, 403, "InvalidClientTokenId"},
		{"SIG-25 AKIA key with a token", func() *http.Request { return signed(creds{alice.id, alice.secret, "AQAAAAEAAAAA"}) }, 403, "InvalidClientTokenId"},
		{"method PUT", func() *http.Request { return h.sign(h.request("PUT", "/", gciBody), alice, "us-east-1") }, 405, "MethodNotAllowed"},
	}
	for _, row := range rows {
		t.Run(row.id, func(t *testing.T) {
			h.t = t
			h.assertDenied(row.id, h.send(row.req()), row.status, row.code)
		})
	}
}

// SIG-06: the ±15 minute window, with the control rows just inside it.
func TestSigV4ClockWindow(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct {
		id     string
		offset time.Duration
		ok     bool
		prefix string
	}{
		{"SIG-06 15m1s old", -15*time.Minute - time.Second, false, "Signature expired"},
		{"SIG-06 15m1s ahead", 15*time.Minute + time.Second, false, "Signature not yet current"},
		{"SIG-06 14m59s old", -15*time.Minute + time.Second, true, ""},
		{"SIG-06 14m59s ahead", 15*time.Minute - time.Second, true, ""},
	} {
		h.clock.Set(start.Add(c.offset))
		req := h.sign(h.request("POST", "/", gciBody), alice, "us-east-1")
		h.clock.Set(start)
		r := h.send(req)
		if c.ok {
			h.assertOK(c.id, r)
			continue
		}
		h.assertDenied(c.id, r, 403, "SignatureDoesNotMatch")
		if !strings.HasPrefix(r.message, c.prefix) {
			t.Errorf("%s: message %q", c.id, r.message)
		}
	}
}

// Requests that real clients send, which must keep working.
func TestSigV4Accepted(t *testing.T) {
	h := newHarness(t)
	rows := []struct {
		id  string
		req func() *http.Request
	}{
		{"header auth", func() *http.Request { return h.sign(h.request("POST", "/", gciBody), alice, "us-east-1") }},
		{"any region (clients sign with their own)", func() *http.Request { return h.sign(h.request("POST", "/", gciBody), alice, "ap-southeast-2") }},
		{"SIG-17 Vault's // path", func() *http.Request {
			r := h.sign(h.request("POST", "/", gciBody), alice, "us-east-1")
			r.URL.Opaque = "//"
			return r
		}},
		{"presigned GET", func() *http.Request {
			r, _ := http.NewRequest("GET", h.presign(alice, gciBody), nil)
			return r
		}},
		{"action in the query, empty body", func() *http.Request { return h.sign(h.request("POST", "/?"+gciBody, ""), alice, "us-east-1") }},
		{"extra signed headers (Vault, EKS)", func() *http.Request {
			r := h.request("POST", "/", gciBody)
			r.Header.Set("X-Vault-AWS-IAM-Server-ID", "vault.example.com")
			r.Header.Set("x-k8s-aws-id", "cluster-1")
			return h.sign(r, alice, "us-east-1")
		}},
		{"SIG-16 header of many spaces, signed", func() *http.Request {
			r := h.request("POST", "/", gciBody)
			r.Header.Set("X-Spaces", "a"+strings.Repeat(" ", 10000)+"b")
			return h.sign(r, alice, "us-east-1")
		}},
		{"SIG-28 replay within 15 min is accepted, as on AWS", func() *http.Request { return h.sign(h.request("POST", "/", gciBody), alice, "us-east-1") }},
	}
	for _, row := range rows {
		req := row.req()
		h.assertOK(row.id, h.send(req))
	}
	// The replay row, sent again byte for byte.
	req := h.sign(h.request("POST", "/", gciBody), alice, "us-east-1")
	body := gciBody
	h.assertOK("SIG-28 first", h.send(req))
	req.Body = io.NopCloser(strings.NewReader(body))
	h.clock.Advance(14 * time.Minute)
	h.assertOK("SIG-28 replayed 14 min later", h.send(req))
}

// SIG-15, SIG-16, SIG-26, SIG-30: requests the HTTP server itself refuses
// before keyless sees them. They are not STS requests, so they produce no
// audit event; what matters is that they are refused and bounded.
func TestSigV4TransportLimits(t *testing.T) {
	h := newHarness(t)
	addr := strings.TrimPrefix(h.srv.URL, "http://")
	raw := func(req string) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, req); err != nil {
			return "write failed: " + err.Error()
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line
	}
	before := len(h.events())
	for id, req := range map[string]string{
		"SIG-16 NUL in a header":    "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Date: 2026\x00\r\nContent-Length: 0\r\n\r\n",
		"SIG-26 1 MB header":        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Security-Token: " + strings.Repeat("A", 1<<20) + "\r\n\r\n",
		"SIG-26 10000 headers":      "POST / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: b\r\n", 10000) + "\r\n",
		"SIG-15 two Content-Length": "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
	} {
		if line := raw(req); !strings.HasPrefix(line, "HTTP/1.1 4") {
			t.Errorf("%s: got %q", id, line)
		}
	}
	// SIG-30: a client that never finishes its headers is cut off after
	// ReadHeaderTimeout (0.5 s here; 10 s in production).
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	began := time.Now()
	_, err = c.Read(make([]byte, 1))
	if err == nil || time.Since(began) > 4*time.Second {
		t.Errorf("SIG-30: slow client not cut off (%v after %v)", err, time.Since(began))
	}
	if evs := h.events()[before:]; len(evs) != 0 {
		for _, e := range evs {
			t.Logf("event: %s %s %s", e.EventName, e.ErrorCode, e.ErrorMessage)
		}
		t.Errorf("%d audit events for requests keyless never received", len(evs))
	}
	// Go's server accepts these two and hands keyless what it understood:
	// an obs-folded header joined into one value (which no longer matches
	// what a client signed), and a chunked body with its Content-Length
	// dropped (RFC 9112 section 6.3). keyless refuses both, with one audit
	// event each.
	for id, req := range map[string]string{
		"SIG-16 obs-fold":         "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Date: 20261121T120010Z\r\n folded\r\nContent-Length: 0\r\n\r\n",
		"SIG-15 chunked + length": "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	} {
		n := len(h.events())
		if line := raw(req); !strings.HasPrefix(line, "HTTP/1.1 400") {
			t.Errorf("%s: got %q", id, line)
		}
		if got := len(h.events()) - n; got != 1 {
			t.Errorf("%s: %d audit events", id, got)
		}
	}
	// SIG-15: a Content-Length longer than the body: the read fails when
	// the client gives up, and nothing is issued.
	r := raw(fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 100\r\n\r\n%s", formType, gciBody))
	if strings.HasPrefix(r, "HTTP/1.1 2") {
		t.Errorf("SIG-15 short body answered %q", r)
	}
}
