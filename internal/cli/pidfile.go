package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// PIDFile is the file in the data directory that names the server using
// it. The server holds an exclusive lock on it while it runs, so a second
// server on the same directory is refused at once, and `keyless reload`
// signals only a process that really holds it (a stale file left by
// kill -9 is not locked).
const PIDFile = "keyless.pid"

// pidFile is the locked file of a running server.
type pidFile struct{ f *os.File }

// lockPIDFile creates or opens dir's pid file, locks it and writes the
// process's id into it.
func lockPIDFile(dir string) (*pidFile, error) {
	path := filepath.Join(dir, PIDFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		pid, _ := os.ReadFile(path)
		return nil, fmt.Errorf("another keyless server (pid %s) is using the data directory %s", strings.TrimSpace(string(pid)), dir)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, err
	}
	return &pidFile{f: f}, nil
}

// release removes the file and drops the lock.
func (p *pidFile) release() {
	_ = os.Remove(p.f.Name())
	p.f.Close()
}

// errNoServer: no server holds the data directory's pid file.
var errNoServer = errors.New("no keyless server is running on this data directory")

// runningPID returns the id of the server holding dir's pid file.
func runningPID(dir string) (int, error) {
	path := filepath.Join(dir, PIDFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("%w (no %s)", errNoServer, path)
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	// A lock we can take is a lock nobody holds: the file is stale.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return 0, fmt.Errorf("%w (%s is stale)", errNoServer, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s does not hold a process id", path)
	}
	return pid, nil
}
