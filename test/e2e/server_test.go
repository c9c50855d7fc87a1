package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage/embedded"
	"github.com/keyless-dev/keyless/internal/totp"
	"github.com/keyless-dev/keyless/test/internal/proc"
)

// The quickstart identities (examples/quickstart.yaml).
const (
	account     = "111122223333"
	aliceKey    = "AKIAIOSFODNN7EXAMPLE"
	aliceSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	aliceARN    = "arn:aws:iam::111122223333:user/alice"
	bobKey      = "AKIABTX3GSDS7NXV2MXY"
	bobSecret   = "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"
	bobARN      = "arn:aws:iam::111122223333:user/engineering/bob"
	bobSerial   = "arn:aws:iam::111122223333:mfa/bob"
	bobSeed     = "SYDFN5YJMAMT3Q2NNXNCE6SB54XGBZTH"
	quickstart  = "../../examples/quickstart.yaml"
)

// The quickstart roles, all in account 111122223333.
const (
	demoRole          = "arn:aws:iam::111122223333:role/Demo"    // alice; tags and source identity allowed
	auditorRole       = "arn:aws:iam::111122223333:role/Auditor" // sessions of Demo (role chaining)
	partnerRole       = "arn:aws:iam::111122223333:role/Partner" // alice, with the external id
	adminRole         = "arn:aws:iam::111122223333:role/Admin"   // bob, with MFA
	partnerExternalID = "quickstart-partner-7f3a"
)

// assumedRoleARN is a role session's ARN.
func assumedRoleARN(role, session string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session
}

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keyless-e2e")
	if err != nil {
		panic(err)
	}
	if binary, err = proc.Build(dir, raceEnabled); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running keyless process.
type server struct {
	*proc.Server
	endpoint string
	dataDir  string
	// kekFile holds the key-encryption key, outside the data directory.
	kekFile  string
	stopOnce sync.Once
}

// startServer runs `keyless serve` with the quickstart configuration on a
// free loopback port and a fresh data directory.
func startServer(t *testing.T) *server { return startConfig(t, quickstart) }

// startConfig runs `keyless serve` with a configuration file.
func startConfig(t *testing.T, configPath string) *server {
	t.Helper()
	s, err := launchAt(t, configPath, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// launchAt runs `keyless serve` on addr. An exit before listening is an
// error, for callers that pick the port themselves and may find it taken.
func launchAt(t *testing.T, configPath, addr string) (*server, error) {
	t.Helper()
	s := &server{dataDir: t.TempDir(), kekFile: newKEKFile(t)}
	srv, err := proc.Start(binary, "serve", "--config", configPath, "--addr", addr, "--data-dir", s.dataDir,
		"--key-encryption-key-file", s.kekFile)
	if err != nil {
		return nil, err
	}
	s.Server, s.endpoint = srv, "http://"+srv.Addr
	t.Cleanup(func() { s.stop(t) })
	return s, nil
}

// newKEKFile makes a key-encryption key with `keyless keys
// encryption-key`, in a directory of its own.
func newKEKFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kek")
	if err := proc.NewKEK(binary, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// keySet reads the server's key-encryption key, as the server does.
func (s *server) keySet(t *testing.T) *kek.Set {
	t.Helper()
	b, err := os.ReadFile(s.kekFile)
	if err != nil {
		t.Fatal(err)
	}
	w, err := kek.Parse(secret.NewString(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return &kek.Set{Current: w}
}

// stop sends SIGTERM and expects a clean, prompt exit, without a data
// race reported; the log is complete afterwards.
func (s *server) stop(t *testing.T) {
	s.stopOnce.Do(func() {
		if err := s.Stop(30 * time.Second); err != nil {
			t.Errorf("keyless did not shut down cleanly on SIGTERM: %v\n%s", err, s.Logs.String())
		}
		if strings.Contains(s.Logs.String(), "DATA RACE") {
			t.Errorf("the server reported a data race:\n%s", s.Logs.String())
		}
	})
}

// code is bob's current TOTP code.
func code(t *testing.T) string {
	seed, err := base32.StdEncoding.DecodeString(bobSeed)
	if err != nil {
		t.Fatal(err)
	}
	p := totp.Default()
	return p.Code(seed, p.StepAt(time.Now()))
}

// audit returns the server's stored audit events matching the filters of
// `keyless audit` (for example "--event-name", "AssumeRole").
func (s *server) audit(t *testing.T, filters ...string) []map[string]any {
	t.Helper()
	out, errOut, code, err := proc.Run(binary, nil, append([]string{"audit", "--data-dir", s.dataDir}, filters...)...)
	if err != nil || code != 0 {
		t.Fatalf("keyless audit %v: %v %d %s", filters, err, code, errOut)
	}
	events, err := proc.Events(out)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// tempCreds are temporary credentials as a client sees them.
type tempCreds struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// forgeExpired seals a genuine session token for alice with the server's
// own stored master key, but with an expiry in the past: what a client
// holds after its session ran out.
func (s *server) forgeExpired(t *testing.T, aliceID string) tempCreds {
	t.Helper()
	ctx := context.Background()
	store, err := embedded.Open(ctx, s.dataDir, embedded.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	deployment, err := store.ClaimID(ctx, "deployment", "unused")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Open(ctx, keyring.Options{Store: store, KEK: s.keySet(t), Clock: clock.System{}, Random: rand.Reader,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	sess := credential.Session{
		IssuedAt:   now.Add(-time.Hour),
		Expiration: now.Add(-time.Minute),
		Issuer:     credential.IssuerGetSessionToken,
		Principal:  iam.Principal{Type: iam.User, Account: account, Name: "alice", Path: "/", UniqueID: aliceID},
	}
	tok, err := credential.NewTokenSealer(ring, deployment, rand.Reader).Issue(&sess)
	if err != nil {
		t.Fatal(err)
	}
	return tempCreds{sess.AccessKeyID, sess.Secret.Reveal(), tok.Reveal()}
}

// tamper flips one character in the middle of a session token.
func tamper(c tempCreds) tempCreds {
	b := []byte(c.SessionToken)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	c.SessionToken = string(b)
	return c
}

// requireTool finds a client program; in CI a missing one is a failure.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, name+" is not installed (make test installs it)")
	}
	return p
}

func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", why)
	}
	t.Skipf("%s; skipped outside CI", why)
}

// cleanEnv is an environment with no AWS configuration of the user's.
func cleanEnv(t *testing.T, extra ...string) []string {
	home := t.TempDir()
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1", "PYTHONWARNINGS=ignore"}
	for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION", "LANG", "NODE_PATH"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, extra...)
}
