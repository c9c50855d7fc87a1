package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/test/internal/proc"
)

// keyless runs the binary with the test's environment and env.
func keyless(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	return runIn(t, append(os.Environ(), env...), args...)
}

// runIn runs the binary with exactly env; it returns stdout, stderr and
// the exit code.
func runIn(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	out, errOut, code, err := proc.Run(binary, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out, errOut, code
}

func TestCommandVersionAndHelp(t *testing.T) {
	out, _, code := keyless(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "keyless ") {
		t.Errorf("version: %d %q", code, out)
	}
	_, errOut, code := keyless(t, nil, "no-such-command")
	if code != 2 || !strings.Contains(errOut, "usage: keyless") {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
}

func TestCommandConfigValidate(t *testing.T) {
	out, _, code := keyless(t, nil, "config", "validate", quickstart)
	if code != 0 || !strings.Contains(out, "OK (1 accounts, 3 users, 7 roles, 3 access keys, 1 MFA devices, 3 OIDC providers, 2 identity providers)") {
		t.Errorf("quickstart: %d %q", code, out)
	}
	_, errOut, code := keyless(t, nil, "config", "validate", "../../internal/config/testdata/invalid.yaml")
	lines := strings.Count(errOut, "invalid.yaml:")
	if code != 1 || lines < 20 || !strings.Contains(errOut, "problem(s) found") {
		t.Errorf("invalid file: exit %d, %d problems reported:\n%s", code, lines, errOut)
	}
}

// serve with no flags reads $KEYLESS_CONFIG (default ./keyless.yaml) and
// refuses to start on an invalid configuration.
func TestCommandServeRefusesBadConfig(t *testing.T) {
	_, errOut, code := keyless(t, []string{"KEYLESS_CONFIG=../../internal/config/testdata/invalid.yaml"}, "serve")
	if code != 1 || !strings.Contains(errOut, "invalid configuration") {
		t.Errorf("serve with a bad config: %d %q", code, errOut)
	}
	dir := t.TempDir()
	cmd := exec.Command(binary, "serve")
	cmd.Dir = dir // no keyless.yaml here
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "keyless.yaml") {
		t.Errorf("serve without a config: %v %s", err, out)
	}
}

func TestCommandAuditAndKeys(t *testing.T) {
	s := startServer(t)
	alice := goIdentity(t, s, aliceKey, aliceSecret, "")
	sess := goSession(t, s)
	goIdentity(t, s, sess.AccessKeyID, sess.SecretAccessKey, sess.SessionToken)
	dataDir := "--data-dir=" + s.dataDir

	events := func(args ...string) []map[string]any {
		t.Helper()
		out, errOut, code := keyless(t, nil, append([]string{"audit", dataDir}, args...)...)
		if code != 0 {
			t.Fatalf("audit %v: %d %s", args, code, errOut)
		}
		var evs []map[string]any
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var e map[string]any
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("not a JSON line: %q", sc.Text())
			}
			// The quickstart's integration reports its status changes
			// on its own schedule; this test counts requests.
			if e["eventName"] != "IntegrationStatusChanged" {
				evs = append(evs, e)
			}
		}
		return evs
	}
	if n := len(events()); n != 3 {
		t.Errorf("all events: %d", n)
	}
	if evs := events("--event-name", "GetSessionToken"); len(evs) != 1 || evs[0]["eventName"] != "GetSessionToken" {
		t.Errorf("by event name: %v", evs)
	}
	// The temporary key finds both the event that issued it and its use.
	if evs := events("--access-key-id", sess.AccessKeyID); len(evs) != 2 {
		t.Errorf("by issued key: %d events", len(evs))
	}
	if evs := events("--principal-arn", alice.ARN, "--limit", "1"); len(evs) != 1 {
		t.Errorf("by principal with limit: %d", len(evs))
	}
	if evs := events("--since", "1h"); len(evs) != 3 {
		t.Errorf("since 1h: %d", len(evs))
	}
	if evs := events("--until", "2000-01-01T00:00:00Z"); len(evs) != 0 {
		t.Errorf("until 2000: %d", len(evs))
	}

	out, _, code := keyless(t, nil, "audit", "verify", dataDir)
	if code != 0 || !strings.Contains(out, "audit log intact: ") || !strings.Contains(out, "hash chain verified") {
		t.Errorf("verify: %d %q", code, out)
	}

	// keys rotate works beside the running server, and sessions sealed
	// under the previous key keep working.
	out, _, code = keyless(t, nil, "keys", "rotate", dataDir, "--key-encryption-key-file", s.kekFile)
	if code != 0 || !strings.Contains(out, "master key 2 is now active") {
		t.Errorf("rotate: %d %q", code, out)
	}
	out, _, _ = keyless(t, nil, "keys", "list", dataDir)
	if !strings.Contains(out, "1   retired") || !strings.Contains(out, "2   active") {
		t.Errorf("list:\n%s", out)
	}
	if got := goIdentity(t, s, sess.AccessKeyID, sess.SecretAccessKey, sess.SessionToken); got.ARN != aliceARN {
		t.Errorf("old session after rotation: %+v", got)
	}

	// Tampering with the file is found by verify.
	s.stop(t)
	segments := auditSegments(t, s.dataDir)
	path := segments[len(segments)-1]
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), `"eventName":"GetSessionToken"`, `"eventName":"GetCallerIdentity"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := keyless(t, nil, "audit", "verify", dataDir)
	if code != 1 || !strings.Contains(errOut, "was altered") {
		t.Errorf("verify after tampering: %d %q", code, errOut)
	}
}
