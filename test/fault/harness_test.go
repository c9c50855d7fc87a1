package fault

import (
	"context"
	"encoding/base32"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/internal/totp"
	"github.com/keyless-dev/keyless/test/internal/proc"
)

// The quickstart's identities (examples/quickstart.yaml).
const (
	quickstart  = "../../examples/quickstart.yaml"
	aliceKey    = "AKIAIOSFODNN7EXAMPLE"
	aliceSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	bobKey      = "AKIABTX3GSDS7NXV2MXY"
	bobSecret   = "opARnF931ysD1XiGDsDttce3uWMHSnn6LbNzN8BC"
	bobMFA      = "arn:aws:iam::111122223333:mfa/bob"
	bobSeed     = "SYDFN5YJMAMT3Q2NNXNCE6SB54XGBZTH"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keyless-fault")
	if err != nil {
		panic(err)
	}
	if binary, err = proc.Build(dir, false); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// node is one keyless process on a data directory. The data directory and
// the key-encryption key outlive the process, so that a test can restart
// it on the same state.
type node struct {
	t       *testing.T
	config  string
	dataDir string
	kekFile string
	addr    string       // host:port once listening; kept across restarts
	srv     *proc.Server // the running process
}

// newNode prepares a node with configuration file config, a fresh data
// directory and a key-encryption key made with `keyless keys
// encryption-key`, outside that directory.
func newNode(t *testing.T, config string) *node {
	t.Helper()
	n := &node{t: t, config: config, dataDir: filepath.Join(t.TempDir(), "data"), kekFile: filepath.Join(t.TempDir(), "kek")}
	if err := proc.NewKEK(binary, n.kekFile); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *node) start() {
	n.t.Helper()
	if err := n.tryStart(); err != nil {
		n.t.Fatal(err)
	}
}

// tryStart is start, returning keyless's own refusal to start.
func (n *node) tryStart(extra ...string) error {
	n.t.Helper()
	addr := n.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	srv, err := proc.Start(binary, append([]string{"serve", "--config", n.config, "--addr", addr, "--data-dir", n.dataDir,
		"--key-encryption-key-file", n.kekFile}, extra...)...)
	if err != nil {
		return err
	}
	n.srv, n.addr = srv, srv.Addr
	n.t.Cleanup(srv.Kill)
	return nil
}

// logs is the running (or last) process's log.
func (n *node) logs() string { return n.srv.Logs.String() }

// kill9 ends the process with SIGKILL: no flush, no shutdown.
func (n *node) kill9() {
	n.t.Helper()
	n.srv.Kill()
}

// stop ends the process with SIGTERM and expects a clean exit.
func (n *node) stop() {
	n.t.Helper()
	if err := n.srv.Stop(30 * time.Second); err != nil {
		n.t.Errorf("keyless did not stop cleanly: %v\n%s", err, n.logs())
	}
}

func (n *node) endpoint() string { return "http://" + n.addr }

// client is an AWS SDK STS client for the node that does not retry, so
// that every answer is seen.
func (n *node) client(id, secret, token string) *sts.Client {
	return sts.New(sts.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(n.endpoint()),
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, token),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Timeout: 30 * time.Second},
	})
}

// session asks for a GetSessionToken session for alice.
func (n *node) session(ctx context.Context) (string, error) {
	out, err := n.client(aliceKey, aliceSecret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Credentials.AccessKeyId), nil
}

// ready is /readyz's status and body.
func (n *node) ready() (int, string) {
	resp, err := http.Get(n.endpoint() + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// keyless runs an offline command and returns its output and exit code.
func keyless(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	out, errOut, code, err := proc.Run(binary, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out, errOut, code
}

// events are the node's stored audit events (`keyless audit`), filtered.
func (n *node) events(filters ...string) []map[string]any {
	n.t.Helper()
	out, errOut, code := keyless(n.t, append([]string{"audit", "--data-dir", n.dataDir}, filters...)...)
	if code != 0 {
		n.t.Fatalf("keyless audit: %d %s", code, errOut)
	}
	events, err := proc.Events(out)
	if err != nil {
		n.t.Fatal(err)
	}
	return events
}

// issuedKeys are the access key ids the audit trail records as issued.
func (n *node) issuedKeys() map[string]bool {
	n.t.Helper()
	keys := map[string]bool{}
	for _, e := range n.events() {
		if id := issued(e); id != "" {
			keys[id] = true
		}
	}
	return keys
}

// issued is the access key id an event records as issued, if any.
func issued(e map[string]any) string {
	re, _ := e["responseElements"].(map[string]any)
	c, _ := re["credentials"].(map[string]any)
	id, _ := c["accessKeyId"].(string)
	return id
}

// bobCode is bob's current TOTP code.
func bobCode(t *testing.T, at time.Time) string {
	t.Helper()
	seed, err := base32.StdEncoding.DecodeString(bobSeed)
	if err != nil {
		t.Fatal(err)
	}
	p := totp.Default()
	return p.Code(seed, p.StepAt(at))
}

// withConfig writes the quickstart with edit applied to a file of its own.
func withConfig(t *testing.T, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile(quickstart)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keyless.yaml")
	if err := os.WriteFile(path, []byte(edit(string(b))), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// dialFrom is an HTTP client whose connections come from the loopback
// address local (all of 127.0.0.0/8 is the loopback interface): another
// source, as keyless sees it.
func dialFrom(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64}}
}

// mustCI fails under CI=true, where every fault must be injected, and
// skips elsewhere.
func mustCI(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: %s", why)
	}
	t.Skip(why)
}
