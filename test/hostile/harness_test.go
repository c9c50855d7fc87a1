package hostile

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/keyless-dev/keyless/internal/app"
	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
	"github.com/keyless-dev/keyless/internal/totp"
	"github.com/keyless-dev/keyless/test/internal/proc"
)

// Identities of testdata/hostile.yaml and testdata/roles.yaml.
type creds struct{ id, secret, token string }

var (
	alice    = creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""}
	aliceOld = creds{"AKIAALICEOLDKEY22222", "alice-old-secret-000000000000000000000000", ""}
	bob      = creds{"AKIABTX3GSDS7NXV2MXY", "opARnF931ysD1XiGDsDttce3uWMHSnn6LbNzN8BC", ""}
	carol    = creds{"AKIACAROLCAROLCAROL2", "carol-secret-0000000000000000000000000000", ""}
	root     = creds{"AKIAROOTROOTROOT2222", "root-secret-0000000000000000000000000000", ""}
	eve      = creds{"AKIAEVEEVEEVEEVEEVE2", "eve-secret-00000000000000000000000000000", ""} // roles.yaml, account 444455556666
)

const (
	bobSerial   = "arn:aws:iam::111122223333:mfa/bob"
	carolSerial = "arn:aws:iam::111122223333:mfa/carol"
	bobSeed     = "SYDFN5YJMAMT3Q2NNXNCE6SB54XGBZTH"
	gciBody     = "Action=GetCallerIdentity&Version=2011-06-15"
	formType    = "application/x-www-form-urlencoded; charset=utf-8"
)

// secretsSeen collects every secret-shaped value the suite sends or
// receives; none may ever appear in an audit event or a log line.
var secretsSeen = struct {
	sync.Mutex
	values map[string]bool
}{values: map[string]bool{}}

func noteSecret(vals ...string) {
	secretsSeen.Lock()
	defer secretsSeen.Unlock()
	for _, v := range vals {
		if len(v) >= 6 {
			secretsSeen.values[v] = true
		}
	}
}

// allOutput collects every audit event and log line of every harness.
var allOutput = struct {
	sync.Mutex
	buf bytes.Buffer
}{}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		code = checkNoSecrets()
	}
	os.Exit(code)
}

// checkNoSecrets is AUD-03: grep everything the suite made keyless write.
func checkNoSecrets() int {
	allOutput.Lock()
	defer allOutput.Unlock()
	out := allOutput.buf.String()
	if len(out) < 10000 {
		os.Stderr.WriteString("AUD-03: suspiciously little audit and log output collected\n")
		return 1
	}
	for v := range secretsSeen.values {
		if strings.Contains(out, v) {
			os.Stderr.WriteString("AUD-03: a secret reached the audit log or server log\n")
			return 1
		}
	}
	return 0
}

// faultyStore injects failures into chosen aggregates.
type faultyStore struct {
	storage.Store
	failAudit, failMFA, panicMFA atomic.Bool
	// failUseOnce makes UseOnce fail as an unreachable store would (an
	// error that is not storage.ErrConflict).
	failUseOnce atomic.Bool
}

var errInjected = errors.New("injected storage failure")

func (f *faultyStore) AppendAudit(ctx context.Context, r []storage.AuditRecord) error {
	if f.failAudit.Load() {
		return errInjected
	}
	return f.Store.AppendAudit(ctx, r)
}

func (f *faultyStore) TakeAttempt(ctx context.Context, key string, w time.Time) (int, error) {
	if f.failMFA.Load() {
		return 0, errInjected
	}
	if f.panicMFA.Load() {
		panic("injected panic")
	}
	return f.Store.TakeAttempt(ctx, key, w)
}

func (f *faultyStore) UseOnce(ctx context.Context, key string, until, now time.Time) error {
	if f.failUseOnce.Load() {
		return errInjected
	}
	return f.Store.UseOnce(ctx, key, until, now)
}

// Close is a no-op so that a test can build a second app ("a restart with
// a new configuration") on the same state.
func (f *faultyStore) Close() error { return nil }

type harness struct {
	t *testing.T
	// config is the configuration file under testdata the harness serves.
	config string
	clock  *clock.Fake
	store  *faultyStore
	app    *app.App
	srv    *httptest.Server
	logs   *proc.Logs
}

