package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPIDFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := runningPID(dir); !errors.Is(err, errNoServer) {
		t.Fatalf("no file: %v", err)
	}
	p, err := lockPIDFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := runningPID(dir); err != nil || pid != os.Getpid() {
		t.Errorf("running: %d, %v", pid, err)
	}
	if _, err := lockPIDFile(dir); err == nil || !strings.Contains(err.Error(), "another keyless server") {
		t.Errorf("a second lock: %v", err)
	}
	// A number that is not the holder's (a container's pid 1, or a
	// reused pid) is never signalled (found in review).
	path := filepath.Join(dir, PIDFile)
	if err := os.WriteFile(path, []byte("1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pid, err := runningPID(dir); err == nil {
		t.Errorf("pid %d, which does not hold the file, would be signalled", pid)
	}
	p.release()
	if _, err := runningPID(dir); !errors.Is(err, errNoServer) {
		t.Errorf("after release: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the file was removed: %v", err)
	}
}
