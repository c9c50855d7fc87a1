package fault

import (
	"context"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	awslogin "github.com/keyless-dev/keyless/internal/loginapi/loginapitest"
)

// auditBytes is the size of the audit trail's files in a data directory.
func auditBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), "audit") {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A client without credentials floods keyless with refused requests for
// three seconds. Its budget (30, refilled at 1/s) is spent at once; after
// that it gets Throttling, and its requests are recorded as one aggregated
// event per source and interval instead of one each: the audit trail
// grows by a few dozen events, not by one per request, and every request
// is still accounted for. Another source is served meanwhile.
func TestRefusedFloodBudget(t *testing.T) {
	n := newNode(t, withConfig(t, func(c string) string {
		return c + "\nlimits:\n  refused_per_second: 1\n  refused_burst: 30\n  report_every: 1s\n"
	}))
	n.start()
	before := auditBytes(t, n.dataDir)
	var (
		sent, throttled, refused atomic.Int64
		wg                       sync.WaitGroup
	)
	flood := dialFrom("127.0.0.1")
	stop := time.Now().Add(3 * time.Second)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				resp, err := flood.Post(n.endpoint()+"/", "application/x-www-form-urlencoded",
					strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				sent.Add(1)
				switch {
				case resp.StatusCode == 400 && strings.Contains(string(body), "<Code>Throttling</Code>"):
					throttled.Add(1)
				case resp.StatusCode == 403:
					refused.Add(1)
				default:
					t.Errorf("flood answer %d %s", resp.StatusCode, body)
					return
				}
			}
		}()
	}
	// A valid client at another address is served during the flood.
	other := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(n.endpoint()), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(aliceKey, aliceSecret, ""), HTTPClient: dialFrom("127.0.0.2")})
	time.Sleep(time.Second)
	if _, err := other.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Errorf("another source during the flood: %v", err)
	}
	wg.Wait()
	// The interval ends, and its report is written within a second.
	deadline := time.Now().Add(10 * time.Second)
	var reported int64
	var throttleEvents []map[string]any
	for time.Now().Before(deadline) {
		throttleEvents = n.events("--event-name", "ThrottledRequests")
		reported = 0
		for _, e := range throttleEvents {
			d, _ := e["additionalEventData"].(map[string]any)
			c, _ := strconv.ParseInt(d["throttledRequests"].(string), 10, 64)
			reported += c
			if e["sourceIPAddress"] != "127.0.0.1" || e["errorCode"] != "Throttling" {
				t.Fatalf("aggregated event %v", e)
			}
		}
		if reported == throttled.Load() {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if reported != throttled.Load() {
		t.Fatalf("%d throttled requests, %d reported", throttled.Load(), reported)
	}
	individual := len(n.events("--event-name", "GetCallerIdentity"))
	// The budget (30 + 1/s over ~4 s), plus requests in flight when it ran
	// out (16 clients), plus the other source's request.
	if refused.Load() > 30+5+16 || int64(individual) != refused.Load()+1 {
		t.Fatalf("%d requests refused one by one, %d GetCallerIdentity events", refused.Load(), individual)
	}
	grew := auditBytes(t, n.dataDir) - before
	if limit := int64(individual+len(throttleEvents)) * 2048; grew > limit {
		t.Fatalf("audit grew by %d bytes for %d events (limit %d)", grew, individual+len(throttleEvents), limit)
	}
	t.Logf("%d requests in 3 s: %d refused and audited one by one, %d throttled in %d aggregated events; audit trail grew by %d bytes "+
		"(%d bytes per request sent)", sent.Load(), refused.Load(), throttled.Load(), len(throttleEvents), grew, grew/sent.Load())
	_ = http.StatusOK
}

// TestSignInFlood: a flood of password sign-ins (default argon2id, 64 MiB
// and three passes each) from 64 browsers cannot take the cores STS
// needs: with password_concurrency 1, hashes run one at a time, the
// sign-ins that wait more than 2 s for a turn are told to retry (429
// Throttling, without hashing), and GetCallerIdentity from another
// source is answered throughout.
func TestSignInFlood(t *testing.T) {
	n := newNode(t, withConfig(t, func(c string) string {
		// The per-source limit of refused requests would stop this flood
		// first (TestRefusedFloodBudget); lifted, the hashing bound does.
		return c + "\nsignin:\n  password_concurrency: 1\n  max_failures_per_user: 1000\n  max_failures_per_source: 100000\n" +
			"limits:\n  refused_per_second: 100000\n  refused_burst: 100000\n"
	}))
	n.start()
	var (
		wg                         sync.WaitGroup
		wrong, busy, other, served atomic.Int64
	)
	stop := time.Now().Add(6 * time.Second)
	for range 64 {
		wg.Go(func() {
			b := awslogin.NewBrowser(n.endpoint())
			for time.Now().Before(stop) {
				p, err := b.SignIn("111122223333", "alice", "a wrong password", "", "")
				switch {
				case err != nil:
					t.Error(err)
					return
				case p.Status == http.StatusForbidden:
					wrong.Add(1)
				case p.Status == http.StatusTooManyRequests:
					busy.Add(1)
				default:
					other.Add(1)
					t.Errorf("a flooding sign-in answered %d", p.Status)
					return
				}
			}
		})
	}
	c := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(n.endpoint()), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(aliceKey, aliceSecret, ""), HTTPClient: dialFrom("127.0.0.2")})
	for time.Now().Before(stop) {
		if _, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
			t.Errorf("GetCallerIdentity during the flood: %v", err)
		} else {
			served.Add(1)
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	if wrong.Load() == 0 || busy.Load() == 0 {
		t.Errorf("%d sign-ins checked and refused, %d told to retry: want both (one hash at a time for 64 browsers)", wrong.Load(), busy.Load())
	}
	t.Logf("6 s of 64 browsers signing in: %d passwords checked (one at a time), %d sign-ins answered 429 without a check; "+
		"%d GetCallerIdentity answered meanwhile", wrong.Load(), busy.Load(), served.Load())
}
