package fault

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/test/internal/proc"
)

// A second keyless on a data directory another one holds fails at start,
// naming the holder, instead of serving 503s.
func TestSecondServerRefused(t *testing.T) {
	first := newNode(t, quickstart)
	first.start()
	second := *first
	second.t, second.addr = t, ""
	err := second.tryStart()
	if err == nil || !strings.Contains(err.Error(), "another keyless server (pid "+strconv.Itoa(first.srv.Cmd.Process.Pid)+")") {
		t.Fatalf("second server: %v", err)
	}
	if _, err := first.session(context.Background()); err != nil {
		t.Fatalf("the first server after the second was refused: %v", err)
	}
}

// The data directory removed while keyless runs: it notices within a
// second or so, stops issuing (ServiceUnavailable) and turns unready,
// rather than issuing credentials whose audit events go into deleted
// files.
func TestDataDirRemoved(t *testing.T) {
	n := newNode(t, quickstart)
	n.start()
	if _, err := n.session(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(n.dataDir); err != nil {
		t.Fatal(err)
	}
	// The next audit commit already checks the files: nothing issued.
	for i := range 20 {
		_, err := n.session(context.Background())
		if code, status := proc.APICode(err); code != "ServiceUnavailable" || status != 503 {
			t.Fatalf("request %d after the removal: %v", i, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := n.ready()
		if code == 503 && strings.Contains(body, "removed while keyless ran") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz after the removal: %d %q", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if lines := strings.Count(n.logs(), `"level":"ERROR"`); lines > 10 {
		t.Errorf("%d error lines for one condition:\n%s", lines, n.logs())
	}
}

// keyless.db lost beside an audit trail that holds events: serve refuses
// to start (a new database would silently bring a new master key, forget
// MFA state and give users new ids), names what is missing and how to
// recover; --init starts a new store deliberately.
func TestDatabaseLost(t *testing.T) {
	n := newNode(t, quickstart)
	n.start()
	if _, err := n.session(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.stop()
	for _, f := range []string{"keyless.db", "keyless.db-wal", "keyless.db-shm"} {
		os.Remove(filepath.Join(n.dataDir, f))
	}
	err := n.tryStart()
	if err == nil || !strings.Contains(err.Error(), "keyless.db is missing or empty") || !strings.Contains(err.Error(), "--init") {
		t.Fatalf("start without keyless.db: %v", err)
	}
	if _, err := os.Stat(filepath.Join(n.dataDir, "keyless.db")); err == nil {
		t.Fatal("the refused start created keyless.db")
	}
	if err := n.tryStart("--init"); err != nil {
		t.Fatalf("start with --init: %v", err)
	}
	if _, err := n.session(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.stop()
	// The deliberate start anew is in the trail, with what was lost.
	inits := n.events("--event-name", "InitializeStore")
	if len(inits) != 1 {
		t.Fatalf("%d InitializeStore events, want 1", len(inits))
	}
	extra, _ := inits[0]["additionalEventData"].(map[string]any)
	if reason, _ := extra["reason"].(string); !strings.Contains(reason, "keyless.db is missing or empty") {
		t.Errorf("InitializeStore event: %v", inits[0])
	}
	// Nothing is lost now, so --init has nothing to start anew: refused,
	// so that it cannot stay in a unit file and hide the next loss.
	err = n.tryStart("--init")
	if err == nil || !strings.Contains(err.Error(), "nothing was lost") {
		t.Fatalf("--init on a consistent data directory: %v", err)
	}
	n.start()
	if _, err := n.session(context.Background()); err != nil {
		t.Fatal(err)
	}
}
