package hostile

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/awsproof/awsprooftest"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/idtoken/idtokentest"
	"github.com/keyless-dev/keyless/internal/outbound/outboundtest"
	"github.com/keyless-dev/keyless/internal/storage/memory"
	"github.com/keyless-dev/keyless/test/internal/proc"
)

// Sections 3.H (a serialized, signed sts:GetCallerIdentity request as the
// subject token), 3.I (the RFC 8693 protocol) and the rows of 3.F that apply
// to the token exchange, through the real HTTP handler
// (POST /v1/token and POST /SecureTokenService/ExchangeExternalToken).
//
// The upstream STS is a plain-http mock on 127.0.0.1 (an operator upstream
// with allow_http_loopback) that counts connections and requests and
// verifies SigV4 signatures as AWS would, with alice's secret. Envelopes
// are signed for real with aws-sdk-go-v2 at the harness's fake clock; each
// signing uses a fresh session token, so that no two signatures are alike
// (a signature is accepted once, GCIX-13).

const (
	xAud        = "hostile-aud"
	xIssuer     = "https://exchange-idp.example.com"
	xAccount    = "111122223333"
	xAliceARN   = "arn:aws:iam::" + xAccount + ":user/alice"
	xAliceUID   = "AIDAALICEEXAMPLE00001"
	xGrant      = "urn:ietf:params:oauth:grant-type:token-exchange"
	xTypeAWS    = "urn:ietf:params:aws:token-type:aws4_request"
	xTypeJWT    = "urn:ietf:params:oauth:token-type:jwt"
	xTypeID     = "urn:ietf:params:oauth:token-type:id_token"
	xPathEx     = "/SecureTokenService/ExchangeExternalToken"
	xPathToken  = "/v1/token"
	xPathChall  = "/SecureTokenService/Challenge"
	xSTSNS      = "https://sts.amazonaws.com/doc/2011-06-15/"
	xFormCT     = "application/x-www-form-urlencoded; charset=utf-8"
	xMarker     = "UPSTREAM-MESSAGE-MARKER-7d1f"
	xDemoPrefix = "arn:aws:sts::" + xAccount + ":assumed-role/Demo/"
)

// ---------------------------------------------------------------------------
// The mock upstream STS.

type xSeen struct {
	method, uri, host, body string
	header                  http.Header
}

// xUpstream is a counting, recording HTTP server whose behaviour a row can
// switch.
type xUpstream struct {
	srv   *httptest.Server
	conns atomic.Int64
	mu    sync.Mutex
	reqs  []xSeen
	h     func(u *xUpstream, w http.ResponseWriter, r *http.Request)
	valid atomic.Int64 // requests whose signature verified
}

func newXUpstream(t *testing.T, h func(*xUpstream, http.ResponseWriter, *http.Request)) *xUpstream {
	t.Helper()
	u := &xUpstream{h: h}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		u.mu.Lock()
		u.reqs = append(u.reqs, xSeen{r.Method, r.RequestURI, r.Host, string(body), r.Header.Clone()})
		handler := u.h
		u.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		handler(u, w, r)
	}))
	u.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			u.conns.Add(1)
		}
	}
	u.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	u.srv.Start()
	t.Cleanup(u.srv.Close)
	return u
}

func (u *xUpstream) host() string { return u.srv.Listener.Addr().String() }

func (u *xUpstream) answer(h func(*xUpstream, http.ResponseWriter, *http.Request)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.h = h
}

func (u *xUpstream) requests() []xSeen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.reqs)
}

type xMark struct{ conns, reqs int64 }

func (u *xUpstream) mark() xMark {
	u.mu.Lock()
	defer u.mu.Unlock()
	return xMark{u.conns.Load(), int64(len(u.reqs))}
}

var xAliceXML = awsprooftest.IdentityXML(xAliceARN, xAliceUID, xAccount)

