package hostile

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Section 3.L: the audit log.
func TestAudit(t *testing.T) {
	h := newHarness(t)

	// AUD-02: hostile strings in fields the client controls stay inside
	// one escaped JSON line.
	for _, ua := range []string{"evil\u2028line", "\u202eesrever", strings.Repeat("x", 5000)} {
		req := h.sign(h.request("POST", "/", gciBody), alice, "us-east-1")
		req.Header.Set("User-Agent", ua)
		h.assertOK("AUD-02 user agent", h.send(req))
	}
	// net/http will not send control bytes in a header, so those go in a
	// parameter, which keyless refuses and audits with the value echoed.
	for _, v := range []string{"%00", "%0A", "%0D", "%1B%5B31m", "%E2%80%A8", "%E2%80%AE", "%FF"} {
		req := h.sign(h.request("POST", "/", "Action=GetAccessKeyInfo&Version=2011-06-15&AccessKeyId=AKIA"+v+"xxxxxxxxxxxxxxxx"), alice, "us-east-1")
		h.assertDenied("AUD-02 parameter "+v, h.send(req), 400, "ValidationError")
	}
	_ = h.store.QueryAudit(context.Background(), storage.AuditFilter{}, func(r storage.AuditRecord) error {
		if bytes.ContainsAny(r.JSON, "\n\r\x00\x1b") || bytes.Contains(r.JSON, []byte("\u2028")) || bytes.Contains(r.JSON, []byte("\u202e")) {
			t.Errorf("AUD-02: record %d holds a raw control character", r.Seq)
		}
		if len(r.JSON) > 16<<10 {
			t.Errorf("AUD-02: record %d is %d bytes", r.Seq, len(r.JSON))
		}
		return nil
	})

	// AUD-05: the chain over everything this harness wrote verifies.
	if n, err := audit.VerifyChain(context.Background(), h.store); err != nil || n < 5 {
		t.Errorf("AUD-05: %d events, %v", n, err)
	}

	// The CloudTrail shape of an issuance: the issued key by id only.
	h.session(alice, "&DurationSeconds=900")
	evs := h.events()
	ev := evs[len(evs)-1]
	raw, _ := json.Marshal(ev)
	for _, field := range []string{`"eventVersion"`, `"userIdentity"`, `"eventTime"`, `"eventSource":"sts.amazonaws.com"`, `"eventName":"GetSessionToken"`,
		`"awsRegion":"us-east-1"`, `"sourceIPAddress":"127.0.0.1"`, `"userAgent"`, `"requestParameters":{"durationSeconds":900}`,
		`"responseElements":{"credentials":{"accessKeyId":"ASIA`, `"requestID"`, `"eventID"`, `"readOnly":false`, `"eventType":"AwsApiCall"`,
		`"recipientAccountId":"111122223333"`} {
		if !strings.Contains(string(raw), field) {
			t.Errorf("event lacks %s: %s", field, raw)
		}
	}
	if strings.Contains(string(raw), "secret") || strings.Contains(string(raw), "sessionToken") {
		t.Errorf("issuance event mentions a secret: %s", raw)
	}
}

// AUD-04 / F-04: when the audit store fails, nothing is issued.
func TestAuditStoreDown(t *testing.T) {
	h := newHarness(t)
	h.store.failAudit.Store(true)
	for _, body := range []string{gst, gciBody} {
		r := h.do(h.sign(h.request("POST", "/", body), alice, "us-east-1"))
		h.assertDenied("AUD-04 "+body, r, 503, "ServiceUnavailable")
	}
	if !strings.Contains(h.logs.String(), "audit event not stored") {
		t.Error("the failure was not logged")
	}
	h.store.failAudit.Store(false)
	h.assertOK("AUD-04 recovered without a restart", h.send(h.sign(h.request("POST", "/", gst), alice, "us-east-1")))
}

// Section 3.M: faults and load.
func TestFaults(t *testing.T) {
	h := newHarness(t)
	mfaReq := func() *http.Request {
		return h.sign(h.request("POST", "/", gst+"&SerialNumber="+bobSerial+"&TokenCode="+h.code(bobSeed, 0)), bob, "us-east-1")
	}

	// F-03: the MFA state cannot be read: fail closed, audited.
	h.store.failMFA.Store(true)
	h.assertDenied("F-03 MFA store down", h.send(mfaReq()), 503, "ServiceUnavailable")
	h.store.failMFA.Store(false)

	// A panic inside an action is an InternalFailure ErrorResponse, audited.
	h.store.panicMFA.Store(true)
	r := h.send(mfaReq())
	h.store.panicMFA.Store(false)
	if r.status != 500 || r.code != "InternalFailure" || strings.Contains(r.body, "<Credentials>") || strings.Contains(r.body, "injected") {
		t.Errorf("panic: %d %s %s", r.status, r.code, r.body)
	}

	// F-16: the same code 50 times at once succeeds exactly once.
	var wins atomic.Int32
	var wg sync.WaitGroup
	reqs := make([]*http.Request, 50)
	for i := range reqs {
		reqs[i] = mfaReq()
	}
	for _, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if h.do(req).status == 200 {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("F-16: %d successes for one code", wins.Load())
	}
}

// Real STS answers JSON for Accept: application/json; aws-iam-authenticator
// relies on it for GetCallerIdentity.
func TestJSONMode(t *testing.T) {
	h := newHarness(t)
	req, _ := http.NewRequest("GET", h.presign(alice, gciBody), nil)
	req.Header.Set("Accept", "application/json")
	r := h.send(req)
	var doc struct {
		GetCallerIdentityResponse struct {
			GetCallerIdentityResult struct{ Arn, Account string }
			ResponseMetadata        struct {
				RequestID string `json:"RequestId"`
			}
		}
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil || doc.GetCallerIdentityResponse.GetCallerIdentityResult.Arn != "arn:aws:iam::111122223333:user/alice" ||
		doc.GetCallerIdentityResponse.ResponseMetadata.RequestID != r.requestID {
		t.Fatalf("JSON identity: %v %s", err, r.body)
	}
	bad, _ := http.NewRequest("GET", h.srv.URL+"/?"+gciBody, nil)
	bad.Header.Set("Accept", "application/json")
	r = h.do(bad)
	var e struct {
		Error     struct{ Code, Message, Type string }
		RequestID string `json:"RequestId"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || r.status != 403 || e.Error.Code != "MissingAuthenticationToken" || e.Error.Type != "Sender" {
		t.Fatalf("JSON error: %v %d %s", err, r.status, r.body)
	}
}
