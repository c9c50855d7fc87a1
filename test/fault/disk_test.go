package fault

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/test/internal/proc"
)

// smallFS mounts a tmpfs of size bytes for the test, or fails under CI
// (skips elsewhere) where mounting is not allowed.
func smallFS(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		mustCI(t, "cannot mount a small filesystem (run as root): "+strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// fill writes a file that leaves about leave bytes free on dir's
// filesystem (a full write may stop short: the filesystem is full).
func fill(t *testing.T, path string, leave int64) {
	t.Helper()
	n := freeBytes(t, filepath.Dir(path)) - leave
	if n <= 0 {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for n > 0 {
		k := min(int64(len(buf)), n)
		if _, err := f.Write(buf[:k]); err != nil {
			return
		}
		n -= k
	}
}

// A filesystem that fills: below the free-space watermark keyless stops
// issuing (ServiceUnavailable) and turns unready, saying so in a few log
// lines rather than one per request; when the disk is full outright
// nothing is issued either; once space returns it serves again without a
// restart. Every credential a client received has its audit event.
func TestDiskFills(t *testing.T) {
	mnt := smallFS(t, "24m")
	n := newNode(t, withConfig(t, func(c string) string {
		return strings.Replace(c, "storage:\n  driver: embedded", "storage:\n  driver: embedded\n  min_free_mib: 4", 1)
	}))
	n.dataDir = filepath.Join(mnt, "data")
	n.start()
	var (
		mu       sync.Mutex
		received []string
	)
	issue := func() (ok bool, code string) {
		id, err := n.session(context.Background())
		if err != nil {
			c, _ := proc.APICode(err)
			return false, c
		}
		mu.Lock()
		received = append(received, id)
		mu.Unlock()
		return true, ""
	}
	if ok, code := issue(); !ok {
		t.Fatalf("first session: %s", code)
	}
	// Leave 5 MiB: a thousand or so sessions cross the 4 MiB watermark.
	fill(t, filepath.Join(mnt, "filler-1"), 5<<20)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, code := issue()
		if !ok {
			if code != "ServiceUnavailable" {
				t.Fatalf("below the watermark: %q", code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still issuing with %d bytes free", freeBytes(t, mnt))
		}
	}
	if code, body := n.ready(); code != 503 || !strings.Contains(body, "free space") {
		t.Fatalf("readyz below the watermark: %d %q", code, body)
	}
	// Now the disk fills completely; a flood of requests meets it.
	fill(t, filepath.Join(mnt, "filler-2"), 0)
	logLinesBefore := strings.Count(n.logs(), "\n")
	var wg sync.WaitGroup
	stop := time.Now().Add(3 * time.Second)
	var issuedWhileFull int
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if ok, _ := issue(); ok {
					mu.Lock()
					issuedWhileFull++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if issuedWhileFull != 0 {
		t.Errorf("%d sessions issued on a full disk", issuedWhileFull)
	}
	if lines := strings.Count(n.logs(), "\n") - logLinesBefore; lines > 20 {
		t.Errorf("%d log lines in 3 s on a full disk", lines)
	}
	// Space returns: it serves again without a restart.
	os.Remove(filepath.Join(mnt, "filler-1"))
	os.Remove(filepath.Join(mnt, "filler-2"))
	deadline = time.Now().Add(15 * time.Second)
	for {
		if ok, _ := issue(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving after the disk was freed:\n%s", tail(n.logs(), 10))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, _ := n.ready(); code != 200 {
		t.Errorf("readyz after the disk was freed: %d", code)
	}
	n.stop()
	stored := n.issuedKeys()
	for _, id := range received {
		if !stored[id] {
			t.Errorf("credential %s was received but has no audit event", id)
		}
	}
	t.Logf("%d sessions issued; below the watermark and on a full disk none; %d log lines in 3 s of a full disk",
		len(received), strings.Count(n.logs(), "\n")-logLinesBefore)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
