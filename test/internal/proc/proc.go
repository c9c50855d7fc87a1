package proc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/smithy-go"
)

// Build compiles cmd/keyless (from the module root, two levels above a
// test package) into dir, with the race detector if race.
func Build(dir string, race bool) (string, error) {
	bin := filepath.Join(dir, "keyless")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "../../cmd/keyless")...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building keyless: %w", err)
	}
	return bin, nil
}

// Logs is a process's stderr, written by its reader and read by the test.
type Logs struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Server is a running `keyless serve`.
type Server struct {
	Cmd  *exec.Cmd
	Addr string // host:port it listens on
	Logs *Logs
	// Done is closed once stderr is read to its end: the process exited
	// (os/exec: Wait must come after it, or the log is cut short).
	Done <-chan struct{}
}

// startTimeout bounds a start under -race on a loaded two-core machine.
const startTimeout = 60 * time.Second

// Start runs binary with args, a serve command, and waits for its
// "listening" log line. An exit before it is an error that carries the
// log (a refusal to start); so is a start that takes over a minute.
func Start(binary string, args ...string) (*Server, error) {
	cmd := exec.Command(binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	s := &Server{Cmd: cmd, Logs: &Logs{}, Done: done}
	listening := make(chan string, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.Logs.Write([]byte(sc.Text() + "\n"))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
				listening <- rec.Addr
			}
		}
	}()
	select {
	case s.Addr = <-listening:
		return s, nil
	case <-done:
		err := cmd.Wait()
		return nil, fmt.Errorf("keyless exited before listening (%v):\n%s", err, s.Logs.String())
	case <-time.After(startTimeout):
		s.Kill()
		return nil, fmt.Errorf("keyless did not start within %v:\n%s", startTimeout, s.Logs.String())
	}
}

// Stop sends SIGTERM and waits for the exit; after timeout it kills the
// process and says so. The error is the exit's, or the timeout.
func (s *Server) Stop(timeout time.Duration) error {
	_ = s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.Done:
		return s.Cmd.Wait()
	case <-time.After(timeout):
		s.Kill()
		return fmt.Errorf("keyless did not stop within %v of SIGTERM", timeout)
	}
}

// Kill ends the process with SIGKILL (no flush, no shutdown) and waits.
// It does nothing to a process already waited for.
func (s *Server) Kill() {
	if s.Cmd.ProcessState != nil {
		return
	}
	_ = s.Cmd.Process.Kill()
	<-s.Done
	_ = s.Cmd.Wait()
}

// Run runs binary with args and env (nil: the test's environment) and
// returns stdout, stderr and the exit code; err is for a binary that did
// not run at all.
func Run(binary string, env []string, args ...string) (stdout, stderr string, code int, err error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return out.String(), errOut.String(), ee.ExitCode(), nil
	}
	return out.String(), errOut.String(), 0, err
}

// NewKEK makes a key-encryption key at path with `keyless keys
// encryption-key`, as an operator does.
func NewKEK(binary, path string) error {
	if out, err := exec.Command(binary, "keys", "encryption-key", path).CombinedOutput(); err != nil {
		return fmt.Errorf("keyless keys encryption-key: %v %s", err, out)
	}
	return nil
}

// Events parses `keyless audit` output: one JSON event per line.
func Events(out string) ([]map[string]any, error) {
	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("keyless audit printed %q", sc.Text())
		}
		events = append(events, e)
	}
	return events, sc.Err()
}

// APICode is the AWS error code and HTTP status an SDK call failed with
// ("", 0 for an error that is not an API error).
func APICode(err error) (string, int) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "", 0
	}
	var re interface{ HTTPStatusCode() int }
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), status
}