// start is 10 s into a TOTP step, so codes for "now" stay valid through a
// test's few requests.
var start = time.Date(2026, 11, 21, 12, 0, 10, 0, time.UTC)

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, "hostile.yaml")
}

// newHarnessWith serves testdata/<config> instead of hostile.yaml.
func newHarnessWith(t *testing.T, config string) *harness {
	t.Helper()
	h := &harness{t: t, config: config, clock: clock.NewFake(start), store: &faultyStore{Store: memory.New()}, logs: &proc.Logs{}}
	h.boot(nil)
	return h
}

// boot (re)builds the app on the harness's store and clock, with the test
// configuration edited by edit.
func (h *harness) boot(edit func(string) string) { h.bootWith(edit, nil) }

// bootWith is boot with a hook that changes the loaded configuration
// before the app is built: state no configuration file can produce.
func (h *harness) bootWith(edit func(string) string, mutate func(*config.Config)) {
	h.t.Helper()
	src, err := os.ReadFile("testdata/" + h.config)
	if err != nil {
		h.t.Fatal(err)
	}
	text := string(src)
	if edit != nil {
		text = edit(text)
	}
	cfg, err := config.Parse(h.config, []byte(text), ".", func(string) (string, bool) { return "", false })
	if err != nil {
		h.t.Fatal(err)
	}
	// The rows send hundreds of refused requests from one address; the
	// per-source limit has tests of its own (internal/edge, test/fault).
	cfg.Refused.PerSecond, cfg.Refused.Burst = 1e6, 1e6
	if mutate != nil {
		mutate(cfg)
	}
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.New(context.Background(), cfg, app.Deps{KeyEncryption: testKEK(h.t), Store: h.store, Clock: h.clock, Random: rand.Reader, Logger: log})
	if err != nil {
		h.t.Fatal(err)
	}
	if h.srv != nil {
		h.srv.Close()
		h.app.Close()
	}
	h.app = a
	h.srv = httptest.NewUnstartedServer(nil)
	limits := app.DefaultLimits()
	limits.ReadHeaderTimeout = 500 * time.Millisecond
	limits.ReadTimeout = time.Second
	h.srv.Config = a.HTTPServer(limits)
	h.srv.Start()
	h.t.Cleanup(func() {
		h.srv.Close()
		h.app.Close()
		h.flushOutput()
	})
}

func (h *harness) flushOutput() {
	allOutput.Lock()
	defer allOutput.Unlock()
	_ = h.store.QueryAudit(context.Background(), storage.AuditFilter{}, func(r storage.AuditRecord) error {
		allOutput.buf.Write(r.JSON)
		allOutput.buf.WriteByte('\n')
		return nil
	})
	allOutput.buf.WriteString(h.logs.String())
}

// request builds a POST of body to path with the Query content type.
func (h *harness) request(method, path, body string) *http.Request {
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", formType)
	}
	return req
}

// sign signs req as an SDK would at the harness's current time.
func (h *harness) sign(req *http.Request, c creds, region string) *http.Request {
	h.t.Helper()
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	if c.token != "" {
		req.Header.Set("X-Amz-Security-Token", c.token)
	}
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.id, SecretAccessKey: c.secret},
		req, hex.EncodeToString(sum[:]), "sts", region, h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	noteSecret(c.secret, c.token)
	return req
}

// presign returns a presigned GET URL for body's parameters.
func (h *harness) presign(c creds, query string) string {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.srv.URL+"/?"+query, nil)
	if c.token != "" {
		req.Header.Set("X-Amz-Security-Token", c.token)
	}
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.id, SecretAccessKey: c.secret},
		req, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sts", "us-east-1", h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	noteSecret(c.secret, c.token)
	return u
}

// result is a parsed response.
type result struct {
	status    int
	body      string
	code      string
	message   string
	requestID string
	creds     creds // from a GetSessionToken, AssumeRole or GetFederationToken answer
}

// issuedCredentials is the Credentials element of an answer.
type issuedCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
}