func xWrite(w http.ResponseWriter, status int, ctype, body string) {
	if ctype == "" {
		w.Header()["Content-Type"] = nil // no sniffing either
	} else {
		w.Header().Set("Content-Type", ctype)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// xAnswer is a mock that answers status, ctype and body to every request.
func xAnswer(status int, ctype, body string) func(*xUpstream, http.ResponseWriter, *http.Request) {
	return func(_ *xUpstream, w http.ResponseWriter, _ *http.Request) { xWrite(w, status, ctype, body) }
}

func xAWSError(code, message string) string {
	return `<ErrorResponse xmlns="` + xSTSNS + `"><Error><Type>Sender</Type><Code>` + code + `</Code><Message>` + message +
		`</Message></Error><RequestId>4b1c0d2e-0000-0000-0000-000000000000</RequestId></ErrorResponse>`
}

// xSTSAlice is the default upstream: it verifies the forwarded request's
// SigV4 signature with alice's secret and answers alice's identity, or
// AWS's 403 SignatureDoesNotMatch.
func xSTSAlice(u *xUpstream, w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !xVerify(r, body) {
		xWrite(w, 403, "text/xml", xAWSError("SignatureDoesNotMatch", xMarker+" The request signature we calculated does not match"))
		return
	}
	u.valid.Add(1)
	xWrite(w, 200, "text/xml", xAliceXML)
}

// xVerify signs the received request again as AWS would and compares.
func xVerify(r *http.Request, body []byte) bool {
	return awsprooftest.Resigned(r, body, "http", func(id string) (string, bool) { return alice.secret, id == alice.id })
}

// xClosedAddr is a loopback address nobody listens on.
func xClosedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// ---------------------------------------------------------------------------
// The keyless under test.

type xKeys struct {
	rsa, ec  *idtokentest.Signer // published, allowed algorithms (RS256, ES256)
	ps, ed   *idtokentest.Signer // published, algorithms not allowed (PS256, EdDSA)
	attacker *idtokentest.Signer // published nowhere
}

var xKeysOnce = sync.OnceValue(func() *xKeys {
	ps := idtokentest.NewRSA("x-ps")
	ps.Alg = "PS256"
	return &xKeys{rsa: idtokentest.NewRSA("x-rsa"), ec: idtokentest.NewEC("x-ec"), ps: ps,
		ed: idtokentest.NewEd25519("x-ed"), attacker: idtokentest.NewRSA("x-rsa")}
})

// xEdit adds the exchange to testdata/roles.yaml: an AWS identity provider
// for alice that trusts the mock's answers, an OIDC issuer with a static
// key set and an identity provider on it, both granting Demo for audience
// hostile-aud; as upstream STS endpoints the mock, a closed port and a
// second mock no identity provider trusts.
func xEdit(upURL, otherURL, closedURL string, challenge bool, jwks []byte) func(string) string {
	return func(text string) string {
		providers := "    oidc_providers:\n" +
			"      - url: " + xIssuer + "\n        jwks: '" + string(jwks) + "'\n" +
			"    identity_providers:\n" +
			"      - name: hostile-aws\n        issuer: https://sts.amazonaws.com\n        subject: " + xAliceARN + "\n" +
			"        audiences: [" + xAud + "]\n        role: Demo\n        sts_endpoints: [" + upURL + "]\n" +
			"      - name: hostile-oidc\n        issuer: " + xIssuer + "\n        subject: alice\n" +
			"        audiences: [" + xAud + "]\n        role: Demo\n"
		if !strings.Contains(text, "    roles:\n") {
			panic("roles.yaml has no roles section")
		}
		text = strings.Replace(text, "    roles:\n", providers+"    roles:\n", 1)
		text += "exchange:\n  aws:\n    upstreams:\n" +
			"      - url: " + upURL + "\n        region: us-east-1\n        allow_http_loopback: true\n" +
			"      - url: " + closedURL + "\n        region: us-east-1\n        allow_http_loopback: true\n" +
			"      - url: " + otherURL + "\n        region: us-east-1\n        allow_http_loopback: true\n"
		if challenge {
			text += "    require_challenge: true\n"
		}
		return text
	}
}

// xEnv is a harness serving the token exchange, with its mock upstream.
type xEnv struct {
	*harness
	up     *xUpstream
	other  *xUpstream // an upstream the AWS identity provider does not trust
	closed string     // host:port of the upstream that refuses connections
	k      *xKeys
}

func newXEnv(t *testing.T, challenge bool) *xEnv {
	t.Helper()
	k := xKeysOnce()
	up, other := newXUpstream(t, xSTSAlice), newXUpstream(t, xSTSAlice)
	closed := xClosedAddr(t)
	h := &harness{t: t, config: "roles.yaml", clock: clock.NewFake(start), store: &faultyStore{Store: memory.New()}, logs: &proc.Logs{}}
	h.boot(xEdit(up.srv.URL, other.srv.URL, "http://"+closed, challenge, idtokentest.JWKS(k.rsa, k.ec, k.ps, k.ed)))
	return &xEnv{harness: h, up: up, other: other, closed: closed, k: k}
}

// sub is the environment reporting to a subtest.
func (x *xEnv) sub(t *testing.T) *xEnv {
	c := *x.harness
	c.t = t
	return &xEnv{harness: &c, up: x.up, other: x.other, closed: x.closed, k: x.k}
}

// ---------------------------------------------------------------------------
// Envelopes.

// xEnvelope is a serialized request as a test manipulates it.
type xEnvelope = awsprooftest.Envelope

// xSpec describes an envelope to sign.
type xSpec struct {
	host    string // default the mock's host:port
	scheme  string // default http
	region  string // default us-east-1
	service string // default sts
	audName string // default X-Keyless-Audience; "-" for none
	aud     string // default xAud
	at      time.Time
	query   bool // the action in the query string, no body
	extra   map[string]string
	noToken bool
	akid    string // default alice's
	secret  string // default alice's
}

var xSigRE = regexp.MustCompile(`Signature=([0-9a-f]{64})`)

func xRandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sign signs a GetCallerIdentity request with aws-sdk-go-v2 and serializes
// it as {"url", "method", "headers": [{"key", "value"}], "body"}.
func (x *xEnv) sign(s xSpec) xEnvelope {
	x.t.Helper()
	if s.host == "" {
		s.host = x.up.host()
	}
	if s.scheme == "" {
		s.scheme = "http"
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.service == "" {
		s.service = "sts"
	}
	if s.audName == "" {
		s.audName = "X-Keyless-Audience"
	}
	if s.aud == "" {
		s.aud = xAud
	}
	if s.at.IsZero() {
		s.at = x.clock.Now()
	}
	if s.akid == "" {
		s.akid, s.secret = alice.id, alice.secret
	}
	headers := map[string]string{}
	if s.audName != "-" {
		headers[s.audName] = s.aud
	}
	maps.Copy(headers, s.extra)
	creds := aws.Credentials{AccessKeyID: s.akid, SecretAccessKey: s.secret}
	if !s.noToken {
		creds.SessionToken = "FwoGZXIvYXdzEHostileSessionToken" + xRandomHex(16)
	}
	e, err := awsprooftest.Sign(awsprooftest.SignSpec{Endpoint: s.scheme + "://" + s.host, BodyForm: !s.query, Headers: headers,
		Credentials: creds, Service: s.service, Region: s.region, At: s.at})
	if err != nil {
		x.t.Fatal(err)
	}
	noteSecret(s.secret, creds.SessionToken)
	if m := xSigRE.FindStringSubmatch(e.Get("authorization")); m != nil {
		noteSecret(m[1])
	}
	return e
}

// presign is a presigned GET (query-string authentication) of the action.
func (x *xEnv) presign(expires string, extraQuery string) xEnvelope {
	x.t.Helper()
	u := "http://" + x.up.host() + "/?" + gciBody + "&X-Amz-Expires=" + expires + extraQuery
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		x.t.Fatal(err)
	}
	req.Header.Set("X-Keyless-Audience", xAud)
	token := "FwoGZXIvYXdzEHostilePresign" + xRandomHex(16)
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: alice.id, SecretAccessKey: alice.secret, SessionToken: token},
		req, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sts", "us-east-1", x.clock.Now())
	if err != nil {
		x.t.Fatal(err)
	}
	noteSecret(token)
	if i := strings.Index(signed, "X-Amz-Signature="); i >= 0 && len(signed) >= i+16+64 {
		noteSecret(signed[i+16 : i+16+64])
	}
	return xEnvelope{URL: signed, Method: http.MethodGet, Headers: [][2]string{{"host", x.up.host()}, {"x-keyless-audience", xAud}}}
}

// xEnvelopeSecrets are the parts of an envelope that must never be
// written: its signatures and session tokens.
func xEnvelopeSecrets(b []byte) []string {
	var out []string
	for _, m := range xSigRE.FindAllSubmatch(b, -1) {
		out = append(out, string(m[1]))
	}
	for _, m := range regexp.MustCompile(`FwoGZXIvYXdzEHostile[A-Za-z]+[0-9a-f]{32}`).FindAll(b, -1) {
		out = append(out, string(m))
	}
	return out
}

// ---------------------------------------------------------------------------
// Calls and checks.

// xResult is an answer and the audit event it produced.
type xResult struct {
	status    int
	header    http.Header
	body      string
	fields    map[string]any
	code      string
	desc      string
	requestID string
	ev        audit.Event
	raw       string
	cred      xCredential
}

type xCredential struct {
	Version         int    `json:"version"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	SessionToken    string `json:"session_token"`
	Expiration      string `json:"expiration"`
	Account         string `json:"account"`
	ARN             string `json:"arn"`
}

// raw posts body to path and parses the JSON answer, without the audit
// check.
func (x *xEnv) raw(path, ctype, body string, timeout time.Duration) xResult {
	x.t.Helper()
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.srv.URL+path, strings.NewReader(body))
	if err != nil {
		x.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		x.t.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := xResult{status: resp.StatusCode, header: resp.Header, body: string(b), requestID: resp.Header.Get("x-amzn-RequestId")}
	if err := json.Unmarshal(b, &r.fields); err != nil {
		x.t.Fatalf("answer is not a JSON object: %v\n%s", err, b)
	}
	r.code, _ = r.fields["error"].(string)
	r.desc, _ = r.fields["error_description"].(string)
	if r.status == 200 {
		enc, _ := r.fields["access_token"].(string)
		if enc == "" {
			enc, _ = r.fields["base64_credential"].(string)
		}
		if enc != "" {
			noteSecret(enc)
			doc, err := base64.StdEncoding.DecodeString(enc)
			if err != nil || json.Unmarshal(doc, &r.cred) != nil {
				x.t.Errorf("the credential is not a base64 JSON document: %q", enc)
			}
			noteSecret(r.cred.SecretAccessKey, r.cred.SessionToken)
		}
	}
	return r
}

// call posts and checks what every answer must satisfy: one new audit
// event, for this request id and with the answer's error code, and none of
// secrets in the event, the answer or the server log.
func (x *xEnv) call(path, ctype, body string, timeout time.Duration, secrets ...string) xResult {
	x.t.Helper()
	noteSecret(secrets...)
	before := len(x.events())
	r := x.raw(path, ctype, body, timeout)
	evs := x.events()
	if len(evs) != before+1 {
		x.t.Fatalf("AUD-01: %d audit events for one request (status %d %s)", len(evs)-before, r.status, r.code)
	}
	r.ev = evs[len(evs)-1]
	if r.ev.RequestID != r.requestID || r.ev.ErrorCode != r.code {
		x.t.Fatalf("audit event %s/%q does not match the answer %s/%q", r.ev.RequestID, r.ev.ErrorCode, r.requestID, r.code)
	}
	rb, _ := json.Marshal(r.ev)
	r.raw = string(rb)
	logs := x.logs.String()
	for _, s := range secrets {
		if len(s) < 16 {
			continue
		}
		if strings.Contains(r.raw, s) || strings.Contains(logs, s) || strings.Contains(r.body, s) {
			x.t.Errorf("a secret of the request (%d bytes) reached the audit event, the server log or the answer", len(s))
		}
	}
	return r
}

// xForm is a form of the given keys and values, in order.
func xForm(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

// aws exchanges an envelope at /v1/token.
func (x *xEnv) aws(env []byte) xResult {
	x.t.Helper()
	return x.call(xPathToken, formType, xForm("grant_type", xGrant, "audience", xAud, "subject_token_type", xTypeAWS,
		"subject_token", string(env)), 0, xEnvelopeSecrets(env)...)
}

// external is ExchangeExternalToken.
func (x *xEnv) external(audience, issuer, token string) xResult {
	x.t.Helper()
	b, _ := json.Marshal(map[string]string{"audience": audience, "issuer_uri": issuer, "jwt_token": token})
	return x.call(xPathEx, "application/json", string(b), 0, append(xTokenSecrets(token), xEnvelopeSecrets([]byte(token))...)...)
}

// xTokenSecrets are the token and its signature segment, when long enough
// to be unique.
func xTokenSecrets(token string) []string {
	out := []string{}
	if len(token) >= 16 && len(token) <= 32<<10 {
		out = append(out, token)
	}
	if i := strings.LastIndexByte(token, '.'); i >= 0 && len(token)-i > 24 && len(token)-i < 4096 {
		out = append(out, token[i+1:])
	}
	return out
}

var xCredentialWords = []string{"access_token", "base64_credential", "secret_access_key", "session_token", "access_key_id",
	"AccessKeyId", "SecretAccessKey", "SessionToken", "ASIA"}

// deny is assertDenied for the token exchange: status and RFC 6749 code,
// no credential, the RFC 6749 section 5.2 body (error, error_description,
// request_id, nothing else), one audit event with the code and a reason.
// reason, if not empty, is the audit reason wanted.
func (x *xEnv) deny(id string, r xResult, status int, code, reason string) {
	x.t.Helper()
	if r.status != status || r.code != code {
		x.t.Errorf("%s: got %d %s (audit reason %q), want %d %s", id, r.status, r.code, r.ev.AdditionalEventData["reason"], status, code)
	}
	for _, w := range xCredentialWords {
		if strings.Contains(r.body, w) {
			x.t.Errorf("%s: the refusal carries %s", id, w)
		}
	}
	if len(r.fields) != 3 || r.fields["request_id"] != r.requestID || r.requestID == "" {
		x.t.Errorf("%s: not an RFC 6749 error body with the request id: %s", id, r.body)
	}
	if !strings.Contains(r.desc, "Request id: "+r.requestID+".") {
		x.t.Errorf("%s: error_description %q lacks the request id", id, r.desc)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		x.t.Errorf("%s: Cache-Control %q", id, r.header.Get("Cache-Control"))
	}
	got := r.ev.AdditionalEventData["reason"]
	if got == "" || reason != "" && got != reason {
		x.t.Errorf("%s: audit reason %q, want %q", id, got, reason)
	}
	if r.ev.ErrorCode != code {
		x.t.Errorf("%s: audit error code %q, want %q", id, r.ev.ErrorCode, code)
	}
	x.t.Logf("%s: %d %s, audit reason %s", id, r.status, r.code, got)
	xOracle.record(id, code, strings.ReplaceAll(r.desc, r.requestID, "<request id>"), got)
}

// accept checks a granted exchange.
func (x *xEnv) accept(id string, r xResult) {
	x.t.Helper()
	c := r.cred
	if r.status != 200 || !strings.HasPrefix(c.AccessKeyID, "ASIA") || c.SecretAccessKey == "" || c.SessionToken == "" ||
		!strings.HasPrefix(c.ARN, xDemoPrefix) || c.Account != xAccount {
		x.t.Errorf("%s: got %d %s (audit reason %q), want credentials of Demo", id, r.status, r.code, r.ev.AdditionalEventData["reason"])
		return
	}
	if r.ev.ErrorCode != "" || r.ev.AdditionalEventData["reason"] != "" {
		x.t.Errorf("%s: the audit event of a grant has error code %q, reason %q", id, r.ev.ErrorCode, r.ev.AdditionalEventData["reason"])
	}
	if r.header.Get("Cache-Control") != "no-store" {
		x.t.Errorf("%s: Cache-Control %q", id, r.header.Get("Cache-Control"))
	}
	if strings.Contains(r.raw, c.SecretAccessKey) || strings.Contains(r.raw, c.SessionToken) {
		x.t.Errorf("%s: the audit event holds the issued secret", id)
	}
}

// upstream checks how many requests (and, for none, connections) reached
// the mock since m.
func (x *xEnv) upstream(id string, m xMark, reqs int64) {
	x.t.Helper()
	now := x.up.mark()
	if got := now.reqs - m.reqs; got != reqs {
		x.t.Errorf("%s: the upstream STS received %d requests, want %d", id, got, reqs)
	}
	if reqs == 0 && now.conns != m.conns {
		x.t.Errorf("%s: %d new connections to the upstream STS, want 0", id, now.conns-m.conns)
	}
}

// xOracleSet collects every refusal of this file: per error code, the
// descriptions (with the request id blanked) and the audit reasons.
type xOracleSet struct {
	sync.Mutex
	desc    map[string]map[string][]string // code -> description -> row ids
	reasons map[string]map[string]int      // code -> reason -> count
}

var xOracle = &xOracleSet{desc: map[string]map[string][]string{}, reasons: map[string]map[string]int{}}

func (o *xOracleSet) record(id, code, desc, reason string) {
	o.Lock()
	defer o.Unlock()
	if o.desc[code] == nil {
		o.desc[code] = map[string][]string{}
		o.reasons[code] = map[string]int{}
	}
	o.desc[code][desc] = append(o.desc[code][desc], id)
	o.reasons[code][reason]++
}

// ---------------------------------------------------------------------------
// Rows.

// xRow is one hostile AWS subject token.
type xRow struct {
	id     string
	env    func(s *xEnv) []byte
	reason string // the audit reason; "" for any
	status int    // default 400
	code   string // default invalid_request
	reqs   int64  // requests the upstream must see; 0 for envelope rows
	mock   func(*xUpstream, http.ResponseWriter, *http.Request)
}

func (x *xEnv) runRows(t *testing.T, rows []xRow) {
	t.Helper()
	for _, row := range rows {
		t.Run(row.id, func(t *testing.T) {
			s := x.sub(t)
			if row.mock != nil {
				s.up.answer(row.mock)
				defer s.up.answer(xSTSAlice)
			}
			status, code := row.status, row.code
			if status == 0 {
				status = 400
			}
			if code == "" {
				code = "invalid_request"
			}
			env := row.env(s)
			m := s.up.mark()
			r := s.aws(env)
			if r.status == 200 {
				t.Errorf("%s: ACCEPTED (200 with credentials), want %d %s", row.id, status, code)
			}
			s.deny(row.id, r, status, code, row.reason)
			s.upstream(row.id, m, row.reqs)
		})
	}
}

// e wraps an envelope edit of a freshly signed valid envelope.
func xE(edit func(s *xEnv, v xEnvelope) xEnvelope) func(*xEnv) []byte {
	return func(s *xEnv) []byte { return edit(s, s.sign(xSpec{})).Bytes() }
}

// signed is a freshly signed envelope of spec s.
func xSigned(spec xSpec) func(*xEnv) []byte {
	return func(s *xEnv) []byte { return s.sign(spec).Bytes() }
}

// rawEnv edits the JSON text of a freshly signed valid envelope.
func xRawEnv(edit func(s *xEnv, b string) string) func(*xEnv) []byte {
	return func(s *xEnv) []byte { return []byte(edit(s, string(s.sign(xSpec{}).Bytes()))) }
}

// ---------------------------------------------------------------------------
// Positive controls.

// TestExchangeAWSAccepted: the valid forms are accepted, once, and the
// forwarded request is the rebuilt one (V-01).
func TestExchangeAWSAccepted(t *testing.T) {
	x := newXEnv(t, false)

	m := x.up.mark()
	r := x.aws(x.sign(xSpec{}).Bytes())
	x.accept("valid envelope at /v1/token", r)
	x.upstream("valid envelope", m, 1)
	if r.fields["issued_token_type"] != "urn:keyless:params:oauth:token-type:aws-credentials" || r.fields["token_type"] != "N_A" ||
		r.fields["expires_in"] != float64(3600) {
		t.Errorf("token response %v", r.fields)
	}
	if r.ev.UserIdentity.ARN != xAliceARN || r.ev.UserIdentity.AccessKeyID != alice.id || r.ev.EventName != "ExchangeToken" {
		t.Errorf("audit event %s", r.raw)
	}
	if x.up.valid.Load() != 1 {
		t.Errorf("the forwarded request's signature did not verify at the upstream")
	}
	seen := x.up.requests()
	if len(seen) == 1 {
		s := seen[0]
		if s.method != "POST" || s.uri != "/" || s.body != gciBody || s.host != x.up.host() {
			t.Errorf("forwarded %s %s host %s body %q", s.method, s.uri, s.host, s.body)
		}
		allowed := []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Keyless-Audience", "Content-Type",
			"User-Agent", "Accept-Encoding", "Content-Length", "Connection", "Accept"}
		for name := range s.header {
			if !slices.Contains(allowed, name) {
				t.Errorf("V-01: the forwarded request carries %s", name)
			}
		}
		if s.header.Get("User-Agent") != "keyless" {
			t.Errorf("forwarded User-Agent %q", s.header.Get("User-Agent"))
		}
		if a := s.header.Values("Accept"); len(a) > 1 || len(a) == 1 && a[0] != "text/xml" {
			t.Errorf("V-01: forwarded Accept %q", a)
		}
	}

	// The query form, ExchangeExternalToken, and Google's format (the
	// JSON URL-encoded once more inside the form).
	m = x.up.mark()
	x.accept("query form", x.aws(x.sign(xSpec{query: true}).Bytes()))
	x.accept("ExchangeExternalToken", x.external(xAud, "https://sts.amazonaws.com", string(x.sign(xSpec{}).Bytes())))
	g := x.sign(xSpec{}).Bytes()
	x.accept("Google format", x.call(xPathToken, formType, xForm("grant_type", xGrant, "audience", xAud, "subject_token_type", xTypeAWS,
		"subject_token", url.QueryEscape(string(g))), 0, xEnvelopeSecrets(g)...))
	// An empty path is "/" (RFC 3986 section 6.2.3; Google's clients send
	// it): accepted by design.
	x.accept("GCIX-03/control empty path", x.aws(x.sign(xSpec{}).WithURL("http://"+x.up.host()).Bytes()))
	x.upstream("four more", m, 4)
	// Boundaries of GCIX-12 and GCIX-23.
	x.accept("GCIX-12/control signed 4m59s ago", x.aws(x.sign(xSpec{at: x.clock.Now().Add(-4*time.Minute - 59*time.Second)}).Bytes()))
	x.accept("GCIX-12/control signed 59s ahead", x.aws(x.sign(xSpec{at: x.clock.Now().Add(59 * time.Second)}).Bytes()))
	b := x.sign(xSpec{}).Bytes()
	padded := "{" + strings.Repeat(" ", 64<<10-len(b)) + string(b[1:])
	x.accept("GCIX-23/control envelope of exactly 64 KiB", x.aws([]byte(padded)))
	// OIDC.
	x.accept("OIDC ExchangeExternalToken", x.external(xAud, xIssuer, x.jwt(nil)))
	x.accept("OIDC /v1/token jwt", x.call(xPathToken, formType, xForm("grant_type", xGrant, "audience", xAud, "subject_token_type", xTypeJWT,
		"subject_token", x.jwt(nil)), 0))
	x.accept("OIDC /v1/token id_token, ES256", x.call(xPathToken, formType, xForm("grant_type", xGrant, "audience", xAud, "subject_token_type", xTypeID,
		"subject_token", x.k.ec.Sign(x.claims(nil))), 0))
}

// ---------------------------------------------------------------------------
// 3.H: the envelope, refused before any connection.

func TestExchangeAWSEnvelope(t *testing.T) {
	x := newXEnv(t, false)
	mock := func(s *xEnv) string { return s.up.host() }
	port := func(s *xEnv) string { _, p, _ := net.SplitHostPort(s.up.host()); return p }
	at := func(u func(s *xEnv) string) func(*xEnv) []byte {
		return xE(func(s *xEnv, v xEnvelope) xEnvelope { return v.WithURL(u(s)) })
	}
	// An envelope for another host, with a matching host header.
	to := func(u func(s *xEnv) string, host string) func(*xEnv) []byte {
		return xE(func(s *xEnv, v xEnvelope) xEnvelope { return v.WithURL(u(s)).Set("host", host) })
	}
	rows := []xRow{
		// GCIX-02: scheme, port, userinfo.
		{id: "GCIX-02/scheme ftp", env: at(func(s *xEnv) string { return "ftp://" + mock(s) + "/" }), reason: "aws_scheme_not_allowed"},
		{id: "GCIX-02/scheme file", env: at(func(s *xEnv) string { return "file:///etc/passwd" }), reason: "aws_scheme_not_allowed"},
		{id: "GCIX-02/scheme file with the host", env: at(func(s *xEnv) string { return "file://" + mock(s) + "/" }), reason: "aws_scheme_not_allowed"},
		{id: "GCIX-02/https to the plain-http upstream", env: at(func(s *xEnv) string { return "https://" + mock(s) + "/" }), reason: "aws_scheme_not_allowed"},
		{id: "GCIX-02/upper-case scheme", env: at(func(s *xEnv) string { return "HTTP://" + mock(s) + "/" }), reason: "aws_scheme_not_allowed"},
		{id: "GCIX-02/scheme-relative", env: at(func(s *xEnv) string { return "//" + mock(s) + "/" }), reason: "aws_scheme_not_allowed"},
		{id: "GCIX-02/no scheme", env: at(func(s *xEnv) string { return mock(s) + "/" }), reason: "aws_scheme_not_allowed"},
		{id: "GCIX-02/gopher", env: at(func(s *xEnv) string { return "gopher://" + mock(s) + "/" }), reason: "aws_scheme_not_allowed"},
		{id: "GCIX-02/explicit port 443", env: to(func(*xEnv) string { return "https://sts.amazonaws.com:443/" }, "sts.amazonaws.com:443"), reason: "aws_port_not_allowed"},
		{id: "GCIX-02/explicit port 8443", env: to(func(*xEnv) string { return "https://sts.amazonaws.com:8443/" }, "sts.amazonaws.com:8443"), reason: "aws_port_not_allowed"},
		{id: "GCIX-02/empty port", env: to(func(*xEnv) string { return "https://sts.amazonaws.com:/" }, "sts.amazonaws.com:"), reason: ""},
		{id: "GCIX-02/userinfo", env: at(func(s *xEnv) string { return "http://alice@" + mock(s) + "/" }), reason: "aws_url_userinfo"},
		{id: "GCIX-02/userinfo with password", env: at(func(s *xEnv) string { return "http://alice:pw@" + mock(s) + "/" }), reason: "aws_url_userinfo"},
		{id: "GCIX-02/userinfo naming the upstream", env: at(func(s *xEnv) string { return "http://" + mock(s) + "@127.0.0.1:1/" }), reason: "aws_url_userinfo"},
		{id: "GCIX-02/backslash authority", env: at(func(s *xEnv) string { return "http://" + mock(s) + "\\@127.0.0.1:1/" }), reason: ""},
		{id: "GCIX-02/another loopback port", env: to(func(*xEnv) string { return "http://127.0.0.1:1/" }, "127.0.0.1:1"), reason: "aws_host_not_allowed"},
		{id: "GCIX-02/localhost for the upstream", env: to(func(s *xEnv) string { return "http://localhost:" + port(s) + "/" }, "localhost"), reason: "aws_host_not_allowed"},
		{id: "GCIX-02/IPv6 loopback", env: to(func(s *xEnv) string { return "http://[::1]:" + port(s) + "/" }, "[::1]"), reason: "aws_host_not_allowed"},
		{id: "GCIX-02/decimal IP", env: to(func(s *xEnv) string { return "http://2130706433:" + port(s) + "/" }, "2130706433"), reason: "aws_host_not_allowed"},
		{id: "GCIX-02/trailing dot", env: to(func(s *xEnv) string { return "http://127.0.0.1.:" + port(s) + "/" }, "127.0.0.1."), reason: "aws_host_not_allowed"},
		{id: "GCIX-02/percent-encoded host", env: at(func(s *xEnv) string { return "http://127.0.0.1%3A" + port(s) + "/" }), reason: "aws_url_malformed"},
		{id: "GCIX-02/sts.amazonaws.com.spoof", env: to(func(*xEnv) string { return "https://sts.amazonaws.com.spoof/" }, "sts.amazonaws.com.spoof"), reason: "aws_host_not_allowed"},
		{id: "GCIX-02/metadata address", env: to(func(*xEnv) string { return "http://169.254.169.254/" }, "169.254.169.254"), reason: "aws_host_not_allowed"},

		// GCIX-03: path, query, fragment.
		{id: "GCIX-03/path /x", env: at(func(s *xEnv) string { return "http://" + mock(s) + "/x" }), reason: "aws_path_not_root"},
		{id: "GCIX-03/path //", env: at(func(s *xEnv) string { return "http://" + mock(s) + "//" }), reason: "aws_path_not_root"},
		{id: "GCIX-03/path /%2e%2e/", env: at(func(s *xEnv) string { return "http://" + mock(s) + "/%2e%2e/" }), reason: "aws_path_not_root"},
		{id: "GCIX-03/path /./", env: at(func(s *xEnv) string { return "http://" + mock(s) + "/./" }), reason: "aws_path_not_root"},
		{id: "GCIX-03/query on a POST with a body", env: at(func(s *xEnv) string { return "http://" + mock(s) + "/?" + gciBody }), reason: "aws_body_not_allowed"},
		{id: "GCIX-03/other query", env: at(func(s *xEnv) string { return "http://" + mock(s) + "/?foo=bar" }), reason: "aws_query_not_allowed"},
		{id: "GCIX-03/empty query", env: at(func(s *xEnv) string { return "http://" + mock(s) + "/?" }), reason: "aws_query_not_allowed"},
		{id: "GCIX-03/query with a second Action", env: xE(func(s *xEnv, v xEnvelope) xEnvelope {
			return v.WithURL("http://" + mock(s) + "/?" + gciBody + "&Action=AssumeRole").WithoutBody().Del("content-type")
		}), reason: "aws_query_not_allowed"},
		{id: "GCIX-03/fragment", env: at(func(s *xEnv) string { return "http://" + mock(s) + "/#frag" }), reason: "aws_url_fragment"},
		{id: "GCIX-03/empty fragment", env: at(func(s *xEnv) string { return "http://" + mock(s) + "/#" }), reason: "aws_url_fragment"},
		{id: "GCIX-03/query and fragment", env: at(func(s *xEnv) string { return "http://" + mock(s) + "/?" + gciBody + "#x" }), reason: "aws_url_fragment"},

		// GCIX-04: method.
		{id: "GCIX-04/GET", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.WithMethod("GET") }), reason: "aws_method_not_post"},
		{id: "GCIX-04/lower-case post", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.WithMethod("post") }), reason: "aws_method_not_post"},
		{id: "GCIX-04/PUT", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.WithMethod("PUT") }), reason: "aws_method_not_post"},
		{id: "GCIX-04/empty", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.WithMethod("") }), reason: ""},
		{id: "GCIX-04/POST with a trailing space", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.WithMethod("POST ") }), reason: "aws_method_not_post"},
		{id: "GCIX-04/CONNECT", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.WithMethod("CONNECT") }), reason: "aws_method_not_post"},
	}
	body := func(b string) func(*xEnv) []byte {
		return xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.WithBody(b) })
	}
	// GCIX-05: the body must be exactly the action.
	for _, c := range []struct{ label, body string }{
		{"other action", "Action=AssumeRole&Version=2011-06-15"},
		{"extra parameter", gciBody + "&RoleArn=arn:aws:iam::111122223333:role/Admin"},
		{"duplicate Action", "Action=GetCallerIdentity&Action=GetCallerIdentity&Version=2011-06-15"},
		{"Action=GetCallerIdentity&Action=AssumeRole", "Action=GetCallerIdentity&Action=AssumeRole&Version=2011-06-15"},
		{"reordered", "Version=2011-06-15&Action=GetCallerIdentity"},
		{"trailing &", gciBody + "&"},
		{"leading &", "&" + gciBody},
		{"doubled &", "Action=GetCallerIdentity&&Version=2011-06-15"},
		{"trailing newline", gciBody + "\n"},
		{"percent-encoded", "Action=GetCallerIdentity&Version=2011%2D06%2D15"},
		{"case variant", "action=GetCallerIdentity&version=2011-06-15"},
		{"other version", "Action=GetCallerIdentity&Version=2011-06-16"},
		{"empty", ""},
		{"base64 of the action", base64.StdEncoding.EncodeToString([]byte(gciBody))},
		{"JSON", `{"Action":"GetCallerIdentity","Version":"2011-06-15"}`},
	} {
		rows = append(rows, xRow{id: "GCIX-05/" + c.label, env: body(c.body), reason: "aws_body_not_allowed"})
	}
	rows = append(rows, xRow{id: "GCIX-05/body absent", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.WithoutBody() }), reason: "aws_body_not_allowed"})

	// GCIX-06: headers outside the allow-list, signed or not.
	for _, h := range [][2]string{
		{"Accept", "application/json"}, {"TE", "trailers"}, {"Content-Encoding", "gzip"}, {"Transfer-Encoding", "chunked"},
		{"Content-Length", "9999"}, {"X-Forwarded-For", "169.254.169.254"}, {"X-Forwarded-Host", "evil.example"},
		{"X-Amz-Target", "AWSSecurityTokenServiceV20110615.AssumeRole"}, {"Connection", "close, X-Amz-Date"},
		{"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"}, {"X-Amz-User-Agent", "evil"}, {"User-Agent", "evil"}, {"Cookie", "a=b"},
		{"Proxy-Authorization", "Basic YTpi"}, {"X-Http-Method-Override", "GET"}, {"Expect", "100-continue"}, {"Range", "bytes=0-1"},
		{"X-Amz-Expires", "900"}, {"Origin", "http://evil.example"},
	} {
		rows = append(rows,
			xRow{id: "GCIX-06/" + h[0] + " signed", env: xSigned(xSpec{extra: map[string]string{h[0]: h[1]}}), reason: "aws_header_not_allowed"},
			xRow{id: "GCIX-06/" + h[0] + " unsigned", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Add(h[0], h[1]) }), reason: "aws_header_not_allowed"})
	}
	rows = append(rows,
		xRow{id: "GCIX-06/a second Host", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Add("Host", "evil.example") }), reason: "aws_header_duplicate"},
		xRow{id: "GCIX-06/Host of another server", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Set("host", "evil.example") }), reason: "aws_host_header_mismatch"},
		xRow{id: "GCIX-06/Host missing", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Del("host") }), reason: "aws_host_header_missing"},
		xRow{id: "GCIX-06/Content-Type application/json", env: xSigned(xSpec{extra: map[string]string{"Content-Type": "application/json"}}), reason: "aws_content_type_not_allowed"},
		xRow{id: "GCIX-06/Content-Type text/xml", env: xSigned(xSpec{extra: map[string]string{"Content-Type": "text/xml"}}), reason: "aws_content_type_not_allowed"},
		xRow{id: "GCIX-06/Content-Type on the query form", env: xSigned(xSpec{query: true, extra: map[string]string{"Content-Type": xFormCT}}), reason: "aws_content_type_not_allowed"},
		// X-Keyless-Nonce is allowed only signed, and bounded.
		xRow{id: "GCIX-06/X-Keyless-Nonce unsigned", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Add("X-Keyless-Nonce", "bm9uY2Utbm90LXNpZ25lZA") }), reason: "aws_nonce_unsigned"},
		xRow{id: "GCIX-06/X-Keyless-Nonce of 65 characters, signed", env: xSigned(xSpec{extra: map[string]string{"X-Keyless-Nonce": strings.Repeat("n", 65)}}), reason: "aws_nonce_malformed"},
		xRow{id: "GCIX-06/X-Keyless-Nonce of 9 KiB", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Add("X-Keyless-Nonce", strings.Repeat("n", 9<<10)) }), reason: "aws_nonce_malformed"},
		xRow{id: "GCIX-06/X-Keyless-Nonce with CRLF injection, signed", env: xSigned(xSpec{extra: map[string]string{"X-Keyless-Nonce": "n\r\nX-Amz-Target: AssumeRole"}}), reason: "aws_nonce_malformed"},
		xRow{id: "GCIX-06/X-Keyless-Nonce with CRLF injection", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Add("X-Keyless-Nonce", "n\r\nX-Amz-Target: AssumeRole") }), reason: "aws_nonce_malformed"},
		xRow{id: "GCIX-06/X-Keyless-Nonce in standard base64, signed", env: xSigned(xSpec{extra: map[string]string{"X-Keyless-Nonce": "n+n/n=="}}), reason: "aws_nonce_malformed"},
		xRow{id: "GCIX-06/X-Keyless-Nonce twice", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope {
			return v.Add("X-Keyless-Nonce", "n1").Add("x-keyless-nonce", "n2")
		}), reason: "aws_header_duplicate"},
		xRow{id: "GCIX-06/17 headers", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope {
			for i := 0; len(v.Headers) < 17; i++ {
				v = v.Add("x-keyless-challenge", "c"+strconv.Itoa(i))
			}
			return v
		}), reason: ""},
	)

	// GCIX-07: spellings and values.
	rows = append(rows,
		xRow{id: "GCIX-07/authorization and Authorization", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Add("Authorization", v.Get("authorization")) }), reason: "aws_header_duplicate"},
		xRow{id: "GCIX-07/X-Amz-Date twice", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Add("X-AMZ-DATE", v.Get("x-amz-date")) }), reason: "aws_header_duplicate"},
		xRow{id: "GCIX-07/audience twice", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Add("x-keyless-audience", xAud) }), reason: "aws_header_duplicate"},
		xRow{id: "GCIX-07/security token twice", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope {
			return v.Add("X-Amz-Security-Token", "FwoGZXIvYXdzEHostileOther"+xRandomHex(16))
		}), reason: "aws_header_duplicate"},
		xRow{id: "GCIX-07/two values in one", env: xSigned(xSpec{aud: xAud + ", " + xAud}), reason: "aws_audience_mismatch"},
	)
	for _, c := range []struct{ label, value string }{
		{"CRLF injection", xAud + "\r\nX-Amz-Target: AssumeRole"}, {"LF", xAud + "\nx"}, {"CR", xAud + "\rx"}, {"NUL", xAud + "\x00"},
		{"DEL", xAud + "\x7f"}, {"tab", xAud + "\t"}, {"C1 NEL", xAud + "\u0085"}, {"leading space", " " + xAud},
		{"trailing space", xAud + " "}, {"empty", ""}, {"9 KiB", strings.Repeat("a", 9<<10)},
	} {
		rows = append(rows, xRow{id: "GCIX-07/audience value with " + c.label, env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Set("x-keyless-audience", c.value) }), reason: "aws_header_malformed"})
	}
	for _, c := range []struct{ label, name string }{
		{"a space", "x-keyless-audience "}, {"a colon", "x-keyless-audience:"}, {"no name", ""}, {"a non-ASCII letter", "x-keyless-audiénce"},
		{"CRLF", "x-a\r\nx-b"}, {"NUL", "x-keyless\x00-audience"},
	} {
		rows = append(rows, xRow{id: "GCIX-07/header name with " + c.label, env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Add(c.name, "v") }), reason: "aws_header_malformed"})
	}

	// GCIX-08: the Authorization header.
	az := func(edit func(string) string) func(*xEnv) []byte {
		return xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.EditAuthorization(edit) })
	}
	part := func(a, name string) string {
		i := strings.Index(a, name+"=")
		j := strings.Index(a[i:], ",")
		if j < 0 {
			return a[i:]
		}
		return a[i : i+j]
	}
	fakeSig := strings.Repeat("0123456789abcdef", 4)
	rows = append(rows,
		xRow{id: "GCIX-08/two SignedHeaders (appended)", env: az(func(a string) string { return a + ", SignedHeaders=host" }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/two SignedHeaders (same)", env: az(func(a string) string { return a + ", " + part(a, "SignedHeaders") }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/two Credential", env: az(func(a string) string {
			return strings.Replace(a, "Credential=", "Credential=AKIAEVEEVEEVEEVEEVE2/20261121/us-east-1/sts/aws4_request, Credential=", 1)
		}), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/two Signature", env: az(func(a string) string { return a + ", Signature=" + fakeSig }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/algorithm HMAC-SHA512", env: az(func(a string) string { return strings.Replace(a, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1) }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/algorithm SigV4a", env: az(func(a string) string { return strings.Replace(a, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1) }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/algorithm lower-case", env: az(func(a string) string { return strings.Replace(a, "AWS4-HMAC-SHA256", "aws4-hmac-sha256", 1) }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/SigV2", env: az(func(string) string { return "AWS " + alice.id + ":c2lnbmF0dXJl" }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/Bearer", env: az(func(string) string { return "Bearer eyJhbGciOiJub25lIn0" }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/double space after the algorithm", env: az(func(a string) string { return strings.Replace(a, "AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256  ", 1) }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/unknown component", env: az(func(a string) string { return a + ", Foo=bar" }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/empty component", env: az(func(a string) string { return a + ", " }), reason: ""},
		xRow{id: "GCIX-08/Signature missing", env: az(func(a string) string { return strings.TrimSuffix(a, ", "+part(a, "Signature")) }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/Signature upper-case hex", env: az(func(a string) string {
			p := part(a, "Signature")
			return strings.Replace(a, p, "Signature="+strings.ToUpper(strings.TrimPrefix(p, "Signature=")), 1)
		}), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/Signature 63 digits", env: az(func(a string) string { return a[:len(a)-1] }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/SignedHeaders unsorted", env: az(func(a string) string {
			p := part(a, "SignedHeaders")
			hs := strings.Split(strings.TrimPrefix(p, "SignedHeaders="), ";")
			slices.Reverse(hs)
			return strings.Replace(a, p, "SignedHeaders="+strings.Join(hs, ";"), 1)
		}), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/SignedHeaders names authorization", env: az(func(a string) string {
			return strings.Replace(a, "SignedHeaders=", "SignedHeaders=authorization;", 1)
		}), reason: "aws_signed_headers_malformed"},
		xRow{id: "GCIX-08/SignedHeaders upper-case", env: az(func(a string) string { return strings.Replace(a, ";host;", ";Host;", 1) }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/Credential lower-case key id", env: az(func(a string) string { return strings.Replace(a, alice.id, strings.ToLower(alice.id), 1) }), reason: "aws_credential_malformed"},
		xRow{id: "GCIX-08/Credential of 6 parts", env: az(func(a string) string { return strings.Replace(a, "/aws4_request", "/x/aws4_request", 1) }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/Credential terminator", env: az(func(a string) string { return strings.Replace(a, "/aws4_request", "/aws4_requesx", 1) }), reason: "aws_authorization_malformed"},
		xRow{id: "GCIX-08/Authorization missing", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Del("authorization") }), reason: "aws_authorization_missing"},
	)

	// GCIX-09: credential scope.
	for _, c := range []struct{ label, service, region, reason string }{
		{"service s3", "s3", "", "aws_credential_service"}, {"service iam", "iam", "", "aws_credential_service"},
		{"service STS", "STS", "", "aws_credential_service"}, {"region us-west-2", "", "us-west-2", "aws_region_mismatch"},
		{"region us-gov-west-1", "", "us-gov-west-1", "aws_region_mismatch"}, {"region cn-north-1", "", "cn-north-1", "aws_region_mismatch"},
		{"region aws-global", "", "aws-global", "aws_region_mismatch"}, {"region upper-case", "", "US-EAST-1", "aws_region_mismatch"},
	} {
		rows = append(rows, xRow{id: "GCIX-09/" + c.label, env: xSigned(xSpec{service: c.service, region: c.region}), reason: c.reason})
	}

	// GCIX-10: the audience header (V-08).
	rows = append(rows,
		xRow{id: "GCIX-10/missing", env: xSigned(xSpec{audName: "-"}), reason: "aws_audience_missing"},
		xRow{id: "GCIX-10/not signed", env: func(s *xEnv) []byte {
			return s.sign(xSpec{audName: "-"}).Add("x-keyless-audience", xAud).Bytes()
		}, reason: "aws_header_unsigned"},
		xRow{id: "GCIX-10/signed but removed", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Del("x-keyless-audience") }), reason: "aws_signed_header_missing"},
		xRow{id: "GCIX-10/wrong value", env: xSigned(xSpec{aud: "other-aud"}), reason: "aws_audience_mismatch"},
		xRow{id: "GCIX-10/case variant", env: xSigned(xSpec{aud: strings.ToUpper(xAud)}), reason: "aws_audience_mismatch"},
		xRow{id: "GCIX-10/prefix", env: xSigned(xSpec{aud: xAud[:len(xAud)-1]}), reason: "aws_audience_mismatch"},
		xRow{id: "GCIX-10/extension", env: xSigned(xSpec{aud: xAud + "-2"}), reason: "aws_audience_mismatch"},
		xRow{id: "GCIX-10/two values", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Add("X-Keyless-Audience", "other-aud") }), reason: "aws_header_duplicate"},
		xRow{id: "GCIX-10/trailing space", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Set("x-keyless-audience", xAud+" ") }), reason: "aws_header_malformed"},
		xRow{id: "GCIX-10/Google header with another value", env: xSigned(xSpec{audName: "X-Goog-Cloud-Target-Resource", aud: "other-aud"}), reason: "aws_audience_mismatch"},
		xRow{id: "GCIX-10/both headers", env: xSigned(xSpec{extra: map[string]string{"X-Goog-Cloud-Target-Resource": xAud}}), reason: "aws_audience_ambiguous"},
		xRow{id: "GCIX-10/only in the query", env: func(s *xEnv) []byte {
			v := s.sign(xSpec{audName: "-", query: true})
			return v.WithURL(v.URL + "&X-Keyless-Audience=" + xAud).Bytes()
		}, reason: "aws_query_not_allowed"},
	)

	// GCIX-12: freshness, by the server's clock.
	ago := func(d time.Duration) func(*xEnv) []byte {
		return func(s *xEnv) []byte { return s.sign(xSpec{at: s.clock.Now().Add(d)}).Bytes() }
	}
	rows = append(rows,
		xRow{id: "GCIX-12/5m1s old", env: ago(-5*time.Minute - time.Second), reason: "aws_date_stale"},
		xRow{id: "GCIX-12/14m old (AWS would accept)", env: ago(-14 * time.Minute), reason: "aws_date_stale"},
		xRow{id: "GCIX-12/a day old", env: ago(-24 * time.Hour), reason: "aws_date_stale"},
		xRow{id: "GCIX-12/61s ahead", env: ago(61 * time.Second), reason: "aws_date_future"},
		xRow{id: "GCIX-12/a day ahead", env: ago(24 * time.Hour), reason: "aws_date_future"},
		xRow{id: "GCIX-12/2099", env: func(s *xEnv) []byte { return s.sign(xSpec{at: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}).Bytes() }, reason: "aws_date_future"},
		xRow{id: "GCIX-12/X-Amz-Date without Z", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope {
			return v.Set("x-amz-date", strings.TrimSuffix(v.Get("x-amz-date"), "Z"))
		}), reason: "aws_date_malformed"},
		xRow{id: "GCIX-12/X-Amz-Date extended form", env: xE(func(s *xEnv, v xEnvelope) xEnvelope {
			return v.Set("x-amz-date", s.clock.Now().UTC().Format(time.RFC3339))
		}), reason: "aws_date_malformed"},
		xRow{id: "GCIX-12/X-Amz-Date missing", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.Del("x-amz-date") }), reason: ""},
		xRow{id: "GCIX-12/X-Amz-Date a day after the credential date", env: xE(func(s *xEnv, v xEnvelope) xEnvelope {
			return v.Set("x-amz-date", s.clock.Now().UTC().Add(24*time.Hour).Format("20060102T150405Z"))
		}), reason: "aws_credential_date_mismatch"},
		xRow{id: "GCIX-12/credential date of yesterday, X-Amz-Date now", env: xE(func(s *xEnv, v xEnvelope) xEnvelope {
			today := s.clock.Now().UTC().Format("20060102")
			yesterday := s.clock.Now().UTC().Add(-24 * time.Hour).Format("20060102")
			return v.EditAuthorization(func(a string) string { return strings.Replace(a, "/"+today+"/", "/"+yesterday+"/", 1) })
		}), reason: "aws_credential_date_mismatch"},
	)

	// GCIX-19: query-string (presigned) forms.
	pre := func(expires, extra, method string, edit func(string) string) func(*xEnv) []byte {
		return func(s *xEnv) []byte {
			v := s.presign(expires, extra)
			if edit != nil {
				v.URL = edit(v.URL)
			}
			return v.WithMethod(method).Bytes()
		}
	}
	rows = append(rows,
		xRow{id: "GCIX-19/presigned GET", env: pre("60", "", "GET", nil), reason: "aws_method_not_post"},
		xRow{id: "GCIX-19/presigned URL, POST", env: pre("60", "", "POST", nil), reason: "aws_query_not_allowed"},
		xRow{id: "GCIX-19/duplicate X-Amz-Credential", env: pre("60", "", "POST", func(u string) string {
			return u + "&X-Amz-Credential=AKIAEVEEVEEVEEVEEVE2%2F20261121%2Fus-east-1%2Fsts%2Faws4_request"
		}), reason: "aws_query_not_allowed"},
		xRow{id: "GCIX-19/case-variant x-amz-credential", env: pre("60", "", "POST", func(u string) string {
			return u + "&x-amz-credential=AKIAEVEEVEEVEEVEEVE2%2F20261121%2Fus-east-1%2Fsts%2Faws4_request"
		}), reason: "aws_query_not_allowed"},
		xRow{id: "GCIX-19/X-Amz-Expires -1", env: pre("-1", "", "POST", nil), reason: "aws_query_not_allowed"},
		xRow{id: "GCIX-19/X-Amz-Expires 901", env: pre("901", "", "POST", nil), reason: "aws_query_not_allowed"},
		xRow{id: "GCIX-19/unknown parameter", env: pre("60", "&Foo=bar", "POST", nil), reason: "aws_query_not_allowed"},
		xRow{id: "GCIX-19/Action twice", env: pre("60", "&Action=AssumeRole", "POST", nil), reason: "aws_query_not_allowed"},
		xRow{id: "GCIX-19/Action twice, GET", env: pre("60", "&Action=AssumeRole", "GET", nil), reason: "aws_method_not_post"},
		xRow{id: "GCIX-19/signature in the query and the header", env: func(s *xEnv) []byte {
			v := s.sign(xSpec{query: true})
			return v.WithURL(v.URL + "&X-Amz-Signature=" + fakeSig).Bytes()
		}, reason: "aws_query_not_allowed"},
		xRow{id: "GCIX-19/query form with a body", env: func(s *xEnv) []byte { return s.sign(xSpec{query: true}).WithBody(gciBody).Bytes() }, reason: "aws_body_not_allowed"},
		xRow{id: "GCIX-19/query form reordered", env: func(s *xEnv) []byte {
			v := s.sign(xSpec{query: true})
			return v.WithURL(strings.Replace(v.URL, gciBody, "Version=2011-06-15&Action=GetCallerIdentity", 1)).Bytes()
		}, reason: "aws_query_not_allowed"},
	)

	// GCIX-23: the envelope's JSON.
	obj := func(edit func(s *xEnv, b string) string) func(*xEnv) []byte { return xRawEnv(edit) }
	rows = append(rows,
		xRow{id: "GCIX-23/unknown key", env: obj(func(_ *xEnv, b string) string { return strings.TrimSuffix(b, "}") + `,"extra":1}` }), reason: "aws_envelope_unknown_key"},
		xRow{id: "GCIX-23/unknown key region", env: obj(func(_ *xEnv, b string) string { return strings.TrimSuffix(b, "}") + `,"region":"us-west-2"}` }), reason: "aws_envelope_unknown_key"},
		xRow{id: "GCIX-23/duplicate url", env: obj(func(_ *xEnv, b string) string { return `{"url":"http://169.254.169.254/",` + b[1:] }), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/duplicate url, last wins elsewhere", env: obj(func(_ *xEnv, b string) string {
			return strings.TrimSuffix(b, "}") + `,"url":"http://169.254.169.254/"}`
		}), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/duplicate method", env: obj(func(_ *xEnv, b string) string { return `{"method":"GET",` + b[1:] }), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/URL beside url", env: obj(func(_ *xEnv, b string) string { return `{"URL":"http://169.254.169.254/",` + b[1:] }), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/URL instead of url", env: obj(func(_ *xEnv, b string) string { return strings.Replace(b, `"url":`, `"URL":`, 1) }), reason: "aws_envelope_unknown_key"},
		xRow{id: "GCIX-23/escaped duplicate url", env: obj(func(_ *xEnv, b string) string { return `{"\u0075rl":"http://169.254.169.254/",` + b[1:] }), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/Kelvin-sign key beside key", env: obj(func(_ *xEnv, b string) string {
			return strings.Replace(b, `{"key":"host",`, `{"\u212aey":"x-amz-target","key":"host",`, 1)
		}), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/headers as a map", env: func(s *xEnv) []byte {
			v := s.sign(xSpec{})
			m := map[string]string{}
			for _, h := range v.Headers {
				m[h[0]] = h[1]
			}
			b, _ := json.Marshal(map[string]any{"url": v.URL, "method": v.Method, "headers": m, "body": *v.Body})
			return b
		}, reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/headers as a map of arrays", env: func(s *xEnv) []byte {
			v := s.sign(xSpec{})
			m := map[string][]string{}
			for _, h := range v.Headers {
				m[h[0]] = []string{h[1]}
			}
			b, _ := json.Marshal(map[string]any{"url": v.URL, "method": v.Method, "headers": m, "body": *v.Body})
			return b
		}, reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/headers as an array of pairs", env: func(s *xEnv) []byte {
			v := s.sign(xSpec{})
			b, _ := json.Marshal(map[string]any{"url": v.URL, "method": v.Method, "headers": v.Headers, "body": *v.Body})
			return b
		}, reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/header item Key and Value", env: obj(func(_ *xEnv, b string) string {
			return strings.ReplaceAll(strings.ReplaceAll(b, `"key":`, `"Key":`), `"value":`, `"Value":`)
		}), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/header item with a third member", env: obj(func(_ *xEnv, b string) string { return strings.Replace(b, `{"key":"host",`, `{"key":"host","x":1,`, 1) }), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/header item with two keys", env: obj(func(_ *xEnv, b string) string {
			return strings.Replace(b, `{"key":"host",`, `{"key":"x-amz-target","key":"host",`, 1)
		}), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/header value a number", env: obj(func(_ *xEnv, b string) string { return strings.Replace(b, `"value":"`+xAud+`"`, `"value":1`, 1) }), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/header value an array", env: obj(func(_ *xEnv, b string) string {
			return strings.Replace(b, `"value":"`+xAud+`"`, `"value":["`+xAud+`"]`, 1)
		}), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/headers null", env: obj(func(_ *xEnv, b string) string {
			i := strings.Index(b, `"headers":`)
			j := strings.Index(b, `],"body"`)
			return b[:i] + `"headers":null` + b[j+1:]
		}), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/headers missing", env: obj(func(_ *xEnv, b string) string {
			i := strings.Index(b, `,"headers":`)
			j := strings.Index(b, `],"body"`)
			return b[:i] + b[j+1:]
		}), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/method an array", env: obj(func(_ *xEnv, b string) string { return strings.Replace(b, `"method":"POST"`, `"method":["POST"]`, 1) }), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/body an object", env: obj(func(_ *xEnv, b string) string {
			return strings.Replace(b, `"body":`+strconv.Quote(gciBody), `"body":{"Action":"GetCallerIdentity"}`, 1)
		}), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/body null", env: obj(func(_ *xEnv, b string) string {
			return strings.Replace(b, `"body":`+strconv.Quote(gciBody), `"body":null`, 1)
		}), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/body base64", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope {
			return v.WithBody(base64.StdEncoding.EncodeToString([]byte(gciBody)))
		}), reason: "aws_body_not_allowed"},
		xRow{id: "GCIX-23/non-UTF-8 in a value", env: obj(func(_ *xEnv, b string) string {
			return strings.Replace(b, `"value":"`+xAud, `"value":"`+xAud+"\xff", 1)
		}), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/non-UTF-8 in a key", env: obj(func(_ *xEnv, b string) string { return strings.TrimSuffix(b, "}") + `,"x` + "\xfe" + `":1}` }), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/overlong UTF-8 quote", env: obj(func(_ *xEnv, b string) string {
			return strings.Replace(b, `"method":"POST"`, `"method":"POST`+"\xc0\xa2", 1) + ""
		}), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/UTF-8 BOM", env: obj(func(_ *xEnv, b string) string { return "\xef\xbb\xbf" + b }), reason: "proof_kind_mismatch"},
		xRow{id: "GCIX-23/UTF-16", env: obj(func(_ *xEnv, b string) string {
			var out strings.Builder
			out.WriteString("\xff\xfe")
			for i := 0; i < len(b); i++ {
				out.WriteByte(b[i])
				out.WriteByte(0)
			}
			return out.String()
		}), reason: "proof_kind_mismatch"},
		xRow{id: "GCIX-23/trailing data", env: obj(func(_ *xEnv, b string) string { return b + "x" }), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/a second object", env: obj(func(_ *xEnv, b string) string { return b + b }), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/an array of the envelope", env: obj(func(_ *xEnv, b string) string { return "[" + b + "]" }), reason: "proof_kind_mismatch"},
		xRow{id: "GCIX-23/single quotes", env: obj(func(_ *xEnv, b string) string { return strings.Replace(b, `"method":"POST"`, `'method':'POST'`, 1) }), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/comment", env: obj(func(_ *xEnv, b string) string { return strings.Replace(b, `{"url"`, `{/*x*/"url"`, 1) }), reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/deep nesting", env: obj(func(_ *xEnv, b string) string {
			return strings.TrimSuffix(b, "}") + `,"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "}"
		}), reason: ""},
		xRow{id: "GCIX-23/64 KiB + 1", env: obj(func(_ *xEnv, b string) string { return "{" + strings.Repeat(" ", 64<<10+1-len(b)) + b[1:] }), reason: "proof_size"},
		xRow{id: "GCIX-23/100 KiB", env: obj(func(_ *xEnv, b string) string { return "{" + strings.Repeat(" ", 100<<10) + b[1:] }), reason: "proof_size"},
		xRow{id: "GCIX-23/empty object", env: func(*xEnv) []byte { return []byte("{}") }, reason: "aws_envelope_malformed"},
		xRow{id: "GCIX-23/not JSON", env: func(*xEnv) []byte { return []byte("{url=http://x}") }, reason: "aws_envelope_malformed"},
	)
	x.runRows(t, rows)
	if n := x.up.mark(); n.conns != 0 || n.reqs != 0 {
		t.Errorf("the upstream STS saw %d connections and %d requests during the envelope rows", n.conns, n.reqs)
	}
}

// ---------------------------------------------------------------------------
// 3.H: replay, redirects, answers of the upstream.

func TestExchangeAWSReplay(t *testing.T) {
	x := newXEnv(t, false)
	v := x.sign(xSpec{})
	b := v.Bytes()
	x.accept("GCIX-13/first use", x.aws(b))
	rows := []xRow{
		{id: "GCIX-13/the same bytes", env: func(*xEnv) []byte { return b }, reason: "aws_replayed"},
		{id: "GCIX-13/headers reordered", env: func(*xEnv) []byte {
			w := v
			w.Headers = slices.Clone(v.Headers)
			slices.Reverse(w.Headers)
			return w.Bytes()
		}, reason: "aws_replayed"},
		{id: "GCIX-13/header names upper-case", env: func(*xEnv) []byte {
			w := v
			w.Headers = slices.Clone(v.Headers)
			for i := range w.Headers {
				w.Headers[i][0] = http.CanonicalHeaderKey(w.Headers[i][0])
			}
			return w.Bytes()
		}, reason: "aws_replayed"},
		{id: "GCIX-13/JSON white space", env: func(*xEnv) []byte {
			var buf bytes.Buffer
			_ = json.Indent(&buf, b, "", "  ")
			return buf.Bytes()
		}, reason: "aws_replayed"},
		{id: "GCIX-13/as the query form", env: func(*xEnv) []byte {
			return v.WithURL(v.URL + "?" + gciBody).WithoutBody().Del("content-type").Bytes()
		}, reason: ""},
	}
	x.runRows(t, rows)
	t.Run("GCIX-13/through ExchangeExternalToken", func(t *testing.T) {
		s := x.sub(t)
		m := s.up.mark()
		s.deny("GCIX-13/through ExchangeExternalToken", s.external(xAud, "https://sts.amazonaws.com", string(b)), 400, "invalid_request", "aws_replayed")
		s.upstream("GCIX-13/through ExchangeExternalToken", m, 0)
	})
	// An envelope refused locally does not use its signature up, but one
	// the upstream refused does: it was sent.
	t.Run("GCIX-13/after an upstream refusal", func(t *testing.T) {
		s := x.sub(t)
		s.up.answer(xAnswer(403, "text/xml", xAWSError("ExpiredToken", "expired")))
		b := s.sign(xSpec{}).Bytes()
		s.deny("GCIX-13/upstream refusal", s.aws(b), 400, "invalid_request", "aws_upstream_refused")
		s.up.answer(xSTSAlice)
		m := s.up.mark()
		s.deny("GCIX-13/replay after an upstream refusal", s.aws(b), 400, "invalid_request", "aws_replayed")
		s.upstream("GCIX-13/replay after an upstream refusal", m, 0)
	})
	// SigV4 is deterministic: the same key, audience and second make one
	// signature. A signed X-Keyless-Nonce makes two, each forwarded as
	// sent and verified by the upstream; each is still accepted once.
	t.Run("GCIX-13/same second, different nonces", func(t *testing.T) {
		s := x.sub(t)
		same := xSpec{noToken: true, at: s.clock.Now().Add(-time.Second)}
		s.accept("GCIX-13/control without a nonce", s.aws(s.sign(same).Bytes()))
		s.deny("GCIX-13/the same second without a nonce", s.aws(s.sign(same).Bytes()), 400, "invalid_request", "aws_replayed")
		m := s.up.mark()
		valid := s.up.valid.Load()
		var nonced []byte
		for _, n := range []string{"AAAAAAAAAAAAAAAAAAAAAA", "_____________________w"} {
			spec := same
			spec.extra = map[string]string{"X-Keyless-Nonce": n}
			nonced = s.sign(spec).Bytes()
			s.accept("GCIX-13/the same second with nonce "+n, s.aws(nonced))
		}
		s.upstream("GCIX-13/two nonces", m, 2)
		if got := s.up.valid.Load() - valid; got != 2 {
			t.Errorf("the upstream verified %d of the 2 nonced signatures", got)
		}
		reqs := s.up.requests()
		if n := reqs[len(reqs)-1].header.Values("X-Keyless-Nonce"); len(n) != 1 || n[0] != "_____________________w" {
			t.Errorf("the nonce was forwarded as %q", n)
		}
		s.deny("GCIX-13/a nonced request again", s.aws(nonced), 400, "invalid_request", "aws_replayed")
	})
	t.Run("GCIX-13/a local refusal does not consume", func(t *testing.T) {
		s := x.sub(t)
		v := s.sign(xSpec{})
		s.deny("GCIX-13/with an extra header", s.aws(v.Add("Accept", "application/json").Bytes()), 400, "invalid_request", "aws_header_not_allowed")
		s.accept("GCIX-13/then as signed", s.aws(v.Bytes()))
	})
	// After an outage the same envelope is not good again: the client must
	// sign a new one (recorded, not judged, here).
	t.Run("GCIX-13/retry after a 503", func(t *testing.T) {
		s := x.sub(t)
		b := s.sign(xSpec{}).Bytes()
		s.up.answer(xAnswer(503, "text/xml", ""))
		s.deny("GCIX-13/503", s.aws(b), 503, "temporarily_unavailable", "aws_upstream_unavailable")
		s.up.answer(xSTSAlice)
		r := s.aws(b)
		if r.status == 200 {
			s.accept("GCIX-13/retry after a 503", r)
		} else {
			s.deny("GCIX-13/retry after a 503", r, 400, "invalid_request", "aws_replayed")
		}
		t.Logf("the same envelope retried after a 503: %d %s (%s)", r.status, r.code, r.ev.AdditionalEventData["reason"])
	})
}

func TestExchangeAWSUpstream(t *testing.T) {
	x := newXEnv(t, false)
	noteSecret(xMarker) // the upstream's messages are never written
	// GCIX-14: redirects are never followed.
	target := newXUpstream(t, xAnswer(200, "text/xml", xAliceXML))
	var rows []xRow
	for _, status := range []int{301, 302, 303, 307, 308} {
		rows = append(rows, xRow{id: "GCIX-14/" + strconv.Itoa(status), env: xSigned(xSpec{}), reason: "aws_upstream_redirect", reqs: 1,
			mock: func(_ *xUpstream, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Location", target.srv.URL+"/")
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(status)
				_, _ = io.WriteString(w, xAliceXML)
			}})
	}
	rows = append(rows, xRow{id: "GCIX-14/301 to the metadata address", env: xSigned(xSpec{}), reason: "aws_upstream_redirect", reqs: 1,
		mock: func(_ *xUpstream, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", "http://169.254.169.254/latest/meta-data/")
			w.WriteHeader(301)
		}})

	// GCIX-16: answers that are not exactly one GetCallerIdentityResponse.
	aliceXML := xAliceXML
	json1 := `{"Error":{"Code":"InvalidAction","Message":"Could not find operation <GetCallerIdentityResponse xmlns=\"` + xSTSNS +
		`\"><GetCallerIdentityResult><Arn>` + xAliceARN + `</Arn><UserId>` + xAliceUID + `</UserId><Account>` + xAccount +
		`</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"}}`
	res := func(inner string) string {
		return `<GetCallerIdentityResponse xmlns="` + xSTSNS + `"><GetCallerIdentityResult>` + inner + `</GetCallerIdentityResult></GetCallerIdentityResponse>`
	}
	arn, uid, acct := "<Arn>"+xAliceARN+"</Arn>", "<UserId>"+xAliceUID+"</UserId>", "<Account>"+xAccount+"</Account>"
	for _, c := range []struct{ label, ctype, body, reason string }{
		{"V-01 JSON answer with an embedded XML identity", "application/json", json1, "aws_response_content_type"},
		{"V-01 the same JSON labelled text/xml", "text/xml", json1, "aws_response_malformed"},
		{"leading garbage", "text/xml", "garbage" + aliceXML, "aws_response_malformed"},
		{"leading JSON", "text/xml", `{"a":1}` + aliceXML, "aws_response_malformed"},
		{"leading white space and garbage", "text/xml", "\n \t x" + aliceXML, "aws_response_malformed"},
		{"trailing second document", "text/xml", aliceXML + awsprooftest.IdentityXML("arn:aws:iam::111122223333:user/bob", "AIDABOB", xAccount), "aws_response_malformed"},
		{"trailing garbage", "text/xml", aliceXML + "junk", "aws_response_malformed"},
		{"DOCTYPE", "text/xml", `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "` + xAliceARN + `">]>` + res("<Arn>&a;</Arn>"+uid+acct), "aws_response_malformed"},
		{"DOCTYPE without entities", "text/xml", `<!DOCTYPE GetCallerIdentityResponse>` + aliceXML, "aws_response_malformed"},
		{"two results", "text/xml", `<GetCallerIdentityResponse xmlns="` + xSTSNS + `"><GetCallerIdentityResult>` + arn + uid + acct +
			`</GetCallerIdentityResult><GetCallerIdentityResult>` + arn + uid + acct + `</GetCallerIdentityResult></GetCallerIdentityResponse>`, "aws_response_malformed"},
		{"two Arns, bob first", "text/xml", res("<Arn>arn:aws:iam::111122223333:user/bob</Arn>" + arn + uid + acct), "aws_response_malformed"},
		{"two Arns, alice first", "text/xml", res(arn + "<Arn>arn:aws:iam::111122223333:user/bob</Arn>" + uid + acct), "aws_response_malformed"},
		{"Arn missing", "text/xml", res(uid + acct), "aws_response_malformed"},
		{"Account missing", "text/xml", res(arn + uid), "aws_response_malformed"},
		{"UserId missing", "text/xml", res(arn + acct), "aws_response_malformed"},
		{"result missing", "text/xml", `<GetCallerIdentityResponse xmlns="` + xSTSNS + `"></GetCallerIdentityResponse>`, "aws_response_malformed"},
		{"wrong root", "text/xml", `<AssumeRoleResponse xmlns="` + xSTSNS + `"><GetCallerIdentityResult>` + arn + uid + acct + `</GetCallerIdentityResult></AssumeRoleResponse>`, "aws_response_malformed"},
		{"wrong namespace", "text/xml", strings.Replace(aliceXML, "2011-06-15", "2011-06-16", 1), "aws_response_malformed"},
		{"no namespace", "text/xml", strings.Replace(aliceXML, ` xmlns="`+xSTSNS+`"`, "", 1), "aws_response_malformed"},
		{"prefixed foreign namespace on Arn", "text/xml", res(`<e:Arn xmlns:e="urn:evil">` + xAliceARN + `</e:Arn>` + arn + uid + acct), "aws_response_malformed"},
		{"Arn and Account disagree", "text/xml", awsprooftest.IdentityXML(xAliceARN, xAliceUID, "444455556666"), "aws_account_mismatch"},
		{"Arn with a comment node", "text/xml", res("<Arn>arn:aws:iam::111122223333:user/<!-- x -->alice</Arn>" + uid + acct), "aws_response_malformed"},
		{"Arn with a processing instruction", "text/xml", res("<Arn>arn:aws:iam::111122223333:user/<?x y?>alice</Arn>" + uid + acct), "aws_response_malformed"},
		{"Arn with an attribute", "text/xml", res(`<Arn role="admin">` + xAliceARN + `</Arn>` + uid + acct), "aws_response_malformed"},
		{"Arn with a child element", "text/xml", res("<Arn><x/>" + xAliceARN + "</Arn>" + uid + acct), "aws_response_malformed"},
		{"unknown element in the result", "text/xml", res(arn + uid + acct + "<Admin>true</Admin>"), "aws_response_malformed"},
		{"Arn of another partition", "text/xml", awsprooftest.IdentityXML("arn:aws-us-gov:iam::111122223333:user/alice", xAliceUID, xAccount), "aws_arn_partition_mismatch"},
		{"Arn with white space", "text/xml", res("<Arn> " + xAliceARN + " </Arn>" + uid + acct), "aws_arn_malformed"},
		{"Arn of another service", "text/xml", awsprooftest.IdentityXML("arn:aws:s3::111122223333:user/alice", xAliceUID, xAccount), "aws_arn_malformed"},
		{"Account not 12 digits", "text/xml", awsprooftest.IdentityXML("arn:aws:iam::11112222333:user/alice", xAliceUID, "11112222333"), "aws_account_malformed"},
		{"an error document with 200", "text/xml", xAWSError("AccessDenied", "x"), "aws_response_malformed"},
		{"empty body", "text/xml", "", "aws_response_malformed"},
		{"UTF-16 declaration", "text/xml", `<?xml version="1.0" encoding="UTF-16"?>` + aliceXML, "aws_response_malformed"},
		{"XML declaration not first", "text/xml", "\n" + `<?xml version="1.0"?>` + aliceXML, "aws_response_malformed"},
		{"text/html", "text/html", aliceXML, "aws_response_content_type"},
		{"no Content-Type", "", aliceXML, "aws_response_content_type"},
		{"text/xml; charset=iso-8859-1", "text/xml; charset=iso-8859-1", aliceXML, "aws_response_content_type"},
		{"text/xml with another parameter", "text/xml; boundary=x", aliceXML, "aws_response_content_type"},
		{"another principal (bob)", "text/xml", awsprooftest.IdentityXML("arn:aws:iam::111122223333:user/bob", "AIDABOB0000000000001", xAccount), "no_provider_matched"},
		{"alice of another account", "text/xml", awsprooftest.IdentityXML("arn:aws:iam::444455556666:user/alice", xAliceUID, "444455556666"), "no_provider_matched"},
		{"a role session of alice's account", "text/xml", awsprooftest.IdentityXML("arn:aws:sts::111122223333:assumed-role/Demo/alice", "AROADEMO:alice", xAccount), "no_provider_matched"},
	} {
		rows = append(rows, xRow{id: "GCIX-16/" + c.label, env: xSigned(xSpec{}), reason: c.reason, reqs: 1, mock: xAnswer(200, c.ctype, c.body)})
	}
	rows = append(rows, xRow{id: "GCIX-16/two Content-Type headers", env: xSigned(xSpec{}), reason: "aws_response_content_type", reqs: 1,
		mock: func(_ *xUpstream, w http.ResponseWriter, _ *http.Request) {
			w.Header()["Content-Type"] = []string{"text/xml", "application/json"}
			_, _ = io.WriteString(w, aliceXML)
		}})

	// GCIX-17: upstream refusals.
	for _, c := range []struct {
		label  string
		status int
		body   string
		code   string // wanted upstreamErrorCode; "" for none
	}{
		{"403 SignatureDoesNotMatch", 403, xAWSError("SignatureDoesNotMatch", xMarker+" The request signature we calculated does not match"), "SignatureDoesNotMatch"},
		{"403 ExpiredToken", 403, xAWSError("ExpiredToken", xMarker+" The security token included in the request is expired"), "ExpiredToken"},
		{"403 InvalidClientTokenId", 403, xAWSError("InvalidClientTokenId", xMarker), "InvalidClientTokenId"},
		{"400 not XML", 400, xMarker + " plain text", ""},
		{"403 code with markup", 403, xAWSError("Bad&lt;x&gt;", xMarker), ""},
		{"403 code of 100 characters", 403, xAWSError(strings.Repeat("A", 100), xMarker), ""},
		{"403 code with a newline", 403, xAWSError("Signature&#10;DoesNotMatch", xMarker), ""},
		{"404", 404, "", ""},
	} {
		rows = append(rows, xRow{id: "GCIX-17/" + c.label, env: xSigned(xSpec{}), reason: "aws_upstream_refused", reqs: 1, mock: xAnswer(c.status, "text/xml", c.body)})
	}
	rows = append(rows, xRow{id: "GCIX-17/signed with a wrong secret (the mock's own 403)", env: xSigned(xSpec{akid: alice.id, secret: "not-alices-secret-000000000000000000000000"}),
		reason: "aws_upstream_refused", reqs: 1})

	// GCIX-18: outages, retried twice.
	for _, status := range []int{500, 502, 503, 504} {
		rows = append(rows, xRow{id: "GCIX-18/" + strconv.Itoa(status), env: xSigned(xSpec{}), status: 503, code: "temporarily_unavailable",
			reason: "aws_upstream_unavailable", reqs: 3, mock: xAnswer(status, "text/xml", xAWSError("InternalFailure", xMarker))})
	}
	rows = append(rows,
		xRow{id: "GCIX-18/connection reset", env: xSigned(xSpec{}), status: 503, code: "temporarily_unavailable", reason: "aws_upstream_unavailable", reqs: 3,
			mock: func(_ *xUpstream, w http.ResponseWriter, _ *http.Request) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					if tc, ok := conn.(*net.TCPConn); ok {
						_ = tc.SetLinger(0)
					}
					_ = conn.Close()
				}
			}},
		xRow{id: "GCIX-18/truncated answer", env: xSigned(xSpec{}), status: 503, code: "temporarily_unavailable", reason: "aws_upstream_unavailable", reqs: 3,
			mock: func(_ *xUpstream, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/xml")
				w.Header().Set("Content-Length", strconv.Itoa(len(xAliceXML)+100))
				w.WriteHeader(200)
				_, _ = io.WriteString(w, xAliceXML)
			}},
		xRow{id: "GCIX-18/429 Throttling", env: xSigned(xSpec{}), status: 503, code: "temporarily_unavailable", reason: "aws_upstream_throttled", reqs: 1,
			mock: xAnswer(429, "text/xml", xAWSError("Throttling", "Rate exceeded"))},
		xRow{id: "GCIX-18/400 Throttling", env: xSigned(xSpec{}), status: 503, code: "temporarily_unavailable", reason: "aws_upstream_throttled", reqs: 1,
			mock: xAnswer(400, "text/xml", xAWSError("Throttling", "Rate exceeded"))},
	)

	// GCIX-20: oversized answers.
	big := aliceXML + strings.Repeat(" ", 64<<10+1-len(aliceXML))
	rows = append(rows,
		xRow{id: "GCIX-20/64 KiB + 1 with Content-Length", env: xSigned(xSpec{}), status: 503, code: "temporarily_unavailable", reason: "aws_outbound_refused", reqs: 1,
			mock: xAnswer(200, "text/xml", big)},
		xRow{id: "GCIX-20/1 MiB chunked", env: xSigned(xSpec{}), status: 503, code: "temporarily_unavailable", reason: "aws_outbound_refused", reqs: 1,
			mock: func(_ *xUpstream, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(200)
				_, _ = io.WriteString(w, aliceXML)
				chunk := strings.Repeat(" ", 4096)
				for range 256 {
					if _, err := io.WriteString(w, chunk); err != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			}},
	)
	x.runRows(t, rows)
	if strings.Contains(x.logs.String(), xMarker) {
		t.Errorf("an upstream's message reached the server log")
	}
	if n := target.mark(); n.conns != 0 || n.reqs != 0 {
		t.Errorf("GCIX-14: the redirect target received %d connections and %d requests", n.conns, n.reqs)
	}

	// GCIX-17: the upstream's message is never echoed, its code is
	// recorded.
	for _, c := range []struct{ label, code string }{{"403 SignatureDoesNotMatch", "SignatureDoesNotMatch"}, {"403 ExpiredToken", "ExpiredToken"}} {
		t.Run("GCIX-17/"+c.label+" audit", func(t *testing.T) {
			s := x.sub(t)
			s.up.answer(xAnswer(403, "text/xml", xAWSError(c.code, xMarker+" details")))
			defer s.up.answer(xSTSAlice)
			r := s.aws(s.sign(xSpec{}).Bytes())
			s.deny("GCIX-17/"+c.label, r, 400, "invalid_request", "aws_upstream_refused")
			if got := r.ev.AdditionalEventData["upstreamErrorCode"]; got != c.code {
				t.Errorf("audit upstreamErrorCode %q, want %q: %s", got, c.code, r.raw)
			}
			if strings.Contains(r.body, c.code) || strings.Contains(r.body, xMarker) {
				t.Errorf("the answer echoes the upstream: %s", r.body)
			}
			if strings.Contains(r.raw, xMarker) || strings.Contains(s.logs.String(), xMarker) {
				t.Errorf("the upstream's message reached the audit event or the log")
			}
		})
	}
	t.Run("GCIX-17/no code for a malformed one", func(t *testing.T) {
		s := x.sub(t)
		s.up.answer(xAnswer(403, "text/xml", xAWSError("Bad&lt;x&gt;", xMarker)))
		defer s.up.answer(xSTSAlice)
		r := s.aws(s.sign(xSpec{}).Bytes())
		s.deny("GCIX-17/malformed code", r, 400, "invalid_request", "aws_upstream_refused")
		if got, ok := r.ev.AdditionalEventData["upstreamErrorCode"]; ok {
			t.Errorf("audit upstreamErrorCode %q recorded from a malformed code", got)
		}
	})
	// GCIX-18: a retry that succeeds, and no cached success after one.
	t.Run("GCIX-18/500 then 200", func(t *testing.T) {
		s := x.sub(t)
		var n atomic.Int64
		s.up.answer(func(u *xUpstream, w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				xWrite(w, 500, "text/xml", "")
				return
			}
			xSTSAlice(u, w, r)
		})
		defer s.up.answer(xSTSAlice)
		m := s.up.mark()
		s.accept("GCIX-18/500 then 200", s.aws(s.sign(xSpec{}).Bytes()))
		s.upstream("GCIX-18/500 then 200", m, 2)
		s.up.answer(xAnswer(503, "text/xml", ""))
		m = s.up.mark()
		s.deny("GCIX-18/503 after a success", s.aws(s.sign(xSpec{}).Bytes()), 503, "temporarily_unavailable", "aws_upstream_unavailable")
		s.upstream("GCIX-18/503 after a success", m, 3)
	})
	// V-06, V-07: an identity vouched for by an upstream the identity
	// provider does not name in sts_endpoints is no identity of it.
	t.Run("GCIX-09/answer of an untrusted upstream", func(t *testing.T) {
		s := x.sub(t)
		m := s.other.mark()
		r := s.aws(s.sign(xSpec{host: s.other.host()}).Bytes())
		s.deny("GCIX-09/untrusted upstream", r, 400, "invalid_request", "no_provider_matched")
		if n := s.other.mark(); n.reqs-m.reqs != 1 || s.other.valid.Load() != 1 {
			t.Errorf("the untrusted upstream saw %d requests (%d verified), want 1", n.reqs-m.reqs, s.other.valid.Load())
		}
	})
	t.Run("GCIX-20/control answer of exactly 64 KiB", func(t *testing.T) {
		s := x.sub(t)
		s.up.answer(xAnswer(200, "text/xml", aliceXML+strings.Repeat(" ", 64<<10-len(aliceXML))))
		defer s.up.answer(xSTSAlice)
		s.accept("GCIX-20/64 KiB", s.aws(s.sign(xSpec{}).Bytes()))
	})
}

// TestExchangeAWSUpstreamSlow: an upstream that never answers, or
// trickles, is given up on after three bounded attempts (GCIX-18, GCIX-20).
func TestExchangeAWSUpstreamSlow(t *testing.T) {
	for _, c := range []struct {
		id   string
		mock func(*xUpstream, http.ResponseWriter, *http.Request)
	}{
		{"GCIX-18/timeout", func(_ *xUpstream, _ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(60 * time.Second):
			}
		}},
		{"GCIX-20/trickle at 2 bytes a second", func(_ *xUpstream, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(200)
			for i := 0; i < len(xAliceXML); i++ {
				if _, err := io.WriteString(w, xAliceXML[i:i+1]); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(500 * time.Millisecond):
				}
			}
		}},
	} {
		t.Run(c.id, func(t *testing.T) {
			t.Parallel()
			x := newXEnv(t, false)
			x.up.answer(c.mock)
			b := x.sign(xSpec{}).Bytes()
			began := time.Now()
			r := x.call(xPathToken, formType, xForm("grant_type", xGrant, "audience", xAud, "subject_token_type", xTypeAWS,
				"subject_token", string(b)), 60*time.Second, xEnvelopeSecrets(b)...)
			took := time.Since(began)
			x.deny(c.id, r, 503, "temporarily_unavailable", "aws_upstream_unavailable")
			if n := x.up.mark().reqs; n != 3 {
				t.Errorf("%s: %d attempts, want 3", c.id, n)
			}
			t.Logf("%s: answered after %s", c.id, took.Round(100*time.Millisecond))
			if took > 20*time.Second {
				t.Errorf("%s: answered after %s", c.id, took)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// GCIX-11: server challenges.

func (x *xEnv) challenge(audience string) string {
	x.t.Helper()
	b, _ := json.Marshal(map[string]string{"audience": audience})
	r := x.call(xPathChall, "application/json", string(b), 0)
	c, _ := r.fields["challenge"].(string)
	if r.status != 200 || c == "" || r.fields["header"] != "X-Keyless-Challenge" {
		x.t.Fatalf("challenge: %d %s", r.status, r.body)
	}
	return c
}

func TestExchangeAWSChallenge(t *testing.T) {
	x := newXEnv(t, true)
	with := func(c string) xSpec { return xSpec{extra: map[string]string{"X-Keyless-Challenge": c}} }

	c := x.challenge(xAud)
	m := x.up.mark()
	x.accept("GCIX-11/control with a challenge", x.aws(x.sign(with(c)).Bytes()))
	x.upstream("GCIX-11/control", m, 1)

	other := x.challenge("other-aud")
	fresh := x.challenge(xAud)
	flipped := []byte(fresh)
	flipped[20] ^= 1
	if flipped[20] == '`' || flipped[20] == '.' {
		flipped[20] ^= 3
	}
	rows := []xRow{
		{id: "GCIX-11/reused", env: xSigned(with(c)), reason: "aws_challenge_invalid"},
		{id: "GCIX-11/missing", env: xSigned(xSpec{}), reason: "aws_challenge_missing"},
		{id: "GCIX-11/issued for another audience", env: xSigned(with(other)), reason: "aws_challenge_invalid"},
		{id: "GCIX-11/tampered", env: xSigned(with(string(flipped))), reason: "aws_challenge_invalid"},
		{id: "GCIX-11/garbage", env: xSigned(with("AAAA")), reason: "aws_challenge_invalid"},
		{id: "GCIX-11/not signed", env: func(s *xEnv) []byte { return s.sign(xSpec{}).Add("x-keyless-challenge", fresh).Bytes() }, reason: "aws_header_unsigned"},
		{id: "GCIX-11/twice", env: func(s *xEnv) []byte { return s.sign(with(fresh)).Add("X-Keyless-Challenge", fresh).Bytes() }, reason: "aws_header_duplicate"},
	}
	x.runRows(t, rows)
	// The fresh challenge was never consumed by the refusals above.
	x.accept("GCIX-11/control after refusals", x.aws(x.sign(with(fresh)).Bytes()))

	t.Run("GCIX-11/expired", func(t *testing.T) {
		s := x.sub(t)
		almost, expired := s.challenge(xAud), s.challenge(xAud)
		s.clock.Advance(2*time.Minute - time.Second) // the TTL is 2 min
		s.accept("GCIX-11/control 1m59s old", s.aws(s.sign(with(almost)).Bytes()))
		s.clock.Advance(time.Minute) // 2m59s: expired
		m := s.up.mark()
		s.deny("GCIX-11/expired", s.aws(s.sign(with(expired)).Bytes()), 400, "invalid_request", "aws_challenge_invalid")
		s.upstream("GCIX-11/expired", m, 0)
	})
	t.Run("GCIX-11/store failing", func(t *testing.T) {
		s := x.sub(t)
		ch := s.challenge(xAud)
		s.store.failUseOnce.Store(true)
		m := s.up.mark()
		r := s.aws(s.sign(with(ch)).Bytes())
		s.store.failUseOnce.Store(false)
		if r.status == 200 || (r.status != 400 && r.status != 503) {
			t.Errorf("the challenge store failing: %d %s", r.status, r.code)
		}
		s.deny("GCIX-11/store failing", r, r.status, r.code, "")
		s.upstream("GCIX-11/store failing", m, 0)
		t.Logf("GCIX-11 with the single-use store failing: %d %s, reason %s", r.status, r.code, r.ev.AdditionalEventData["reason"])
	})
}

// ---------------------------------------------------------------------------
// 3.I: the RFC 8693 protocol.

func TestExchangeTokenEndpoint(t *testing.T) {
	x := newXEnv(t, false)
	type row struct {
		id     string
		form   func(s *xEnv) string
		status int
		code   string
		reason string
	}
	envelope := func(s *xEnv) string { return string(s.sign(xSpec{}).Bytes()) }
	form := func(kv ...string) func(*xEnv) string { return func(*xEnv) string { return xForm(kv...) } }
	awsWith := func(kv ...string) func(*xEnv) string {
		return func(s *xEnv) string {
			return xForm(append([]string{"grant_type", xGrant, "audience", xAud, "subject_token_type", xTypeAWS, "subject_token", envelope(s)}, kv...)...)
		}
	}
	jwtWith := func(kv ...string) func(*xEnv) string {
		return func(s *xEnv) string {
			return xForm(append([]string{"grant_type", xGrant, "audience", xAud, "subject_token_type", xTypeJWT, "subject_token", s.jwt(nil)}, kv...)...)
		}
	}
	replace := func(f func(*xEnv) string, key, value string) func(*xEnv) string {
		return func(s *xEnv) string {
			v, _ := url.ParseQuery(f(s))
			if value == "\x00" {
				v.Del(key)
			} else {
				v.Set(key, value)
			}
			return v.Encode()
		}
	}
	rows := []row{
		{"TX-01/grant_type missing", replace(awsWith(), "grant_type", "\x00"), 400, "invalid_request", "grant_type_missing"},
		{"TX-01/grant_type empty", replace(awsWith(), "grant_type", ""), 400, "invalid_request", "grant_type_missing"},
		{"TX-01/client_credentials", replace(awsWith(), "grant_type", "client_credentials"), 400, "unsupported_grant_type", "grant_type_unsupported"},
		{"TX-01/jwt-bearer", replace(jwtWith(), "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), 400, "unsupported_grant_type", "grant_type_unsupported"},
		{"TX-01/upper-case", replace(awsWith(), "grant_type", strings.ToUpper(xGrant)), 400, "unsupported_grant_type", "grant_type_unsupported"},
		{"TX-01/trailing space", replace(awsWith(), "grant_type", xGrant+" "), 400, "unsupported_grant_type", "grant_type_unsupported"},
		{"TX-01/authorization_code", replace(jwtWith(), "grant_type", "authorization_code"), 400, "unsupported_grant_type", "grant_type_unsupported"},
		{"TX-01/grant_type twice", func(s *xEnv) string { return awsWith()(s) + "&grant_type=" + url.QueryEscape(xGrant) }, 400, "invalid_request", "parameter_repeated"},

		{"TX-02/subject_token_type missing", replace(awsWith(), "subject_token_type", "\x00"), 400, "invalid_request", "subject_token_type_unsupported"},
		{"TX-02/access_token type", replace(jwtWith(), "subject_token_type", "urn:ietf:params:oauth:token-type:access_token"), 400, "invalid_request", "subject_token_type_unsupported"},
		{"TX-02/saml2 type", replace(jwtWith(), "subject_token_type", "urn:ietf:params:oauth:token-type:saml2"), 400, "invalid_request", "subject_token_type_unsupported"},
		{"TX-02/aws type upper-case", replace(awsWith(), "subject_token_type", strings.ToUpper(xTypeAWS)), 400, "invalid_request", "subject_token_type_unsupported"},
		{"TX-02/JWT sent as aws4_request", replace(jwtWith(), "subject_token_type", xTypeAWS), 400, "invalid_request", "proof_kind_mismatch"},
		{"TX-02/envelope sent as jwt", replace(awsWith(), "subject_token_type", xTypeJWT), 400, "invalid_request", ""},
		{"TX-02/envelope sent as id_token", replace(awsWith(), "subject_token_type", xTypeID), 400, "invalid_request", ""},

		{"TX-03/audience not served, AWS", replace(awsWith(), "audience", "other-aud"), 400, "invalid_target", "audience_unknown"},
		{"TX-03/audience not served, JWT", replace(jwtWith(), "audience", "other-aud"), 400, "invalid_target", "audience_unknown"},
		{"TX-03/audience case variant", replace(awsWith(), "audience", strings.ToUpper(xAud)), 400, "invalid_target", "audience_unknown"},
		{"TX-03/audience with a trailing space", replace(jwtWith(), "audience", xAud+" "), 400, "invalid_target", "audience_unknown"},
		{"TX-03/resource", awsWith("resource", "https://keyless.example/"), 400, "invalid_target", "resource_unsupported"},

		{"TX-04/subject_token missing", replace(awsWith(), "subject_token", "\x00"), 400, "invalid_request", "parameter_missing"},
		{"TX-04/subject_token empty", replace(awsWith(), "subject_token", ""), 400, "invalid_request", "parameter_missing"},
		{"TX-04/subject_token twice, AWS", func(s *xEnv) string { return awsWith()(s) + "&subject_token=" + url.QueryEscape(envelope(s)) }, 400, "invalid_request", "parameter_repeated"},
		{"TX-04/subject_token twice, JWT", func(s *xEnv) string { return jwtWith()(s) + "&subject_token=" + url.QueryEscape(s.jwt(nil)) }, 400, "invalid_request", "parameter_repeated"},
		{"TX-04/subject_token twice, once empty", func(s *xEnv) string { return awsWith()(s) + "&subject_token=" }, 400, "invalid_request", "parameter_repeated"},
		{"TX-04/audience missing", replace(awsWith(), "audience", "\x00"), 400, "invalid_request", "parameter_missing"},
		{"TX-04/audience twice", func(s *xEnv) string { return awsWith()(s) + "&audience=other-aud" }, 400, "invalid_request", "parameter_repeated"},
		{"TX-04/no parameters", form(), 400, "invalid_request", "grant_type_missing"},

		{"TX-06/scope", awsWith("scope", "s3:*"), 400, "invalid_scope", "scope_unsupported"},
		{"TX-06/scope openid", jwtWith("scope", "openid"), 400, "invalid_scope", "scope_unsupported"},
		{"TX-06/actor_token", jwtWith("actor_token", "x.y.z", "actor_token_type", xTypeJWT), 400, "invalid_request", "delegation_unsupported"},
		{"TX-06/actor_token alone", awsWith("actor_token", "x.y.z"), 400, "invalid_request", "delegation_unsupported"},
		{"TX-06/actor_token_type alone", awsWith("actor_token_type", xTypeJWT), 400, "invalid_request", "delegation_unsupported"},
		{"TX-06/requested_token_type access_token", awsWith("requested_token_type", "urn:ietf:params:oauth:token-type:access_token"), 400, "invalid_request", "requested_token_type_unsupported"},
	}
	for _, row := range rows {
		t.Run(row.id, func(t *testing.T) {
			s := x.sub(t)
			body := row.form(s)
			m := s.up.mark()
			r := s.call(xPathToken, formType, body, 0, xEnvelopeSecrets([]byte(body))...)
			if r.status == 200 {
				t.Errorf("%s: ACCEPTED", row.id)
			}
			s.deny(row.id, r, row.status, row.code, row.reason)
			s.upstream(row.id, m, 0)
		})
	}
	// The request itself.
	for _, c := range []struct{ id, ctype, path, body string }{
		{"TX/JSON instead of a form", "application/json", xPathToken, `{"grant_type":"` + xGrant + `"}`},
		{"TX/no content type", "", xPathToken, "grant_type=" + url.QueryEscape(xGrant)},
		{"TX/parameters in the query string", formType, xPathToken + "?subject_token=x", "grant_type=" + url.QueryEscape(xGrant)},
		{"TX/ExchangeExternalToken as a form", formType, xPathEx, "audience=" + xAud},
		{"TX/ExchangeExternalToken with an unknown member", "application/json", xPathEx, `{"audience":"` + xAud + `","issuer_uri":"` + xIssuer + `","jwt_token":"a.b.c","x":1}`},
		{"TX/ExchangeExternalToken with a duplicate member", "application/json", xPathEx, `{"audience":"other","audience":"` + xAud + `","issuer_uri":"` + xIssuer + `","jwt_token":"a.b.c"}`},
		{"TX/ExchangeExternalToken with a number", "application/json", xPathEx, `{"audience":1,"issuer_uri":"` + xIssuer + `","jwt_token":"a.b.c"}`},
	} {
		t.Run(c.id, func(t *testing.T) {
			s := x.sub(t)
			s.deny(c.id, s.call(c.path, c.ctype, c.body, 0), 400, "invalid_request", "request_malformed")
		})
	}
	// Token kinds against issuers (TX-02) and audiences (TX-03) through
	// ExchangeExternalToken.
	t.Run("TX-02/JWT with issuer_uri sts.amazonaws.com", func(t *testing.T) {
		s := x.sub(t)
		s.deny("TX-02/JWT as AWS", s.external(xAud, "https://sts.amazonaws.com", s.jwt(nil)), 400, "invalid_request", "proof_kind_mismatch")
	})
	t.Run("TX-02/envelope with the OIDC issuer_uri", func(t *testing.T) {
		s := x.sub(t)
		m := s.up.mark()
		s.deny("TX-02/envelope as OIDC", s.external(xAud, xIssuer, string(s.sign(xSpec{}).Bytes())), 400, "invalid_request", "proof_kind_mismatch")
		s.upstream("TX-02/envelope as OIDC", m, 0)
	})
	t.Run("TX-03/ExchangeExternalToken audience not served", func(t *testing.T) {
		s := x.sub(t)
		s.deny("TX-03/external", s.external("other-aud", xIssuer, s.jwt(nil)), 400, "invalid_target", "audience_unknown")
		s.deny("TX-03/external AWS", s.external("other-aud", "https://sts.amazonaws.com", string(s.sign(xSpec{}).Bytes())), 400, "invalid_target", "audience_unknown")
	})
	t.Run("TX/issuer_uri unknown", func(t *testing.T) {
		s := x.sub(t)
		s.deny("TX/issuer unknown", s.external(xAud, "https://unknown.example.com", s.jwt(map[string]any{"iss": "https://unknown.example.com"})), 400, "invalid_request", "issuer_unknown")
	})
	if n := x.up.mark(); n.reqs != 0 || n.conns != 0 {
		t.Errorf("the upstream STS saw %d connections, %d requests", n.conns, n.reqs)
	}
}

// ---------------------------------------------------------------------------
// 3.F rows that apply to the exchange.

type xAbsent struct{}

func (x *xEnv) claims(extra map[string]any) map[string]any {
	now := x.clock.Now()
	c := map[string]any{"iss": xIssuer, "sub": "alice", "aud": xAud, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": xRandomHex(12)}
	for k, v := range extra {
		if _, ok := v.(xAbsent); ok {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func (x *xEnv) jwt(extra map[string]any) string { return x.k.rsa.Sign(x.claims(extra)) }

func xB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func xMust(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// xRawJWT signs header and payload text with s.
func xRawJWT(s *idtokentest.Signer, header, payload string) string {
	return s.Raw([]byte(header), []byte(payload))
}

func TestExchangeJWT(t *testing.T) {
	x := newXEnv(t, false)
	k := x.k
	cn := outboundtest.NewCanary(t)
	hdr := func(h map[string]any) string { return string(xMust(h)) }
	cl := func(s *xEnv, extra map[string]any) string { return string(xMust(s.claims(extra))) }
	unsigned := func(alg, sig string) func(*xEnv) string {
		return func(s *xEnv) string {
			return xB64([]byte(`{"alg":"`+alg+`","typ":"JWT"}`)) + "." + xB64([]byte(cl(s, nil))) + "." + sig
		}
	}
	type row struct {
		id     string
		token  func(s *xEnv) string
		status int
		code   string
		reason string
	}
	tok := func(extra map[string]any) func(*xEnv) string { return func(s *xEnv) string { return s.jwt(extra) } }
	withHeader := func(signer *idtokentest.Signer, h map[string]any) func(*xEnv) string {
		return func(s *xEnv) string { return xRawJWT(signer, hdr(h), cl(s, nil)) }
	}
	payload := func(p func(s *xEnv) string) func(*xEnv) string {
		return func(s *xEnv) string { return xRawJWT(k.rsa, `{"alg":"RS256","kid":"x-rsa","typ":"JWT"}`, p(s)) }
	}
	std := func(s *xEnv) string {
		now := s.clock.Now()
		return `"iss":"` + xIssuer + `","aud":"` + xAud + `","iat":` + strconv.FormatInt(now.Unix(), 10) + `,"exp":` + strconv.FormatInt(now.Add(5*time.Minute).Unix(), 10) +
			`,"jti":"` + xRandomHex(12) + `"`
	}
	segment := func(f func(string) string) func(*xEnv) string { return func(s *xEnv) string { return f(s.jwt(nil)) } }
	flip := func(seg int, bit int) func(*xEnv) string {
		return segment(func(t string) string {
			parts := strings.Split(t, ".")
			b, _ := base64.RawURLEncoding.DecodeString(parts[seg])
			b[bit/8] ^= 1 << (bit % 8)
			parts[seg] = xB64(b)
			return strings.Join(parts, ".")
		})
	}
	rand16 := xB64([]byte("0123456789abcdef0123456789abcdef"))
	now := func(s *xEnv, d time.Duration) int64 { return s.clock.Now().Add(d).Unix() }
	rows := []row{
		{"JWT-01/alg none, empty signature", unsigned("none", ""), 400, "invalid_request", ""},
		{"JWT-01/alg none, a signature", unsigned("none", rand16), 400, "invalid_request", ""},
		{"JWT-01/alg None", unsigned("None", ""), 400, "invalid_request", ""},
		{"JWT-01/alg NONE", unsigned("NONE", rand16), 400, "invalid_request", ""},
		{"JWT-01/alg nOnE", unsigned("nOnE", rand16), 400, "invalid_request", ""},
		{"JWT-01/alg none with our kid", func(s *xEnv) string {
			return xB64([]byte(`{"alg":"none","kid":"x-rsa"}`)) + "." + xB64([]byte(cl(s, nil))) + "."
		}, 400, "invalid_request", ""},

		{"JWT-04/PS256 (key published, algorithm not allowed)", func(s *xEnv) string { return k.ps.Sign(s.claims(nil)) }, 400, "invalid_request", "token_alg_not_allowed"},
		{"JWT-04/EdDSA (key published, algorithm not allowed)", func(s *xEnv) string { return k.ed.Sign(s.claims(nil)) }, 400, "invalid_request", "token_alg_not_allowed"},
		{"JWT-04/ES256K", withHeader(k.ec, map[string]any{"alg": "ES256K", "kid": "x-ec"}), 400, "invalid_request", "token_alg_not_allowed"},
		{"JWT-04/RS1", withHeader(k.rsa, map[string]any{"alg": "RS1", "kid": "x-rsa"}), 400, "invalid_request", "token_alg_not_allowed"},
		{"JWT-04/RS512 header on an RS256 signature", withHeader(k.rsa, map[string]any{"alg": "RS512", "kid": "x-rsa"}), 400, "invalid_request", "token_alg_not_allowed"},
		{"JWT-04/ES256 header on an RSA signature", withHeader(k.rsa, map[string]any{"alg": "ES256", "kid": "x-rsa"}), 400, "invalid_request", "token_key_unknown"},
		{"JWT-04/HS256 keyed with the audience", func(s *xEnv) string {
			in := xB64([]byte(`{"alg":"HS256","kid":"x-rsa"}`)) + "." + xB64([]byte(cl(s, nil)))
			mac := hmacSHA256([]byte(xAud), []byte(in))
			return in + "." + xB64(mac)
		}, 400, "invalid_request", ""},

		{"JWT-05/jku at the canary", withHeader(k.attacker, map[string]any{"alg": "RS256", "kid": "x-rsa", "jku": cn.URL + "/jwks"}), 400, "invalid_request", ""},
		{"JWT-05/jku at the canary, signed by the provider", withHeader(k.rsa, map[string]any{"alg": "RS256", "kid": "x-rsa", "jku": cn.URL + "/jwks"}), 400, "invalid_request", ""},
		{"JWT-05/x5u at the canary", withHeader(k.attacker, map[string]any{"alg": "RS256", "x5u": cn.URL + "/cert.pem"}), 400, "invalid_request", ""},
		{"JWT-05/embedded jwk", withHeader(k.attacker, map[string]any{"alg": "RS256", "jwk": k.attacker.JWK()}), 400, "invalid_request", ""},
		{"JWT-05/x5c", withHeader(k.attacker, map[string]any{"alg": "RS256", "x5c": []string{"MIIBszCCAVmgAwIBAgIBATAKBggqhkjOPQQDAjA="}}), 400, "invalid_request", ""},
		{"JWT-05/our kid, the attacker's key", withHeader(k.attacker, map[string]any{"alg": "RS256", "kid": "x-rsa", "typ": "JWT"}), 400, "invalid_request", "token_signature_invalid"},

		{"JWT-10/bit flipped in the header", flip(0, 9), 400, "invalid_request", ""},
		{"JWT-10/bit flipped in the payload", flip(1, 80), 400, "invalid_request", "token_signature_invalid"},
		{"JWT-10/bit flipped in the signature", flip(2, 100), 400, "invalid_request", "token_signature_invalid"},
		{"JWT-10/last bit of the signature", segment(func(t string) string {
			parts := strings.Split(t, ".")
			b, _ := base64.RawURLEncoding.DecodeString(parts[2])
			b[len(b)-1] ^= 1
			parts[2] = xB64(b)
			return strings.Join(parts, ".")
		}), 400, "invalid_request", ""},
		{"JWT-10/signature removed", segment(func(t string) string { return t[:strings.LastIndexByte(t, '.')+1] }), 400, "invalid_request", ""},
		{"JWT-10/signature segment removed", segment(func(t string) string { return t[:strings.LastIndexByte(t, '.')] }), 400, "invalid_request", ""},
		{"JWT-10/extra segment", segment(func(t string) string { return t + "." + rand16 }), 400, "invalid_request", ""},
		{"JWT-10/extra dot", segment(func(t string) string { return t + "." }), 400, "invalid_request", ""},
		{"JWT-10/signature of another token", func(s *xEnv) string {
			a, b := s.jwt(nil), s.jwt(map[string]any{"sub": "admin"})
			return b[:strings.LastIndexByte(b, '.')] + a[strings.LastIndexByte(a, '.'):]
		}, 400, "invalid_request", ""},

		{"JWT-16/aud missing", tok(map[string]any{"aud": xAbsent{}}), 400, "invalid_request", "token_aud_missing"},
		{"JWT-16/aud []", tok(map[string]any{"aud": []string{}}), 400, "invalid_request", "token_aud_invalid"},
		{"JWT-16/aud empty", tok(map[string]any{"aud": ""}), 400, "invalid_request", "token_aud_invalid"},
		{"JWT-16/aud 123", tok(map[string]any{"aud": 123}), 400, "invalid_request", "token_aud_invalid"},
		{"JWT-16/aud null", tok(map[string]any{"aud": nil}), 400, "invalid_request", "token_aud_invalid"},
		{"JWT-16/aud {}", tok(map[string]any{"aud": map[string]any{}}), 400, "invalid_request", "token_aud_invalid"},
		{"JWT-16/aud [other]", tok(map[string]any{"aud": []string{"other"}}), 400, "invalid_request", "token_aud_not_client"},
		{"JWT-16/aud other", tok(map[string]any{"aud": "other"}), 400, "invalid_request", "token_aud_not_client"},
		{"JWT-16/aud [ours, other] without azp", tok(map[string]any{"aud": []string{xAud, "other"}}), 400, "invalid_request", "token_azp_missing"},
		{"JWT-16/aud case variant", tok(map[string]any{"aud": strings.ToUpper(xAud)}), 400, "invalid_request", "token_aud_not_client"},
		{"JWT-16/aud with a trailing space", tok(map[string]any{"aud": xAud + " "}), 400, "invalid_request", "token_aud_not_client"},
		{"JWT-16/aud sts.amazonaws.com", tok(map[string]any{"aud": "sts.amazonaws.com"}), 400, "invalid_request", "token_aud_not_client"},

		{"JWT-17/exp past by leeway + 1 s", func(s *xEnv) string {
			return s.jwt(map[string]any{"iat": now(s, -time.Hour), "exp": now(s, -31*time.Second)})
		}, 400, "invalid_request", ""},
		{"JWT-17/exp long past", func(s *xEnv) string {
			return s.jwt(map[string]any{"iat": now(s, -48*time.Hour), "exp": now(s, -47*time.Hour)})
		}, 400, "invalid_request", ""},
		{"JWT-17/exp missing", tok(map[string]any{"exp": xAbsent{}}), 400, "invalid_request", "token_exp_invalid"},
		{"JWT-17/exp a string", func(s *xEnv) string { return s.jwt(map[string]any{"exp": strconv.FormatInt(now(s, time.Minute), 10)}) }, 400, "invalid_request", "token_exp_invalid"},
		{"JWT-17/exp negative", tok(map[string]any{"exp": -1}), 400, "invalid_request", "token_exp_invalid"},
		{"JWT-18/iat in the future", func(s *xEnv) string {
			return s.jwt(map[string]any{"iat": now(s, time.Hour), "exp": now(s, 2*time.Hour)})
		}, 400, "invalid_request", "token_iat_invalid"},
		{"JWT-18/nbf in the future", func(s *xEnv) string { return s.jwt(map[string]any{"nbf": now(s, time.Hour)}) }, 400, "invalid_request", "token_nbf_invalid"},
		{"JWT-18/lifetime over 24 h", func(s *xEnv) string { return s.jwt(map[string]any{"exp": now(s, 25*time.Hour)}) }, 400, "invalid_request", "token_lifetime_too_long"},

		{"JWT-20/duplicate sub", payload(func(s *xEnv) string { return `{"sub":"bob",` + std(s) + `,"sub":"alice"}` }), 400, "invalid_request", ""},
		{"JWT-20/duplicate sub, alice first", payload(func(s *xEnv) string { return `{"sub":"alice",` + std(s) + `,"sub":"bob"}` }), 400, "invalid_request", ""},
		{"JWT-20/duplicate aud", payload(func(s *xEnv) string { return `{"sub":"alice",` + std(s) + `,"aud":"other"}` }), 400, "invalid_request", ""},
		{"JWT-20/Sub and sub", payload(func(s *xEnv) string { return `{"Sub":"bob",` + std(s) + `,"sub":"alice"}` }), 400, "invalid_request", ""},
		{"JWT-20/ſub and sub", payload(func(s *xEnv) string { return `{"ſub":"bob",` + std(s) + `,"sub":"alice"}` }), 400, "invalid_request", ""},
		{"JWT-20/escaped duplicate sub", payload(func(s *xEnv) string { return `{"sub":"alice",` + std(s) + `,"s\u0075b":"bob"}` }), 400, "invalid_request", ""},
		{"JWT-20/duplicate alg in the header", func(s *xEnv) string { return xRawJWT(k.rsa, `{"alg":"none","kid":"x-rsa","alg":"RS256"}`, cl(s, nil)) }, 400, "invalid_request", ""},
		{"JWT-20/duplicate kid in the header", func(s *xEnv) string { return xRawJWT(k.rsa, `{"alg":"RS256","kid":"nope","kid":"x-rsa"}`, cl(s, nil)) }, 400, "invalid_request", ""},

		{"JWT-22/16 KiB + 1", func(s *xEnv) string {
			t := s.jwt(map[string]any{"pad": ""})
			return s.jwt(map[string]any{"pad": strings.Repeat("a", (16<<10+1-len(t))*3/4+4)})
		}, 400, "invalid_request", ""},
		{"JWT-22/20 001 characters", func(s *xEnv) string {
			return s.jwt(map[string]any{"pad": strings.Repeat("a", 15000)})
		}, 400, "invalid_request", ""},
		{"JWT-22/64 KiB + 1", func(s *xEnv) string { t := s.jwt(nil); return t + strings.Repeat("A", 64<<10+1-len(t)) }, 400, "invalid_request", "proof_size"},
		{"JWT-22/10^5 dots", func(*xEnv) string { return strings.Repeat(".", 100000) }, 400, "invalid_request", "proof_size"},
		{"JWT-22/10^4 dots", func(*xEnv) string { return strings.Repeat("a.", 10000) }, 400, "invalid_request", ""},
		{"JWT-22/1 MiB", func(*xEnv) string { return strings.Repeat("A", 1<<20) }, 413, "invalid_request", "body_too_large"},

		{"JWT/iss not issuer_uri", tok(map[string]any{"iss": "https://other.example.com"}), 400, "invalid_request", "token_issuer_mismatch"},
		{"JWT/iss with a trailing slash", tok(map[string]any{"iss": xIssuer + "/"}), 400, "invalid_request", "token_issuer_mismatch"},
		{"JWT/sub bob", tok(map[string]any{"sub": "bob"}), 400, "invalid_request", "no_provider_matched"},
		{"JWT/sub Alice", tok(map[string]any{"sub": "Alice"}), 400, "invalid_request", "no_provider_matched"},
		{"JWT/sub alice with a NUL", tok(map[string]any{"sub": "alice\x00"}), 400, "invalid_request", "no_provider_matched"},
	}
	for _, row := range rows {
		t.Run(row.id, func(t *testing.T) {
			s := x.sub(t)
			r := s.external(xAud, xIssuer, row.token(s))
			if r.status == 200 {
				t.Errorf("%s: ACCEPTED (200 with credentials)", row.id)
			}
			s.deny(row.id, r, row.status, row.code, row.reason)
		})
	}
	if n := cn.Conns(); n != 0 {
		t.Errorf("JWT-05: the canary received %d connections", n)
	}

	// JWT-29: single use.
	t.Run("JWT-29", func(t *testing.T) {
		s := x.sub(t)
		t1 := s.jwt(nil)
		s.accept("JWT-29/first use", s.external(xAud, xIssuer, t1))
		s.deny("JWT-29/second use", s.external(xAud, xIssuer, t1), 400, "invalid_request", "token_replayed")
		s.deny("JWT-29/second use at /v1/token", s.call(xPathToken, formType, xForm("grant_type", xGrant, "audience", xAud, "subject_token_type", xTypeJWT,
			"subject_token", t1), 0, xTokenSecrets(t1)...), 400, "invalid_request", "token_replayed")
		// Same jti, another token (re-signed, other iat): the jti is the key.
		jti := xRandomHex(12)
		a := s.jwt(map[string]any{"jti": jti})
		b := s.jwt(map[string]any{"jti": jti, "iat": s.clock.Now().Unix() - 1})
		s.accept("JWT-29/first of a jti", s.external(xAud, xIssuer, a))
		s.deny("JWT-29/another token with the same jti", s.external(xAud, xIssuer, b), 400, "invalid_request", "token_replayed")
		// Without a jti, the token itself.
		c := s.jwt(map[string]any{"jti": xAbsent{}})
		s.accept("JWT-29/first use without jti", s.external(xAud, xIssuer, c))
		s.deny("JWT-29/second use without jti", s.external(xAud, xIssuer, c), 400, "invalid_request", "token_replayed")
		// A refused token is not consumed.
		d := s.jwt(nil)
		s.deny("JWT-29/refused for the audience", s.external("other-aud", xIssuer, d), 400, "invalid_target", "audience_unknown")
		s.accept("JWT-29/then accepted", s.external(xAud, xIssuer, d))
	})
}

// hmacSHA256 is HMAC-SHA-256 (RFC 2104).
func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// ---------------------------------------------------------------------------
// Faults (3.M): nothing lost, nobody let in.

func TestExchangeFaults(t *testing.T) {
	x := newXEnv(t, false)
	t.Run("upstream unreachable", func(t *testing.T) {
		s := x.sub(t)
		m := s.up.mark()
		r := s.aws(s.sign(xSpec{host: s.closed}).Bytes())
		s.deny("upstream unreachable", r, 503, "temporarily_unavailable", "aws_upstream_unavailable")
		s.upstream("upstream unreachable", m, 0)
	})
	t.Run("single-use store failing, AWS", func(t *testing.T) {
		s := x.sub(t)
		b := s.sign(xSpec{}).Bytes()
		s.store.failUseOnce.Store(true)
		m := s.up.mark()
		r := s.aws(b)
		s.store.failUseOnce.Store(false)
		s.deny("store failing, AWS", r, 503, "temporarily_unavailable", "aws_replay_store_unavailable")
		s.upstream("store failing, AWS", m, 0)
		// Nothing was recorded: the same request is good once the store is
		// back, and once only.
		s.accept("store back, AWS", s.aws(b))
		s.deny("store back, AWS replay", s.aws(b), 400, "invalid_request", "aws_replayed")
	})
	t.Run("single-use store failing, OIDC", func(t *testing.T) {
		s := x.sub(t)
		tok := s.jwt(nil)
		s.store.failUseOnce.Store(true)
		r := s.external(xAud, xIssuer, tok)
		s.store.failUseOnce.Store(false)
		s.deny("store failing, OIDC", r, 503, "temporarily_unavailable", "single_use_unavailable")
		// Nothing was recorded: the token is good once the store is back.
		s.accept("store back, OIDC", s.external(xAud, xIssuer, tok))
	})
	t.Run("audit store failing on a grant", func(t *testing.T) {
		s := x.sub(t)
		b := s.sign(xSpec{}).Bytes()
		noteSecret(xEnvelopeSecrets(b)...)
		s.store.failAudit.Store(true)
		r := s.raw(xPathToken, formType, xForm("grant_type", xGrant, "audience", xAud, "subject_token_type", xTypeAWS, "subject_token", string(b)), 0)
		s.store.failAudit.Store(false)
		if r.status != 503 || r.code != "temporarily_unavailable" {
			t.Errorf("audit store failing: %d %s", r.status, r.code)
		}
		for _, w := range xCredentialWords {
			if strings.Contains(r.body, w) {
				t.Errorf("audit store failing: the answer carries %s", w)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// The oracle check (security.md 3.0 rule 4): a caller learns the error code
// and nothing about which check failed; the audit log does.

func TestExchangeOracle(t *testing.T) {
	// A sample of every family, so that this test stands on its own.
	x := newXEnv(t, false)
	samples := []xRow{
		{id: "oracle/stale", env: func(s *xEnv) []byte { return s.sign(xSpec{at: s.clock.Now().Add(-time.Hour)}).Bytes() }},
		{id: "oracle/header", env: xSigned(xSpec{extra: map[string]string{"Accept": "application/json"}})},
		{id: "oracle/audience", env: xSigned(xSpec{aud: "other-aud"})},
		{id: "oracle/host", env: xE(func(_ *xEnv, v xEnvelope) xEnvelope { return v.WithURL("http://127.0.0.1:1/") })},
		{id: "oracle/json", env: func(*xEnv) []byte { return []byte("{}") }},
		{id: "oracle/upstream 403", env: xSigned(xSpec{}), reqs: 1, mock: xAnswer(403, "text/xml", xAWSError("SignatureDoesNotMatch", xMarker))},
		{id: "oracle/upstream XML", env: xSigned(xSpec{}), reqs: 1, mock: xAnswer(200, "text/xml", "x"+xAliceXML)},
		{id: "oracle/upstream bob", env: xSigned(xSpec{}), reqs: 1, mock: xAnswer(200, "text/xml", awsprooftest.IdentityXML("arn:aws:iam::111122223333:user/bob", "AIDABOB", xAccount))},
	}
	x.runRows(t, samples)
	t.Run("oracle/JWT", func(t *testing.T) {
		s := x.sub(t)
		s.deny("oracle/jwt expired", s.external(xAud, xIssuer, s.jwt(map[string]any{"iat": s.clock.Now().Add(-time.Hour).Unix(), "exp": s.clock.Now().Add(-time.Minute).Unix()})), 400, "invalid_request", "")
		s.deny("oracle/jwt aud", s.external(xAud, xIssuer, s.jwt(map[string]any{"aud": "other"})), 400, "invalid_request", "")
		s.deny("oracle/jwt sub", s.external(xAud, xIssuer, s.jwt(map[string]any{"sub": "bob"})), 400, "invalid_request", "")
		s.deny("oracle/jwt signature", s.external(xAud, xIssuer, s.k.attacker.Sign(s.claims(nil))), 400, "invalid_request", "")
		s.deny("oracle/grant", s.call(xPathToken, formType, xForm("audience", xAud), 0), 400, "invalid_request", "")
	})
	// What an unauthenticated caller learns with a token that is not even
	// a JWT: the audience is checked before the token (TX-03 asks for
	// invalid_target), so the error code tells which issuers are
	// registered and which audiences they serve. Recorded, not judged.
	t.Run("oracle/issuer and audience enumeration", func(t *testing.T) {
		s := x.sub(t)
		probe := func(issuer, audience string) string {
			r := s.external(audience, issuer, "not-a-token")
			s.deny("oracle/enumeration", r, r.status, r.code, "")
			return r.code + " (" + r.ev.AdditionalEventData["reason"] + ")"
		}
		known := probe(xIssuer, "no-such-audience")
		unknown := probe("https://unregistered.example.com", "no-such-audience")
		served := probe(xIssuer, xAud)
		t.Logf("garbage token: registered issuer, unserved audience -> %s; unregistered issuer -> %s; registered issuer, served audience -> %s",
			known, unknown, served)
	})

	xOracle.Lock()
	defer xOracle.Unlock()
	for code, descs := range xOracle.desc {
		if len(descs) != 1 {
			var lines []string
			for d, ids := range descs {
				lines = append(lines, fmt.Sprintf("%q (%d rows, e.g. %s)", d, len(ids), ids[0]))
			}
			t.Errorf("%s: %d different descriptions: %s", code, len(descs), strings.Join(lines, "; "))
		}
		for d := range descs {
			for reason := range xOracle.reasons[code] {
				if strings.Contains(d, reason) {
					t.Errorf("%s: the description %q names the reason %q", code, d, reason)
				}
			}
			for _, leak := range []string{"SignatureDoesNotMatch", xMarker, "upstream", "signature", "expired", "audience", "replay"} {
				if strings.Contains(strings.ToLower(d), strings.ToLower(leak)) && code == "invalid_request" {
					t.Errorf("%s: the description %q says %q", code, d, leak)
				}
			}
		}
		t.Logf("%s: %d refusals, description %q, %d distinct audit reasons", code, xSum(xOracle.reasons[code]), xKeysOf(descs), len(xOracle.reasons[code]))
	}
	if n := len(xOracle.reasons["invalid_request"]); n < 10 {
		t.Errorf("only %d distinct audit reasons among invalid_request refusals: the audit log must tell the checks apart", n)
	}
}

func xSum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func xKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
