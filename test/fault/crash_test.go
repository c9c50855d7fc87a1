package fault

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// F-01: kill -9 at random moments while clients are being issued
// credentials, five times, then a graceful stop: every credential a client
// received has its audit event, and the server comes back each time on
// the same state.
func TestKill9UnderLoad(t *testing.T) {
	n := newNode(t, quickstart)
	var (
		mu       sync.Mutex
		received = map[string]bool{}
	)
	load := func(ctx context.Context) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					id, err := n.session(ctx)
					if err != nil {
						continue // refused, or cut off by the kill: nothing received
					}
					mu.Lock()
					received[id] = true
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	for round := range 6 {
		n.start()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { load(ctx); close(done) }()
		time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
		if round < 5 {
			n.kill9()
		} else {
			n.stop()
		}
		cancel()
		<-done
	}
	if len(received) < 100 {
		t.Fatalf("only %d credentials issued under load", len(received))
	}
	stored := n.issuedKeys()
	for id := range received {
		if !stored[id] {
			t.Errorf("credential %s was received but has no audit event", id)
		}
	}
	if out, errOut, code := keyless(t, "audit", "verify", "--data-dir", n.dataDir); code != 0 {
		t.Errorf("audit verify after the crashes: %d %s %s", code, out, errOut)
	}
	t.Logf("%d credentials received across 5 kills and a stop, %d issuances recorded", len(received), len(stored))
}
