package cli

import (
	"errors"
	"fmt"
	"io"
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
		return nil, fmt.Errorf("another keyless server (pid %s) is using the data directory %s", readPID(path), dir)
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

// release empties the file and drops the lock. The file stays: removing
// it would let a server that opened it a moment before lock an inode no
// other server can see, and run beside the next one.
func (p *pidFile) release() {
	_ = p.f.Truncate(0)
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
	pid, err := strconv.Atoi(readPID(path))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s does not hold a process id (yet)", path)
	}
	// The number must be a process of ours that holds the file open: in
	// another PID namespace (a container) it names another process here,
	// and a number written by a server killed since may have been reused.
	holds, err := holdsOpen(pid, path)
	if err != nil || !holds {
		return 0, fmt.Errorf("process %d, named in %s, is not the keyless server holding it (a server in a container? use its admin listener, server.admin_addr)", pid, path)
	}
	return pid, nil
}

// holdsOpen reports whether process pid has the file at path open
// (Linux: /proc/PID/fd).
func holdsOpen(pid int, path string) (bool, error) {
	want, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, fd := range fds {
		if fi, err := os.Stat(filepath.Join(dir, fd.Name())); err == nil && os.SameFile(fi, want) {
			return true, nil
		}
	}
	return false, nil
}

// readPID reads the pid file's number, at most 32 bytes of it.
func readPID(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, 32)
	n, _ := io.ReadFull(f, b)
	return strings.TrimSpace(string(b[:n]))
}
