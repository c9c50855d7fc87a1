package e2e

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/test/internal/proc"
)

// reloadRole is a role of the quickstart account that the reloaded file
// adds.
const reloadRole = `
      - name: AddedByReload
        trust_policy: |
          {"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"}, "Action": "sts:AssumeRole"}]}
`

// TestReload: a running server re-reads its configuration on SIGHUP (sent
// by `keyless reload` through the pid file) and through its admin
// listener (`keyless reload --config`, which prints the outcome); an
// invalid file keeps the configuration in force; sessions survive; every
// reload is audited; the admin listener serves pprof, the public one does
// not; a second server on the same data directory is refused.
func TestReload(t *testing.T) {
	quickExit(t)
	src, err := os.ReadFile(quickstart)
	if err != nil {
		t.Fatal(err)
	}
	admin := freePort(t)
	base := strings.Replace(string(src), "  data_dir: ./data ", "  admin_addr: "+admin+"\n  data_dir: ./data ", 1)
	if base == string(src) {
		t.Fatal("the quickstart's server section changed; update this test")
	}
	path := filepath.Join(t.TempDir(), "keyless.yaml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(base)
	s := startConfig(t, path)
	alice := tempCreds{AccessKeyID: aliceKey, SecretAccessKey: aliceSecret}
	if _, code, _ := assumeQuick(t, s, alice, "AddedByReload", "before"); code != "AccessDenied" {
		t.Fatalf("AddedByReload before the reload: %q", code)
	}
	sess, code, _ := assumeQuick(t, s, alice, "Demo", "before-reload")
	if code != "" {
		t.Fatalf("Demo: %s", code)
	}

	// SIGHUP through the pid file.
	rolesAt := strings.Index(base, "    roles:\n") + len("    roles:\n")
	write(base[:rolesAt] + reloadRole[1:] + base[rolesAt:])
	out, errOut, exit := keyless(t, nil, "reload", "--data-dir", s.dataDir)
	if exit != 0 || !strings.Contains(out, "sent SIGHUP to keyless (pid ") {
		t.Fatalf("keyless reload: %d %s %s", exit, out, errOut)
	}
	waitLog(t, s, `"msg":"configuration reloaded"`, 1)
	if _, code, _ := assumeQuick(t, s, alice, "AddedByReload", "after-hup"); code != "" {
		t.Errorf("AddedByReload after SIGHUP: %q", code)
	}
	if got := goIdentity(t, s, sess.AccessKeyID, sess.SecretAccessKey, sess.SessionToken); got.ARN != assumedRoleARN("Demo", "before-reload") {
		t.Errorf("a session from before the reload: %+v", got)
	}

	// A second server on the same data directory is refused at once.
	_, errOut, exit = keyless(t, nil, "serve", "--config", path, "--addr", "127.0.0.1:0", "--data-dir", s.dataDir,
		"--key-encryption-key-file", s.kekFile)
	if exit != 1 || !strings.Contains(errOut, "another keyless server (pid ") {
		t.Errorf("a second server on the data directory: %d %q", exit, errOut)
	}

	// An invalid file, through the admin listener: the outcome is
	// printed, and the configuration in force stays.
	write(base + "bogus: 1\n")
	out, errOut, exit = keyless(t, nil, "reload", "--admin", admin)
	if exit != 1 || !strings.Contains(errOut, "InvalidConfiguration") || !strings.Contains(errOut, "bogus") {
		t.Errorf("reload of an invalid file: %d %q %q", exit, out, errOut)
	}
	if _, code, _ := assumeQuick(t, s, alice, "AddedByReload", "after-invalid"); code != "" {
		t.Errorf("AddedByReload after a refused reload: %q", code)
	}

	// The role removed again, and a setting that needs a restart.
	memory := strings.Replace(base, "  driver: embedded", "  driver: memory", 1)
	if memory == base {
		t.Fatal("the quickstart's storage section changed; update this test")
	}
	write(memory)
	out, errOut, exit = keyless(t, nil, "reload", "--config", path)
	if exit != 0 || !strings.Contains(out, "configuration reloaded (sha256 ") || !strings.Contains(out, "need a restart") ||
		!strings.Contains(out, "storage.driver") {
		t.Errorf("reload through the admin listener: %d %q %q", exit, out, errOut)
	}
	if _, code, _ := assumeQuick(t, s, alice, "AddedByReload", "after-remove"); code != "AccessDenied" {
		t.Errorf("AddedByReload after it was removed: %q", code)
	}

	// The admin listener takes a POST only with its header (a cross-site
	// form cannot send one), and only for its own host (DNS rebinding).
	if code, body := adminPost(t, admin, admin, false); code != 403 || !strings.Contains(body, "X-Keyless-Admin") {
		t.Errorf("reload without the admin header: %d %s", code, body)
	}
	if code, _ := adminPost(t, admin, "evil.example:"+admin[strings.LastIndex(admin, ":")+1:], true); code != http.StatusMisdirectedRequest {
		t.Errorf("reload for another host: %d", code)
	}
	if code, _ := httpGet(t, "http://"+admin+"/debug/pprof/profile?seconds=3600"); code != 400 {
		t.Errorf("an hour-long CPU profile: %d", code)
	}

	// Profiling on the admin listener only.
	if code, body := httpGet(t, "http://"+admin+"/debug/pprof/heap?debug=1"); code != 200 || !strings.Contains(body, "heap profile") {
		t.Errorf("pprof on the admin listener: %d", code)
	}
	if code, _ := httpGet(t, s.endpoint+"/debug/pprof/"); code == 200 {
		t.Error("pprof is served on the public listener")
	}

	evs := s.audit(t, "--event-name", "ReloadConfiguration") // the refused POSTs above reloaded nothing
	if len(evs) != 3 {
		t.Fatalf("%d reload events, want 3", len(evs))
	}
	if evs[0]["errorCode"] != nil || evs[1]["errorCode"] != "InvalidConfiguration" || evs[2]["errorCode"] != nil {
		t.Errorf("reload events: %v", evs)
	}
	if extra(evs[2])["restartRequired"] != "storage.driver" || len(extra(evs[0])["configSha256"].(string)) != 64 {
		t.Errorf("reload event data: %v %v", extra(evs[0]), extra(evs[2]))
	}
	s.stop(t)
	if b, err := os.ReadFile(filepath.Join(s.dataDir, "keyless.pid")); err != nil || len(b) != 0 {
		t.Errorf("the pid file after a clean stop: %q, %v (want it empty)", b, err)
	}
	out, errOut, exit = keyless(t, nil, "reload", "--data-dir", s.dataDir)
	if exit != 1 || !strings.Contains(errOut, "no keyless server is running") {
		t.Errorf("reload without a server: %d %q %q", exit, out, errOut)
	}
}

// waitLog waits until the server has logged line at least n times.
func waitLog(t *testing.T, s *server, line string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(s.Logs.String(), line) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not log %s:\n%s", line, s.Logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Offline commands never create a data directory: they say which one they
// looked at, and where that came from.
func TestOfflineCommandsCreateNothing(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"audit"}, {"audit", "verify"}, {"keys", "list"}, {"keys", "rotate"},
		{"sessions", "revoke", "--role", "arn:aws:iam::111122223333:role/Demo"}} {
		cmd := cmdIn(dir, args...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "no keyless data directory at ./data (the default; give --data-dir or --config)") {
			t.Errorf("%v: %v %s", args, err, out)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("offline commands created %v", entries)
	}
	_, errOut, code := keyless(t, nil, "audit", "--config", quickstart)
	if code != 1 || !strings.Contains(errOut, "./data (server.data_dir of "+quickstart+")") {
		t.Errorf("audit --config: %d %q", code, errOut)
	}
	// serve names the file it looked for and the way to give another.
	out, err := cmdIn(dir, "serve").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no configuration file keyless.yaml (the default; give one with --config FILE or $KEYLESS_CONFIG)") ||
		!strings.Contains(string(out), "examples/quickstart.yaml") {
		t.Errorf("serve without a file: %v %s", err, out)
	}
}

// cmdIn runs keyless in dir.
func cmdIn(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	return cmd
}

// assumeQuick assumes a quickstart role.
func assumeQuick(t *testing.T, s *server, c tempCreds, role, session string) (tempCreds, string, int) {
	t.Helper()
	return assumeRoleARN(t, s, c, "arn:aws:iam::"+account+":role/"+role, session)
}

// adminPost posts to the admin listener's reload with Host host, with or
// without the admin header.
func adminPost(t *testing.T, addr, host string, header bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/reload", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if header {
		req.Header.Set("X-Keyless-Admin", "1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// SIGHUP while the server starts or drains never ends it: `keyless reload`
// during a deployment must not kill a server (found in review: Go's
// default action for SIGHUP is to exit, and the server took SIGHUP over
// only once it was serving, and gave it back before draining).
func TestHangupWhileStartingAndStopping(t *testing.T) {
	quickExit(t)
	dir := t.TempDir()
	cmd := exec.Command(binary, "serve", "--config", quickstart, "--addr", "127.0.0.1:0", "--data-dir", dir,
		"--key-encryption-key-file", newKEKFile(t))
	var logs proc.Logs
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Hang up as fast as possible from the moment the pid file names the
	// process (when `keyless reload` can find it) until it listens.
	deadline := time.Now().Add(60 * time.Second)
	pidFile := filepath.Join(dir, "keyless.pid")
	for {
		if b, _ := os.ReadFile(pidFile); strings.TrimSpace(string(b)) == strconv.Itoa(cmd.Process.Pid) {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no pid file:\n%s", logs.String())
		}
		time.Sleep(100 * time.Microsecond)
	}
	for !strings.Contains(logs.String(), `"msg":"listening"`) {
		select {
		case err := <-exited:
			t.Fatalf("keyless exited while starting: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("keyless did not start:\n%s", logs.String())
		}
		_ = cmd.Process.Signal(syscall.SIGHUP)
		time.Sleep(time.Millisecond)
	}
	// Then stop it, and hang up while it drains.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	for i := 0; i < 200; i++ {
		if cmd.Process.Signal(syscall.SIGHUP) != nil {
			break // gone
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("keyless exited with %v (129 is death by SIGHUP):\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("keyless did not stop")
	}
	if !strings.Contains(logs.String(), `"msg":"shutting down"`) {
		t.Errorf("no graceful shutdown:\n%s", logs.String())
	}
}
