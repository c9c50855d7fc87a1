package app

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/identity"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

const reloadBase = `
server:
  addr: 127.0.0.1:8080
accounts:
  - id: "111122223333"
    users:
      - name: alice
        access_keys:
          - id: AKIAIOSFODNN7EXAMPLE
            secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
        policies:
          - name: self
            document: '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:GetAccessKeyInfo","Resource":"*"}}'
    roles:
      - name: Demo
        trust_policy: '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}}'
`

// withRole adds a role alice may assume.
func withRole(yaml, name string) string {
	return yaml + `      - name: ` + name + `
        trust_policy: '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}}'
`
}

type reloadFixture struct {
	t     *testing.T
	app   *App
	store *memory.Store
	next  string // the file the next reload reads
	logs  bytes.Buffer
}

func newReloadFixture(t *testing.T, yaml string) *reloadFixture {
	t.Helper()
	f := &reloadFixture{t: t, store: memory.New(), next: yaml}
	parse := func() (*config.Config, error) {
		return config.Parse("keyless.yaml", []byte(f.next), ".", func(string) (string, bool) { return "", false })
	}
	cfg, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	f.app, err = New(context.Background(), cfg, Deps{KeyEncryption: testKEK(t), Store: f.store, Clock: clock.System{}, Random: rand.Reader,
		Logger: slog.New(slog.NewJSONHandler(&f.logs, nil)), LoadConfig: parse})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.app.Close)
	return f
}

type creds struct{ id, secret, token string }

var alice = creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""}

// sts sends a signed STS request to h and returns the status and body.
func (f *reloadFixture) sts(h http.Handler, c creds, body string) (int, string) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.token != "" {
		req.Header.Set("X-Amz-Security-Token", c.token)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.id, SecretAccessKey: c.secret},
		req, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now()); err != nil {
		f.t.Fatal(err)
	}
	// Through the wire format, as a server receives it.
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		f.t.Fatal(err)
	}
	in, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		f.t.Fatal(err)
	}
	in.RemoteAddr = "127.0.0.1:40000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, in)
	return w.Code, w.Body.String()
}

func (f *reloadFixture) assume(h http.Handler, role string) (int, creds) {
	f.t.Helper()
	code, body := f.sts(h, alice, "Action=AssumeRole&Version=2011-06-15&RoleSessionName=reload-test&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2F"+role)
	var r struct {
		C struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string
			SessionToken    string
		} `xml:"AssumeRoleResult>Credentials"`
	}
	_ = xml.Unmarshal([]byte(body), &r)
	if code != 200 {
		f.t.Logf("AssumeRole %s: %s", role, body)
	}
	return code, creds{r.C.AccessKeyID, r.C.SecretAccessKey, r.C.SessionToken}
}

func (f *reloadFixture) reloadEvents() []audit.Event {
	var out []audit.Event
	_ = f.store.QueryAudit(context.Background(), storage.AuditFilter{EventName: reloadEvent}, func(r storage.AuditRecord) error {
		var ev audit.Event
		if err := json.Unmarshal(r.JSON, &ev); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, ev)
		return nil
	})
	return out
}

