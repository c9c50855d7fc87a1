package auditfile

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The read-back check that guards deleting a closed segment refuses a
// compressed copy that a bad write damaged, cut short or that holds other
// content than was compressed.
func TestReadsBack(t *testing.T) {
	content := bytes.Repeat([]byte(`{"eventName":"GetCallerIdentity","n":1}`+"\n"), 20000)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, Level)
	zw.Write(content)
	zw.Close()
	good := gz.Bytes()
	flipped := bytes.Clone(good)
	flipped[len(flipped)-6] ^= 0x01 // in the trailer's CRC-32
	body := bytes.Clone(good)
	body[len(body)/2] ^= 0x40 // in the deflate stream
	for name, c := range map[string]struct {
		data []byte
		size int64
		ok   bool
	}{
		"intact":          {good, int64(len(content)), true},
		"wrong size":      {good, int64(len(content)) + 1, false},
		"crc flipped":     {flipped, int64(len(content)), false},
		"stream damaged":  {body, int64(len(content)), false},
		"cut short":       {good[:len(good)/2], int64(len(content)), false},
		"empty":           {nil, int64(len(content)), false},
		"trailer missing": {good[:len(good)-8], int64(len(content)), false},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "seg.gz")
			if err := os.WriteFile(path, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			err := readsBack(context.Background(), path, c.size)
			if (err == nil) != c.ok {
				t.Errorf("readsBack: %v, want ok=%v", err, c.ok)
			}
		})
	}
	// A stopping server does not wait for a paced read-back.
	path := filepath.Join(t.TempDir(), "seg.gz")
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat(content, 40) // ~32 MiB: seconds at the read-back pace
	gz.Reset()
	zw, _ = gzip.NewWriterLevel(&gz, Level)
	zw.Write(big)
	zw.Close()
	if err := os.WriteFile(path, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := readsBack(ctx, path, int64(len(big))); !errors.Is(err, context.Canceled) {
		t.Errorf("readsBack after cancel: %v", err)
	}
}

// The pacing holds its rate, and a reader held up for a long time (its
// goroutine starved under load) does not then catch up in a burst: that
// burst took a core for the length of the delay and showed in requests'
// p99 at half load (make bench, issue 15).
func TestPacedReaderNoCatchUp(t *testing.T) {
	const rate = 4 << 20
	clock := time.Unix(1_700_000_000, 0)
	var waited time.Duration
	src := bytes.NewReader(make([]byte, 64<<20))
	p := paced(context.Background(), src, rate)
	p.now = func() time.Time { return clock }
	p.wait = func(_ context.Context, d time.Duration) error { waited += d; clock = clock.Add(d); return nil }
	buf := make([]byte, 32<<10)
	read := func(until time.Duration) (n int) { // reads while the clock stays below start+until
		end := clock.Add(until)
		for clock.Before(end) {
			m, err := p.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			n += m
		}
		return n
	}
	// Steady state: 10 s of reading is 10 s worth of bytes, give or take
	// the slack.
	if n, want := read(10*time.Second), 10*rate; n < want-rate/4 || n > want+rate/4 {
		t.Errorf("read %d bytes in 10 s at %d/s", n, rate)
	}
	// Held up for 10 s: what is read before the next wait is bounded by
	// the slack, not the 40 MiB the delay would otherwise allow.
	clock = clock.Add(10 * time.Second)
	before := waited
	n := 0
	for waited == before {
		m, err := p.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		n += m
	}
	if limit := int(2*pacedSlack.Seconds()*rate) + 2*len(buf); n > limit {
		t.Errorf("after being held up, %d bytes read before waiting (at most %d)", n, limit)
	}
}
