package awsproof

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/awsproof/awsprooftest"
)

const nsAttr = `xmlns="https://sts.amazonaws.com/doc/2011-06-15/"`

// answerWith is a mock STS that answers status, Content-Type values and body.
func answerWith(status int, contentTypes []string, body string) func(*mockSTS, http.ResponseWriter, *http.Request) {
	return func(_ *mockSTS, w http.ResponseWriter, _ *http.Request) {
		for _, ct := range contentTypes {
			w.Header().Add("Content-Type", ct)
		}
		if contentTypes == nil {
			w.Header()["Content-Type"] = nil // no sniffing
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

func result(inner string) string {
	return `<GetCallerIdentityResponse ` + nsAttr + `><GetCallerIdentityResult>` + inner + `</GetCallerIdentityResult></GetCallerIdentityResponse>`
}

const (
	arnEl     = `<Arn>` + testARN + `</Arn>`
	userEl    = `<UserId>` + testUserID + `</UserId>`
	accountEl = `<Account>` + testAccount + `</Account>`
	fields    = arnEl + userEl + accountEl
)

// TestResponses (security.md V-01, GCIX-16): only one well-formed
// GetCallerIdentityResponse in an XML content type is an identity.
func TestResponses(t *testing.T) {
	valid := awsprooftest.IdentityXML(testARN, testUserID, testAccount)
	xmlCT := []string{"text/xml"}
	// The Vault CVE-2020-16250 payload: JSON carrying an XML fragment.
	vaultJSON := `{"Error":{"Code":"InvalidAction","Message":"Could not find operation ` +
		strings.ReplaceAll(awsprooftest.IdentityXML("arn:aws:iam::111111111111:role/admin", "AROAADMIN", "111111111111"), `"`, `\"`) + `"}}`
	for _, c := range []struct {
		name   string
		status int
		ct     []string
		body   string
		reason string // "" means accepted
	}{
		// Accepted shapes.
		{"AWS answer", 200, xmlCT, valid, ""},
		{"XML declaration", 200, xmlCT, `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + valid, ""},
		{"charset parameter", 200, []string{"text/xml; charset=UTF-8"}, valid, ""},
		{"application/xml", 200, []string{"application/xml"}, valid, ""},
		{"compact, no metadata", 200, xmlCT, result(fields), ""},
		{"fields reordered", 200, xmlCT, result(accountEl + arnEl + userEl), ""},
		{"prefixed namespace", 200, xmlCT, `<s:GetCallerIdentityResponse xmlns:s="https://sts.amazonaws.com/doc/2011-06-15/"><s:GetCallerIdentityResult><s:Arn>` + testARN + `</s:Arn><s:UserId>` + testUserID + `</s:UserId><s:Account>` + testAccount + `</s:Account></s:GetCallerIdentityResult></s:GetCallerIdentityResponse>`, ""},
		{"assumed role", 200, xmlCT, result(`<Arn>arn:aws:sts::123456789012:assumed-role/Deploy/session-1</Arn><UserId>AROAEXAMPLE:session-1</UserId>` + accountEl), ""},

		// Content type (V-01).
		{"JSON with XML fragment", 200, []string{"application/json"}, vaultJSON, "response_content_type"},
		{"JSON with XML fragment, XML type", 200, xmlCT, vaultJSON, "response_malformed"},
		{"no content type", 200, nil, valid, "response_content_type"},
		{"text/html", 200, []string{"text/html"}, valid, "response_content_type"},
		{"other charset", 200, []string{"text/xml; charset=iso-8859-1"}, valid, "response_content_type"},
		{"unknown parameter", 200, []string{"text/xml; x=y"}, valid, "response_content_type"},
		{"two content types", 200, []string{"text/xml", "application/json"}, valid, "response_content_type"},
		{"xml suffix type", 200, []string{"application/soap+xml"}, valid, "response_content_type"},

		// Document shape (GCIX-16).
		{"leading garbage", 200, xmlCT, "garbage" + valid, "response_malformed"},
		{"leading JSON", 200, xmlCT, `{"a":1}` + valid, "response_malformed"},
		{"trailing second document", 200, xmlCT, valid + valid, "response_malformed"},
		{"trailing garbage", 200, xmlCT, valid + "x", "response_malformed"},
		{"trailing declaration", 200, xmlCT, valid + `<?xml version="1.0"?>`, "response_malformed"},
		{"declaration not first", 200, xmlCT, "\n" + `<?xml version="1.0"?>` + valid, "response_malformed"},
		{"DOCTYPE", 200, xmlCT, `<?xml version="1.0"?><!DOCTYPE GetCallerIdentityResponse>` + valid, "response_malformed"},
		{"DOCTYPE with entity", 200, xmlCT, `<!DOCTYPE r [<!ENTITY a "` + testARN + `">]>` + result(`<Arn>&a;</Arn>`+userEl+accountEl), "response_malformed"},
		{"comment before root", 200, xmlCT, `<!-- x -->` + valid, "response_malformed"},
		{"comment in Arn", 200, xmlCT, result(`<Arn>arn:aws:iam::123456789012:<!-- -->user/Alice</Arn>` + userEl + accountEl), "response_malformed"},
		{"processing instruction", 200, xmlCT, result(`<?x y?>` + fields), "response_malformed"},
		{"two results", 200, xmlCT, `<GetCallerIdentityResponse ` + nsAttr + `><GetCallerIdentityResult>` + fields + `</GetCallerIdentityResult><GetCallerIdentityResult>` + fields + `</GetCallerIdentityResult></GetCallerIdentityResponse>`, "response_malformed"},
		{"two Arns", 200, xmlCT, result(`<Arn>arn:aws:iam::123456789012:role/admin</Arn>` + fields), "response_malformed"},
		{"two Accounts", 200, xmlCT, result(fields + accountEl), "response_malformed"},
		{"missing Arn", 200, xmlCT, result(userEl + accountEl), "response_malformed"},
		{"missing Account", 200, xmlCT, result(arnEl + userEl), "response_malformed"},
		{"missing UserId", 200, xmlCT, result(arnEl + accountEl), "response_malformed"},
		{"missing result", 200, xmlCT, `<GetCallerIdentityResponse ` + nsAttr + `></GetCallerIdentityResponse>`, "response_malformed"},
		{"wrong root", 200, xmlCT, `<AssumeRoleResponse ` + nsAttr + `><GetCallerIdentityResult>` + fields + `</GetCallerIdentityResult></AssumeRoleResponse>`, "response_malformed"},
		{"result as root", 200, xmlCT, `<GetCallerIdentityResult ` + nsAttr + `>` + fields + `</GetCallerIdentityResult>`, "response_malformed"},
		{"wrong namespace", 200, xmlCT, strings.Replace(valid, "2011-06-15", "2011-06-16", 1), "response_malformed"},
		{"no namespace", 200, xmlCT, strings.Replace(valid, " "+nsAttr, "", 1), "response_malformed"},
		{"child in another namespace", 200, xmlCT, result(`<Arn xmlns="urn:x">` + testARN + `</Arn>` + userEl + accountEl), "response_malformed"},
		{"unknown child", 200, xmlCT, result(fields + `<Foo>x</Foo>`), "response_malformed"},
		{"unknown child of the root", 200, xmlCT, `<GetCallerIdentityResponse ` + nsAttr + `><GetCallerIdentityResult>` + fields + `</GetCallerIdentityResult><Foo/></GetCallerIdentityResponse>`, "response_malformed"},
		{"element inside Arn", 200, xmlCT, result(`<Arn><Arn>` + testARN + `</Arn></Arn>` + userEl + accountEl), "response_malformed"},
		{"text mixed into structure", 200, xmlCT, result(`arn:aws:iam::111111111111:root` + fields), "response_malformed"},
		{"attribute", 200, xmlCT, result(`<Arn id="1">` + testARN + `</Arn>` + userEl + accountEl), "response_malformed"},
		{"unclosed", 200, xmlCT, strings.TrimSuffix(strings.TrimSpace(valid), "</GetCallerIdentityResponse>"), "response_malformed"},
		{"empty body", 200, xmlCT, "", "response_malformed"},
		{"mismatched end tag", 200, xmlCT, result(`<Arn>` + testARN + `</Account>` + userEl + accountEl), "response_malformed"},

		// Identity checks.
		{"Arn account differs from Account", 200, xmlCT, result(`<Arn>arn:aws:iam::111111111111:role/admin</Arn>` + userEl + accountEl), "account_mismatch"},
		{"wrong partition", 200, xmlCT, result(`<Arn>arn:aws-cn:iam::123456789012:user/Alice</Arn>` + userEl + accountEl), "arn_partition_mismatch"},
		{"other service", 200, xmlCT, result(`<Arn>arn:aws:ec2::123456789012:instance/i-1</Arn>` + userEl + accountEl), "arn_malformed"},
		{"region in Arn", 200, xmlCT, result(`<Arn>arn:aws:iam:us-east-1:123456789012:user/Alice</Arn>` + userEl + accountEl), "arn_malformed"},
		{"empty Arn", 200, xmlCT, result(`<Arn></Arn>` + userEl + accountEl), "arn_malformed"},
		{"Arn with space", 200, xmlCT, result(`<Arn>arn:aws:iam::123456789012:user/Al ice</Arn>` + userEl + accountEl), "arn_malformed"},
		{"Arn with padding", 200, xmlCT, result(`<Arn> ` + testARN + `</Arn>` + userEl + accountEl), "arn_malformed"},
		{"Arn too long", 200, xmlCT, result(`<Arn>arn:aws:iam::123456789012:user/` + strings.Repeat("a", 600) + `</Arn>` + userEl + accountEl), "arn_malformed"},
		{"not an Arn", 200, xmlCT, result(`<Arn>admin</Arn>` + userEl + accountEl), "arn_malformed"},
		{"short Account", 200, xmlCT, result(`<Arn>arn:aws:iam::12345678901:user/Alice</Arn>` + userEl + `<Account>12345678901</Account>`), "account_malformed"},
		{"empty UserId", 200, xmlCT, result(arnEl + `<UserId></UserId>` + accountEl), "userid_malformed"},
		{"UserId with space", 200, xmlCT, result(arnEl + `<UserId>AIDA X</UserId>` + accountEl), "userid_malformed"},
		{"UserId too long", 200, xmlCT, result(arnEl + `<UserId>` + strings.Repeat("A", 129) + `</UserId>` + accountEl), "userid_malformed"},

		// Other statuses.
		{"201", 201, xmlCT, valid, "upstream_status"},
		{"204", 204, xmlCT, "", "upstream_status"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, answerWith(c.status, c.ct, c.body), nil)
			id, err := h.v.VerifyAWS(t.Context(), sign(t, spec{}), testAudience)
			if c.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if id.Account != testAccount || id.ARN == "" || id.UserID == "" {
					t.Fatalf("identity = %+v", id)
				}
				return
			}
			wantReason(t, err, c.reason, false)
			if id.ARN != "" {
				t.Fatalf("identity %+v returned with an error", id)
			}
			if strings.Contains(err.Error(), "111111111111") || strings.Contains(err.Error(), "admin") {
				t.Fatalf("error echoes the body: %v", err)
			}
			if n := h.sts.hits.Load(); n != 1 {
				t.Fatalf("requests = %d, want 1 (no retry)", n)
			}
		})
	}
}

// TestRedirects (GCIX-14, V-04): a 3xx is a refusal, not retried, and its
// target gets no connection.
func TestRedirects(t *testing.T) {
	target := newMockSTS(t, true, stsOK)
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			h := newHarness(t, func(_ *mockSTS, w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.srv.URL+"/?"+Body, code)
			}, nil)
			_, err := h.v.VerifyAWS(t.Context(), sign(t, spec{}), testAudience)
			e := wantReason(t, err, "upstream_redirect", false)
			if strings.Contains(e.Error(), "127.0.0.1") {
				t.Errorf("error names the Location: %v", e)
			}
			if n := h.sts.hits.Load(); n != 1 {
				t.Fatalf("requests = %d, want 1", n)
			}
		})
	}
	if n := target.conns(); n != 0 {
		t.Fatalf("redirect target got %d connections", n)
	}
}

// TestUpstreamErrors (GCIX-17): a 4xx is a refusal carrying a sane AWS
// error code, never the message; throttling is a temporary failure. No
// 4xx is retried.
func TestUpstreamErrors(t *testing.T) {
	errXML := func(code string) string {
		return `<ErrorResponse ` + nsAttr + `><Error><Type>Sender</Type><Code>` + code +
			`</Code><Message>SECRET-UPSTREAM-MESSAGE arn:aws:iam::111111111111:role/admin</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`
	}
	for _, c := range []struct {
		name    string
		status  int
		body    string
		reason  string
		code    string
		unavail bool
	}{
		{"SignatureDoesNotMatch", 403, errXML("SignatureDoesNotMatch"), "upstream_refused", "SignatureDoesNotMatch", false},
		{"ExpiredToken", 400, errXML("ExpiredToken"), "upstream_refused", "ExpiredToken", false},
		{"InvalidClientTokenId, no namespace", 403, strings.Replace(errXML("InvalidClientTokenId"), " "+nsAttr, "", 1), "upstream_refused", "InvalidClientTokenId", false},
		{"code with markup", 403, errXML("Bad&lt;script&gt;"), "upstream_refused", "", false},
		{"code too long", 403, errXML(strings.Repeat("A", 65)), "upstream_refused", "", false},
		{"code with space", 403, errXML("Access Denied"), "upstream_refused", "", false},
		{"JSON body", 400, `{"Error":{"Code":"SignatureDoesNotMatch"}}`, "upstream_refused", "", false},
		{"not found", 404, "<html>SECRET-UPSTREAM-MESSAGE</html>", "upstream_refused", "", false},
		{"Throttling", 400, errXML("Throttling"), "upstream_throttled", "Throttling", true},
		{"429", 429, errXML("RequestLimitExceeded"), "upstream_throttled", "RequestLimitExceeded", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, answerWith(c.status, []string{"text/xml"}, c.body), nil)
			_, err := h.v.VerifyAWS(t.Context(), sign(t, spec{}), testAudience)
			e := wantReason(t, err, c.reason, c.unavail)
			if e.Upstream() != c.code {
				t.Errorf("Upstream() = %q, want %q", e.Upstream(), c.code)
			}
			if s := err.Error(); strings.Contains(s, "SECRET-UPSTREAM-MESSAGE") || strings.Contains(s, "111111111111") {
				t.Errorf("error echoes the upstream message: %q", s)
			}
			if n := h.sts.hits.Load(); n != 1 {
				t.Fatalf("requests = %d, want 1 (4xx is not retried)", n)
			}
		})
	}
}

// TestUnavailable (GCIX-18): 5xx, resets and timeouts are retried twice,
// then a temporary failure.
func TestUnavailable(t *testing.T) {
	hang := func(_ *mockSTS, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	for _, c := range []struct {
		name string
		h    func(*mockSTS, http.ResponseWriter, *http.Request)
	}{
		{"500", answerWith(500, []string{"text/xml"}, "<x/>")},
		{"503", answerWith(503, []string{"text/xml"}, "<x/>")},
		{"502 with an identity", answerWith(502, []string{"text/xml"}, awsprooftest.IdentityXML(testARN, testUserID, testAccount))},
		{"reset", func(_ *mockSTS, w http.ResponseWriter, _ *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}},
		{"timeout", hang},
		{"timeout mid-body", func(_ *mockSTS, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprint(w, `<GetCallerIdentityResponse `+nsAttr+`>`)
			http.NewResponseController(w).Flush()
			<-r.Context().Done()
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.h, func(o *Options) { o.Timeout = 150 * time.Millisecond })
			start := time.Now()
			id, err := h.v.VerifyAWS(t.Context(), sign(t, spec{}), testAudience)
			wantReason(t, err, "upstream_unavailable", true)
			if id.ARN != "" {
				t.Fatalf("identity %+v with an error", id)
			}
			if n := h.sts.hits.Load(); n != 3 {
				t.Fatalf("requests = %d, want exactly 3 attempts", n)
			}
			// 3 attempts of at most 150 ms and 2 waits of at most 200 ms.
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}

	// Retries can succeed; each attempt is a fresh request.
	h := newHarness(t, func(m *mockSTS, w http.ResponseWriter, r *http.Request) {
		if m.hits.Load() < 3 {
			writeXML(w, 503, "<x/>")
			return
		}
		stsOK(m, w, r)
	}, nil)
	if _, err := h.v.VerifyAWS(t.Context(), sign(t, spec{}), testAudience); err != nil {
		t.Fatal(err)
	}
	if n, v := h.sts.hits.Load(), h.sts.valid.Load(); n != 3 || v != 1 {
		t.Fatalf("requests %d, verified %d; want 3, 1", n, v)
	}
	// Never a cached success: the upstream failing now fails the next one.
	h2 := newHarness(t, answerWith(503, []string{"text/xml"}, "<x/>"), nil)
	_, err := h2.v.VerifyAWS(t.Context(), sign(t, spec{at: signTime.Add(time.Second)}), testAudience)
	wantReason(t, err, "upstream_unavailable", true)
}

// TestContextBoundsRetries: the caller's deadline ends the attempts.
func TestContextBoundsRetries(t *testing.T) {
	h := newHarness(t, func(_ *mockSTS, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.v.VerifyAWS(ctx, sign(t, spec{}), testAudience)
	wantReason(t, err, "upstream_unavailable", true)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("took %v with a 200 ms deadline and a 2 s Timeout", d)
	}
	if n := h.sts.hits.Load(); n != 1 {
		t.Fatalf("requests = %d, want 1", n)
	}
}

// TestBodyLimits (GCIX-20): an answer over 64 KiB is refused while read,
// and a trickled one ends at the timeout.
func TestBodyLimits(t *testing.T) {
	valid := awsprooftest.IdentityXML(testARN, testUserID, testAccount)
	pad := func(n int) string { return valid + strings.Repeat(" ", n-len(valid)) }

	h := newHarness(t, answerWith(200, []string{"text/xml"}, pad(64<<10)), nil)
	if _, err := h.v.VerifyAWS(t.Context(), sign(t, spec{}), testAudience); err != nil {
		t.Fatalf("exactly 64 KiB: %v", err)
	}

	for _, chunked := range []bool{false, true} {
		h := newHarness(t, func(_ *mockSTS, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			if chunked {
				http.NewResponseController(w).Flush()
			}
			fmt.Fprint(w, pad(64<<10+1))
		}, nil)
		_, err := h.v.VerifyAWS(t.Context(), sign(t, spec{}), testAudience)
		wantReason(t, err, "outbound_refused", true)
		if n := h.sts.hits.Load(); n != 1 {
			t.Fatalf("chunked %v: requests = %d, want 1", chunked, n)
		}
	}

	trickle := func(_ *mockSTS, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		rc := http.NewResponseController(w)
		for _, b := range []byte(valid) {
			if _, err := w.Write([]byte{b}); err != nil || rc.Flush() != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	h = newHarness(t, trickle, func(o *Options) { o.Timeout = 200 * time.Millisecond })
	start := time.Now()
	_, err := h.v.VerifyAWS(t.Context(), sign(t, spec{}), testAudience)
	wantReason(t, err, "upstream_unavailable", true)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("trickle took %v", d)
	}
	if n := h.sts.hits.Load(); n != 3 {
		t.Fatalf("requests = %d, want 3", n)
	}
}

// TestRebinding (GCIX-24): an allowed name whose DNS answer is internal is
// refused at dial; nothing reaches the address.
func TestRebinding(t *testing.T) {
	for _, addr := range []string{"127.0.0.1", "::1", "10.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "0.0.0.0"} {
		t.Run(addr, func(t *testing.T) {
			h := newHarness(t, nil, func(o *Options) {
				o.Resolver = func(context.Context, string) ([]netip.Addr, error) {
					return []netip.Addr{netip.MustParseAddr(addr)}, nil
				}
			})
			_, err := h.v.VerifyAWS(t.Context(), sign(t, spec{}), testAudience)
			wantReason(t, err, "outbound_refused", true)
			if n, d := h.sts.conns(), h.dials.Load(); n != 0 || d != 0 {
				t.Fatalf("connections %d, dials %d; want 0", n, d)
			}
		})
	}
}