// TestReload: a valid file takes effect for new requests while a request
// already being handled finishes on the old configuration; sessions,
// unique ids and revocations survive; the reload is audited with the new
// file's digest.
func TestReload(t *testing.T) {
	f := newReloadFixture(t, withRole(reloadBase, "Old"))
	ctx := context.Background()
	if code, _ := f.assume(f.app, "Old"); code != 200 {
		t.Fatalf("assume Old before the reload: %d", code)
	}
	_, demo := f.assume(f.app, "Demo")
	before := f.app.Config()
	old := f.app.cur.Load()

	f.next = withRole(reloadBase, "New")
	res, err := f.app.Reload(ctx, Trigger{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest == "" || res.Digest == before.Digest || len(res.RestartRequired) != 0 {
		t.Errorf("result %+v", res)
	}
	if code, _ := f.assume(f.app, "New"); code != 200 {
		t.Errorf("assume New after the reload: %d", code)
	}
	if code, _ := f.assume(f.app, "Old"); code != 403 {
		t.Errorf("assume Old after the reload: %d", code)
	}
	// A request that started before the swap is served by the old
	// generation to the end.
	if code, _ := f.assume(old.router, "Old"); code != 200 {
		t.Errorf("the old generation after the swap: %d", code)
	}
	// The session issued before the reload still works, under the same
	// role id.
	if code, body := f.sts(f.app, demo, "Action=GetCallerIdentity&Version=2011-06-15"); code != 200 {
		t.Errorf("a session from before the reload: %d %s", code, body)
	}
	// A revocation survives a reload.
	if _, err := identity.Revoke(ctx, f.store, "arn:aws:iam::111122223333:role/Demo", time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := f.app.revoked.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	f.next = withRole(reloadBase, "Newer")
	if _, err := f.app.Reload(ctx, Trigger{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	if code, body := f.sts(f.app, demo, "Action=GetCallerIdentity&Version=2011-06-15"); code != 403 || !strings.Contains(body, "InvalidClientTokenId") {
		t.Errorf("a revoked session after a reload: %d %s", code, body)
	}
	evs := f.reloadEvents()
	if len(evs) != 2 || evs[0].ErrorCode != "" || evs[0].AdditionalEventData["configSha256"] != res.Digest ||
		evs[0].AdditionalEventData["previousConfigSha256"] != before.Digest {
		t.Errorf("reload events %+v", evs)
	}
}

// An invalid file keeps the configuration in force, logs every problem,
// counts a failure and is audited.
func TestReloadInvalidKeepsTheOld(t *testing.T) {
	f := newReloadFixture(t, reloadBase)
	f.next = reloadBase + "    bogus_key: 1\n  - id: \"12\"\n"
	_, err := f.app.Reload(context.Background(), Trigger{Name: "test"})
	if err == nil {
		t.Fatal("an invalid file was reloaded")
	}
	if code, _ := f.assume(f.app, "Demo"); code != 200 {
		t.Errorf("the configuration in force after a refused reload: %d", code)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "bogus_key") || !strings.Contains(logs, "12-digit") {
		t.Errorf("not every problem logged:\n%s", logs)
	}
	if got := testCounter(t, f.app, "keyless_config_reloads_total", "invalid"); got != 1 {
		t.Errorf("invalid reloads counted: %v", got)
	}
	evs := f.reloadEvents()
	if len(evs) != 1 || evs[0].ErrorCode != "InvalidConfiguration" || evs[0].AdditionalEventData["problems"] != "2" {
		t.Errorf("events %+v", evs)
	}
}

// Settings that cannot change while running are reported and keep their
// running values.
func TestReloadRestartRequired(t *testing.T) {
	f := newReloadFixture(t, reloadBase)
	f.next = strings.Replace(withRole(reloadBase, "New"), "addr: 127.0.0.1:8080", "addr: 127.0.0.1:9090\n  log_level: debug", 1)
	res, err := f.app.Reload(context.Background(), Trigger{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.RestartRequired, ",") != "server.addr,server.log_level" {
		t.Errorf("restart required: %v", res.RestartRequired)
	}
	if cfg := f.app.Config(); cfg.Addr != "127.0.0.1:8080" || cfg.PublicURL != "http://127.0.0.1:8080" {
		t.Errorf("running values not kept: %s %s", cfg.Addr, cfg.PublicURL)
	}
	if code, _ := f.assume(f.app, "New"); code != 200 {
		t.Errorf("the rest of the file did not take effect: %d", code)
	}
}

// testCounter reads a counter of the app's registry.
func testCounter(t *testing.T, a *App, name, label string) float64 {
	t.Helper()
	mfs, err := a.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// failingAudit fails every audit append once set.
type failingAudit struct {
	*memory.Store
	fail bool
}

func (f *failingAudit) AppendAudit(ctx context.Context, recs []storage.AuditRecord) error {
	if f.fail {
		return errors.New("audit store down")
	}
	return f.Store.AppendAudit(ctx, recs)
}

// A valid file whose reload cannot be audited is not put in force:
// no configuration takes effect unrecorded.
func TestReloadUnauditedKeepsTheOld(t *testing.T) {
	store := &failingAudit{Store: memory.New()}
	next := reloadBase
	parse := func() (*config.Config, error) {
		return config.Parse("keyless.yaml", []byte(next), ".", func(string) (string, bool) { return "", false })
	}
	cfg, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, Deps{KeyEncryption: testKEK(t), Store: store, Clock: clock.System{}, Random: rand.Reader,
		Logger: slog.New(slog.DiscardHandler), LoadConfig: parse})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	next = withRole(reloadBase, "New")
	store.fail = true
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the caller is gone: the reload neither stops halfway nor applies unaudited
	if _, err := a.Reload(ctx, Trigger{Name: "test"}); !errors.Is(err, ErrReloadUnaudited) {
		t.Fatalf("reload with the audit store down: %v", err)
	}
	if n := len(a.Config().Identities.Roles); n != 1 {
		t.Errorf("the new configuration took effect: %d roles", n)
	}
	if got := testCounter(t, a, "keyless_config_reloads_total", "unaudited"); got != 1 {
		t.Errorf("unaudited reloads counted: %v", got)
	}
}