func (h *harness) do(req *http.Request) result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultTransport.RoundTrip(req.WithContext(ctx))
	if err != nil {
		h.t.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, body: string(b), requestID: resp.Header.Get("x-amzn-RequestId")}
	var doc struct {
		Error struct{ Code, Message string }
		GST   issuedCredentials `xml:"GetSessionTokenResult>Credentials"`
		AR    issuedCredentials `xml:"AssumeRoleResult>Credentials"`
		GFT   issuedCredentials `xml:"GetFederationTokenResult>Credentials"`
	}
	if strings.HasPrefix(r.body, "<") {
		if err := xml.Unmarshal(b, &doc); err != nil {
			h.t.Fatalf("response is not XML: %v\n%s", err, b)
		}
	}
	r.code, r.message = doc.Error.Code, doc.Error.Message
	for _, c := range []issuedCredentials{doc.GST, doc.AR, doc.GFT} {
		if c.AccessKeyID != "" {
			r.creds = creds{c.AccessKeyID, c.SecretAccessKey, c.SessionToken}
		}
	}
	noteSecret(r.creds.secret, r.creds.token)
	return r
}

// auditCount returns how many audit events are stored.
func (h *harness) events() []audit.Event {
	var out []audit.Event
	_ = h.store.QueryAudit(context.Background(), storage.AuditFilter{}, func(r storage.AuditRecord) error {
		var e audit.Event
		if err := json.Unmarshal(r.JSON, &e); err != nil {
			h.t.Fatalf("audit record is not JSON: %v", err)
		}
		out = append(out, e)
		return nil
	})
	return out
}

// send does a request and checks the audit invariant: exactly one new
// event, for this request id, with the response's error code.
func (h *harness) send(req *http.Request) result {
	h.t.Helper()
	before := len(h.events())
	r := h.do(req)
	evs := h.events()
	if len(evs) != before+1 {
		h.t.Fatalf("AUD-01: %d audit events for one request (status %d %s)", len(evs)-before, r.status, r.code)
	}
	ev := evs[len(evs)-1]
	if ev.RequestID != r.requestID || ev.ErrorCode != r.code {
		h.t.Fatalf("audit event %s/%q does not match response %s/%q", ev.RequestID, ev.ErrorCode, r.requestID, r.code)
	}
	return r
}

// assertDenied is the shared denial check of security.md section 3.0.
func (h *harness) assertDenied(id string, r result, status int, code string) {
	h.t.Helper()
	if r.status != status || r.code != code {
		h.t.Errorf("%s: got %d %s (%s), want %d %s", id, r.status, r.code, r.message, status, code)
	}
	for _, el := range []string{"<AccessKeyId>", "<SecretAccessKey>", "<SessionToken>", "<Credentials>"} {
		if strings.Contains(r.body, el) {
			h.t.Errorf("%s: denial carries %s", id, el)
		}
	}
	if !strings.Contains(r.body, "<RequestId>"+r.requestID+"</RequestId>") || !strings.Contains(r.body, "<Type>Sender</Type>") && status < 500 {
		h.t.Errorf("%s: not an AWS ErrorResponse: %s", id, r.body)
	}
}

func (h *harness) assertOK(id string, r result) {
	h.t.Helper()
	if r.status != 200 {
		h.t.Fatalf("%s: got %d %s: %s", id, r.status, r.code, r.message)
	}
}

// code returns the TOTP code for bob's device offset steps from now.
func (h *harness) code(seed string, offset int64) string {
	k, err := base32.StdEncoding.DecodeString(seed)
	if err != nil {
		h.t.Fatal(err)
	}
	p := totp.Default()
	c := p.Code(k, p.StepAt(h.clock.Now())+offset)
	// A bare 6-digit string can occur by chance inside a random UUID, so
	// look for the forms a leaked code would take.
	noteSecret(`"`+c+`"`, "TokenCode="+c, "'"+c+"'", " "+c+" ")
	return c
}

// session gets GetSessionToken credentials for c.
func (h *harness) session(c creds, params string) creds {
	h.t.Helper()
	r := h.send(h.sign(h.request("POST", "/", "Action=GetSessionToken&Version=2011-06-15"+params), c, "us-east-1"))
	h.assertOK("GetSessionToken", r)
	return r.creds
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
