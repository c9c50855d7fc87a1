package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func main() {
	trivial := flag.String("serve-trivial", "", "internal: serve the trivial handler on this address")
	binary := flag.String("keyless", "bin/keyless", "keyless binary")
	conns := flag.String("conns", "16,64", "comma-separated connection counts for the peak (closed-loop) runs")
	dur := flag.Duration("duration", 10*time.Second, "length of each measured run")
	warm := flag.Duration("warmup", 2*time.Second, "unmeasured warm-up before each peak run")
	memDur := flag.Duration("memory", 60*time.Second, "length of the memory run (0 to skip)")
	rounds := flag.Int("rounds", 3, "interleaved rounds of every workload; medians are reported")
	only := flag.String("workloads", "", "comma-separated keyless workloads to run (GetCallerIdentity, GetSessionToken, AssumeRole, "+
		"AssumeRoleWithWebIdentity, ExchangeAWS, ExchangeOIDC, AssumeRoleWithSAML, \"GetWebIdentityToken RS256\", \"GetWebIdentityToken ES384\", "+
		"JWKS, discovery, GetIntegrationCredentials, \"CreateOAuth2Token refresh\"); empty runs all")
	profile := flag.String("cpuprofile", "", "write a CPU profile of keyless (its admin listener's pprof) during one more peak run of the "+
		"first keyless workload of -workloads to this file")
	baseline := flag.String("baseline", "", "another keyless binary (an earlier commit) to measure in the same rounds, "+
		"for GetCallerIdentity, GetSessionToken and AssumeRole")
	flag.Parse()
	if *trivial != "" {
		serveTrivial(*trivial)
		return
	}
	var levels []int
	for _, c := range strings.Split(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "bench: bad -conns", *conns)
			os.Exit(2)
		}
		levels = append(levels, n)
	}
	if err := run(*binary, *baseline, levels, *rounds, *dur, *warm, *memDur, *only, *profile); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// trivialBody is about the size of a GetCallerIdentity answer.
var trivialBody = []byte(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
	`<Arn>arn:aws:iam::111122223333:user/alice</Arn><UserId>AIDAEXAMPLEEXAMPLEEXA</UserId><Account>111122223333</Account>` +
	`</GetCallerIdentityResult><ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)

// serveTrivial is the baseline: read the request, write a fixed answer.
func serveTrivial(addr string) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write(trivialBody)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr().String())
	panic(http.Serve(ln, h))
}

type proc struct {
	cmd   *exec.Cmd
	addr  string
	admin string // the admin listener (pprof), when the configuration has one
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

func startTrivial() (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve-trivial", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return nil, err
	}
	return &proc{cmd: cmd, addr: strings.TrimSpace(line)}, nil
}

// startKeyless serves bench/keyless.yaml, copied into dir next to the SAML
// IdP metadata it names.
func startKeyless(binary, dir string, issuer bool) (*proc, error) {
	raw, err := os.ReadFile("bench/keyless.yaml")
	if err != nil {
		return nil, err
	}
	addr, admin := "127.0.0.1:0", ""
	cfg := string(raw)
	if issuer {
		// The issuer's parts name keyless's own address, and the admin
		// listener's.
		free := func() (string, error) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return "", err
			}
			defer l.Close()
			return l.Addr().String(), nil
		}
		if addr, err = free(); err != nil {
			return nil, err
		}
		if admin, err = free(); err != nil {
			return nil, err
		}
		cfg = strings.ReplaceAll(strings.ReplaceAll(cfg, "ADMIN", admin), "ADDR", addr)
	} else {
		cfg = withoutIssuer(cfg)
	}
	if err := os.WriteFile(filepath.Join(dir, "keyless.yaml"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	args := []string{"serve", "--config", filepath.Join(dir, "keyless.yaml"), "--addr", addr, "--data-dir", filepath.Join(dir, "data")}
	// A key-encryption key beside the data directory; a baseline keyless
	// from before keys were sealed has no such command and needs none.
	kekFile := filepath.Join(dir, "kek")
	if exec.Command(binary, "keys", "encryption-key", kekFile).Run() == nil {
		args = append(args, "--key-encryption-key-file", kekFile)
	}
	cmd := exec.Command(binary, args...)
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
			go func() { _, _ = io.Copy(io.Discard, errPipe) }()
			return &proc{cmd: cmd, addr: rec.Addr, admin: admin}, nil
		}
	}
	return nil, errors.New("keyless did not start")
}

// withoutIssuer cuts the configuration's issuer-begin ... issuer-end
// regions, for a baseline binary that predates them.
func withoutIssuer(cfg string) string {
	var out []string
	skip := false
	for _, line := range strings.Split(cfg, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "# issuer-begin"):
			skip = true
		case strings.HasPrefix(t, "# issuer-end"):
			skip = false
		case !skip:
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// get returns the wire bytes of an unsigned GET.
func get(host, path string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: keyless-bench\r\n\r\n")
}

// signedGet returns the wire bytes of a GET signed for service keyless
// with alice's key, as keyless's own API clients sign it.
func signedGet(host, path string) []byte {
	req, _ := http.NewRequest("GET", "http://"+host+path, nil)
	return sign(req, "", "keyless")
}

// signed returns the wire bytes of a request signed as the SDKs sign it,
// with alice's quickstart key. Signatures stay valid for 15 minutes.
func signed(host, body string) []byte {
	req, _ := http.NewRequest("POST", "http://"+host+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return sign(req, body, "sts")
}

// sign signs req, whose body is body, for service with alice's key, and
// returns its wire bytes.
func sign(req *http.Request, body, service string) []byte {
	req.Header.Set("User-Agent", "keyless-bench")
	sum := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
		req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now())
	if err != nil {
		panic(err)
	}
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// client is one keep-alive connection replaying a request, or sending
// the ones next builds.
type client struct {
	c    net.Conn
	r    *bufio.Reader
	req  []byte
	next func() []byte
	// seen, if set, is given each answer's body (the refresh workload
	// keeps the refresh token it rotated to).
	seen func([]byte)
}

func dial(addr string, req []byte) (*client, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &client{c: c, r: bufio.NewReaderSize(c, 16<<10), req: req}, nil
}

// request is the next request to send: the fixed one, or a fresh one for
// the workloads whose requests keyless accepts once. The loops call it
// outside the timed part.
func (c *client) request() []byte {
	if c.next != nil {
		return c.next()
	}
	return c.req
}

// do sends req and reads the whole response; it reports whether the
// status was 200.
func (c *client) do(req []byte) (bool, error) {
	if _, err := c.c.Write(req); err != nil {
		return false, err
	}
	status, err := c.r.ReadString('\n')
	if err != nil {
		return false, err
	}
	length := -1
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return false, err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if length < 0 {
		return false, errors.New("response without Content-Length")
	}
	ok := strings.HasPrefix(status, "HTTP/1.1 200")
	if !ok && firstRefusal.Load() == nil {
		body := make([]byte, min(length, 512))
		if _, err := io.ReadFull(c.r, body); err != nil {
			return false, err
		}
		length -= len(body)
		answer := strings.TrimSpace(status) + " " + strings.TrimSpace(string(body))
		firstRefusal.CompareAndSwap(nil, &answer)
	}
	if c.seen != nil {
		body := make([]byte, length)
		if _, err := io.ReadFull(c.r, body); err != nil {
			return false, err
		}
		c.seen(body)
		return ok, nil
	}
	if _, err := c.r.Discard(length); err != nil {
		return false, err
	}
	return ok, nil
}

// firstRefusal is the first answer other than 200, for the error message.
var firstRefusal atomic.Pointer[string]

// refused describes n answers other than 200.
func refused(name string, n int) error {
	msg := fmt.Sprintf("%s: %d non-200 answers", name, n)
	if a := firstRefusal.Load(); a != nil {
		msg += "; the first: " + *a
	}
	return errors.New(msg)
}

type stats struct {
	n, errors int
	elapsed   time.Duration
	lat       []time.Duration
}

func (s stats) rps() float64 { return float64(s.n) / s.elapsed.Seconds() }

// collector merges the connections' stats and keeps the first error.
type collector struct {
	mu    sync.Mutex
	total stats
	err   error
}

func (c *collector) add(local stats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total.n += local.n
	c.total.errors += local.errors
	c.total.lat = append(c.total.lat, local.lat...)
}

func (c *collector) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// record notes one completed request.
func (s *stats) record(lat time.Duration, ok bool) {
	s.n++
	s.lat = append(s.lat, lat)
	if !ok {
		s.errors++
	}
}

func (s stats) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	sort.Slice(s.lat, func(i, j int) bool { return s.lat[i] < s.lat[j] })
	return s.lat[min(len(s.lat)-1, int(p*float64(len(s.lat))))]
}

// spawn dials n connections to w and runs loop on each in its own
// goroutine, merging each connection's stats into col when its loop ends.
func spawn(w workload, n int, wg *sync.WaitGroup, col *collector, loop func(*client, *stats) error) error {
	for range n {
		c, err := dial(w.addr, w.req)
		if err != nil {
			return err
		}
		c.next = w.next
		var release func()
		if w.conn != nil {
			c.next, c.seen, release = w.conn()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.c.Close()
			if release != nil {
				defer release()
			}
			var local stats
			if err := loop(c, &local); err != nil {
				col.fail(err)
			}
			col.add(local)
		}()
	}
	return nil
}

// closedLoop runs conns connections flat out for d after warm-up.
func closedLoop(w workload, conns int, warm, d time.Duration) (stats, error) {
	var (
		wg      sync.WaitGroup
		measure atomic.Bool
		stop    atomic.Bool
		col     collector
	)
	err := spawn(w, conns, &wg, &col, func(c *client, local *stats) error {
		for !stop.Load() {
			req := c.request()
			t0 := time.Now()
			ok, err := c.do(req)
			if err != nil {
				return err
			}
			if measure.Load() {
				local.record(time.Since(t0), ok)
			}
		}
		return nil
	})
	if err != nil {
		return stats{}, err
	}
	time.Sleep(warm)
	measure.Store(true)
	start := time.Now()
	time.Sleep(d)
	elapsed := time.Since(start)
	stop.Store(true)
	wg.Wait()
	col.total.elapsed = elapsed
	return col.total, col.err
}

// openLoop sends rate requests per second for d, spread over enough
// connections, and measures each latency from its scheduled send time.
func openLoop(w workload, rate float64, d time.Duration, sample func()) (stats, error) {
	const conns = 64
	interval := time.Duration(float64(time.Second) / rate)
	due := make(chan time.Time, 4096)
	var (
		wg  sync.WaitGroup
		col collector
	)
	err := spawn(w, conns, &wg, &col, func(c *client, local *stats) error {
		req := c.request() // built before its send time comes
		for at := range due {
			if w := time.Until(at); w > 0 {
				time.Sleep(w)
			}
			ok, err := c.do(req)
			if err != nil {
				for range due { // keep the pacer from blocking
				}
				return err
			}
			local.record(time.Since(at), ok)
			req = c.request()
		}
		return nil
	})
	if err != nil {
		return stats{}, err
	}
	start := time.Now()
	next := start
	lastSample := start
	for time.Since(start) < d {
		due <- next
		next = next.Add(interval)
		if sample != nil && time.Since(lastSample) >= time.Second {
			sample()
			lastSample = time.Now()
		}
		if w := time.Until(next); w > 100*time.Microsecond {
			time.Sleep(w - 50*time.Microsecond)
		}
	}
	close(due)
	wg.Wait()
	col.total.elapsed = time.Since(start)
	return col.total, col.err
}

// cpuTime returns the CPU time a process has used so far.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are
	// the 12th and 13th of them, in clock ticks (100 per second).
	rest := b[bytes.LastIndexByte(b, ')')+2:]
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// rss returns a process's resident set size in KiB.
func rss(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

type workload struct {
	name string
	addr string
	req  []byte
	// body, if set, is req's SigV4-signed body: req is signed anew before
	// every round, since a signature is good for 15 minutes and a run with
	// many workloads lasts longer. fresh, if set, makes req anew instead.
	body  string
	fresh func() []byte
	pid   int
	// next, if set, builds each request instead of replaying req: the
	// exchange's proofs are accepted once.
	next func() []byte
	// pool, if set, holds next's requests, signed before each run.
	pool *tokenPool
	// upstream, if set, is loaded directly at the half-peak rate after
	// the half-peak run, to subtract its latency (the exchange).
	upstream *workload
	// conn, if set, gives each connection its own requests, a hook for
	// each answer and a release at the end of the run (aws login
	// sessions, each refreshed by one connection at a time).
	conn func() (next func() []byte, seen func([]byte), release func())
}

type outcome struct {
	workload
	peak, half stats
	up         stats         // the upstream alone, at the half-peak rate
	serverCPU  time.Duration // per request, during the peak run
	clientCPU  time.Duration
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func run(binary, baseline string, levels []int, rounds int, d, warm, memDur time.Duration, only, profile string) error {
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("%s not found; run make build first", binary)
	}
	dataDir, err := os.MkdirTemp("", "keyless-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	samlIDP, err := newSAMLIDP(dataDir)
	if err != nil {
		return err
	}
	kl, err := startKeyless(binary, dataDir, true)
	if err != nil {
		return err
	}
	defer kl.stop()
	tr, err := startTrivial()
	if err != nil {
		return err
	}
	defer tr.stop()
	provider, err := startIDP()
	if err != nil {
		return err
	}
	defer provider.srv.Close()
	upSrv, err := startUpstream()
	if err != nil {
		return err
	}
	defer upSrv.Close()
	upstream := &workload{name: "fake upstream STS", addr: upstreamAddr, req: upstreamRequest(), pid: os.Getpid()}
	tokens := oidcTokens(kl.addr, provider)
	assertions := samlAssertions(kl.addr, samlIDP)

	const (
		gciBody = "Action=GetCallerIdentity&Version=2011-06-15"
		gstBody = "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=900"
		// AssumeRole of a role with a 10-statement trust policy, with two
		// session tags (issue 3's benchmark).
		arBody = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FBench&RoleSessionName=bench-1" +
			"&Tags.member.1.Key=project&Tags.member.1.Value=bench&Tags.member.2.Key=team&Tags.member.2.Value=perf&DurationSeconds=900"
		witRS256 = "Action=GetWebIdentityToken&Version=2011-06-15&Audience.member.1=bench&SigningAlgorithm=RS256"
		witES384 = "Action=GetWebIdentityToken&Version=2011-06-15&Audience.member.1=bench&SigningAlgorithm=ES384"
	)
	loads := []workload{
		{name: "trivial net/http handler", addr: tr.addr, req: signed(kl.addr, gciBody), pid: tr.cmd.Process.Pid},
		{name: "keyless GetCallerIdentity", addr: kl.addr, body: gciBody, pid: kl.cmd.Process.Pid},
		{name: "keyless GetSessionToken", addr: kl.addr, body: gstBody, pid: kl.cmd.Process.Pid},
		{name: "keyless AssumeRole", addr: kl.addr, body: arBody, pid: kl.cmd.Process.Pid},
		// An RS256 token whose key keyless has cached after the warm-up.
		{name: "keyless AssumeRoleWithWebIdentity", addr: kl.addr, req: unsigned(kl.addr, webIdentityBody(provider.token("bench-1"))), pid: kl.cmd.Process.Pid},
		// The token exchange: a GetCallerIdentity signed per request, which
		// the fake upstream STS answers, and an RS256 token with its own jti
		// per request, from a pool signed before each run.
		{name: "keyless ExchangeAWS", addr: kl.addr, pid: kl.cmd.Process.Pid, next: newAWSProofs(kl.addr).next, upstream: upstream},
		{name: "keyless ExchangeOIDC", addr: kl.addr, pid: kl.cmd.Process.Pid, next: tokens.next, pool: tokens, upstream: upstream},
		// A Response signed with RSA-2048 (SHA-256), each with its own
		// assertion ID, from a pool signed before each run (issue 6).
		{name: "keyless AssumeRoleWithSAML", addr: kl.addr, pid: kl.cmd.Process.Pid, next: assertions.next, pool: assertions},
		// keyless as an issuer (issue 16): a token signed per request,
		// the two documents relying parties fetch, and an integration's
		// credentials handed out from the cache.
		{name: "keyless GetWebIdentityToken RS256", addr: kl.addr, body: witRS256, pid: kl.cmd.Process.Pid},
		{name: "keyless GetWebIdentityToken ES384", addr: kl.addr, body: witES384, pid: kl.cmd.Process.Pid},
		{name: "keyless JWKS", addr: kl.addr, req: get(kl.addr, "/.well-known/jwks.json"), pid: kl.cmd.Process.Pid},
		{name: "keyless discovery", addr: kl.addr, req: get(kl.addr, "/.well-known/openid-configuration"), pid: kl.cmd.Process.Pid},
		{name: "keyless GetIntegrationCredentials", addr: kl.addr, pid: kl.cmd.Process.Pid,
			fresh: func() []byte { return signedGet(kl.addr, "/v1/integrations/bench/self/credentials") }},
		// aws login (issue 17): CreateOAuth2Token's refresh, a DPoP proof
		// verified, the refresh token rotated and credentials issued.
		{name: "keyless CreateOAuth2Token refresh", addr: kl.addr, pid: kl.cmd.Process.Pid},
	}
	if i := slices.IndexFunc(loads, func(w workload) bool { return w.name == "keyless CreateOAuth2Token refresh" }); i >= 0 &&
		(only == "" || slices.Contains(strings.Split(only, ","), "CreateOAuth2Token refresh")) {
		pool, err := newRefreshPool(kl.addr, 64)
		if err != nil {
			return err
		}
		loads[i].conn = pool.conn
	}
	if only != "" {
		loads = selectWorkloads(loads, strings.Split(only, ","))
		if len(loads) < 2 {
			return fmt.Errorf("-workloads %q names no keyless workload", only)
		}
	}
	if baseline != "" {
		bl, err := startBaseline(baseline, dataDir)
		if err != nil {
			return fmt.Errorf("baseline %s: %w", baseline, err)
		}
		defer bl.stop()
		loads = withBaseline(loads, bl)
	}
	var gstRate float64
	if slices.ContainsFunc(loads, func(w workload) bool { return w.name == "keyless AssumeRoleWithWebIdentity" }) {
		defer func() {
			if err := kidFlood(kl.addr, provider, 4000); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
			}
		}()
	}
	for _, conns := range levels {
		rates, cpu, err := measure(loads, conns, rounds, d, warm)
		if err != nil {
			return err
		}
		printTokenCosts(loads, cpu, kl, binary, conns, rounds, d, warm)
		if tokens.signed.Load() > 0 {
			fmt.Printf("ExchangeOIDC: every token has its own jti and is exchanged once (no allow_token_reuse); %d tokens (RS256)\n"+
				"signed before the runs so far, in %v on %d cores; %d signed during the reported runs because the pool was empty\n\n",
				tokens.signed.Load(), time.Duration(tokens.fillT.Load()).Round(time.Millisecond), runtime.GOMAXPROCS(0), tokens.measured)
		}
		if assertions.signed.Load() > 0 {
			fmt.Printf("AssumeRoleWithSAML: every assertion has its own ID and is accepted once; %d Responses (RSA-2048, SHA-256)\n"+
				"signed before the runs so far, in %v on %d cores; %d signed during the reported runs because the pool was empty\n\n",
				assertions.signed.Load(), time.Duration(assertions.fillT.Load()).Round(time.Millisecond), runtime.GOMAXPROCS(0), assertions.measured)
		}
		for i, w := range loads {
			if w.name == "keyless GetSessionToken" {
				gstRate = rates[i]
			}
		}
	}
	if profile != "" {
		if err := cpuProfile(loads[1], kl, levels[0], d, warm, profile); err != nil {
			return err
		}
	}
	if slices.ContainsFunc(loads, func(w workload) bool { return w.name == "keyless AssumeRoleWithSAML" }) {
		if err := samlFlood(kl, samlIDP, 10*time.Second); err != nil {
			return fmt.Errorf("AssumeRoleWithSAML flood: %w", err)
		}
	}
	if memDur <= 0 || gstRate == 0 {
		return nil
	}
	return memoryRun(kl, workload{addr: kl.addr, req: signed(kl.addr, gstBody)}, gstRate, memDur)
}

// startBaseline serves bench/keyless.yaml with the baseline binary, in a
// directory of its own beside the SAML metadata it names.
func startBaseline(binary, dataDir string) (*proc, error) {
	dir := filepath.Join(dataDir, "baseline")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	md, err := os.ReadFile(filepath.Join(dataDir, samlIDPMetadata))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, samlIDPMetadata), md, 0o600); err != nil {
		return nil, err
	}
	return startKeyless(binary, dir, false)
}

// withBaseline adds, after each of GetCallerIdentity, GetSessionToken and
// AssumeRole, the same request to the baseline, so that every round
// measures both one after the other.
func withBaseline(loads []workload, bl *proc) []workload {
	var out []workload
	for _, w := range loads {
		out = append(out, w)
		switch w.name {
		case "keyless GetCallerIdentity", "keyless GetSessionToken", "keyless AssumeRole":
			out = append(out, workload{name: "baseline " + strings.TrimPrefix(w.name, "keyless "), addr: bl.addr,
				body: w.body, pid: bl.cmd.Process.Pid})
		}
	}
	return out
}

// selectWorkloads keeps the trivial handler (every ratio is to it) and the
// keyless workloads named.
func selectWorkloads(loads []workload, names []string) []workload {
	kept := loads[:1]
	for _, w := range loads[1:] {
		for _, n := range names {
			if strings.TrimSpace(n) == strings.TrimPrefix(w.name, "keyless ") {
				kept = append(kept, w)
			}
		}
	}
	return kept
}

// measure runs every workload at one concurrency level and prints the
// table; it returns each workload's median peak rate.
func measure(loads []workload, conns, rounds int, d, warm time.Duration) (rates, cpu []float64, err error) {
	fmt.Printf("bench: %d connections, %d interleaved rounds of %v (after %v warm-up) per workload; medians reported\n\n", conns, rounds, d, warm)
	all := make([][]outcome, len(loads))
	for round := 1; round <= rounds; round++ {
		for i := range loads {
			if loads[i].body != "" {
				loads[i].req = signed(loads[i].addr, loads[i].body)
			}
			if loads[i].fresh != nil {
				loads[i].req = loads[i].fresh()
			}
		}
		for i, w := range loads {
			peak, serverCPU, clientCPU, err := peakRun(w, conns, warm, d)
			if err != nil {
				return nil, nil, err
			}
			half, err := halfRun(w, peak.rps()/2, d)
			if err != nil {
				return nil, nil, err
			}
			if peak.errors+half.errors > 0 {
				return nil, nil, refused(w.name, peak.errors+half.errors)
			}
			var up stats
			if w.upstream != nil {
				// The upstream alone, at the rate keyless called it.
				if up, err = openLoop(*w.upstream, peak.rps()/2, d, nil); err != nil {
					return nil, nil, fmt.Errorf("%s alone: %w", w.upstream.name, err)
				}
				if up.errors > 0 {
					return nil, nil, refused(w.upstream.name, up.errors)
				}
			}
			// CPU is sampled across warm-up and run; scale to the run's share.
			share := float64(d) / float64(d+warm)
			perReq := func(t time.Duration) time.Duration {
				return time.Duration(float64(t) * share / float64(peak.n))
			}
			o := outcome{w, peak, half, up, perReq(serverCPU), perReq(clientCPU)}
			all[i] = append(all[i], o)
			fmt.Printf("  round %d %-33s %8.0f req/s  server %5.1f us/req  client %5.1f us/req\n", round, w.name, peak.rps(),
				float64(o.serverCPU)/1e3, float64(o.clientCPU)/1e3)
			if w.upstream != nil {
				fmt.Printf("  round %d   at half peak, %.0f req/s: p50 %.2f ms, p99 %.2f ms; %s alone at that rate: p50 %.2f ms, p99 %.2f ms\n",
					round, half.rps(), ms(half.pct(0.50)), ms(half.pct(0.99)), w.upstream.name, ms(up.pct(0.50)), ms(up.pct(0.99)))
			} else {
				fmt.Printf("  round %d   at half peak, %.0f req/s: p50 %.2f ms, p99 %.2f ms\n", round, half.rps(), ms(half.pct(0.50)), ms(half.pct(0.99)))
			}
		}
	}
	med := func(i int, f func(outcome) float64) float64 {
		var xs []float64
		for _, o := range all[i] {
			xs = append(xs, f(o))
		}
		return median(xs)
	}
	msf := func(f func(outcome) time.Duration) func(outcome) float64 {
		return func(o outcome) float64 { return float64(f(o)) / float64(time.Millisecond) }
	}
	base := med(0, func(o outcome) float64 { return o.peak.rps() })
	fmt.Printf("\n| workload | peak req/s | ratio to trivial | server CPU per request | p50 at peak | p99 at peak | p50 at half peak | p99 at half peak |\n")
	fmt.Printf("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for i, w := range loads {
		rps := med(i, func(o outcome) float64 { return o.peak.rps() })
		fmt.Printf("| %s | %.0f | %.0f%% | %.0f us | %.2f ms | %.2f ms | %.2f ms | %.2f ms |\n", w.name, rps, 100*rps/base,
			med(i, func(o outcome) float64 { return float64(o.serverCPU) / 1e3 }),
			med(i, msf(func(o outcome) time.Duration { return o.peak.pct(0.50) })),
			med(i, msf(func(o outcome) time.Duration { return o.peak.pct(0.99) })),
			med(i, msf(func(o outcome) time.Duration { return o.half.pct(0.50) })),
			med(i, msf(func(o outcome) time.Duration { return o.half.pct(0.99) })))
	}
	fmt.Println()
	printAdded(loads, med)
	rates, cpu = make([]float64, len(loads)), make([]float64, len(loads))
	for i := range loads {
		rates[i] = med(i, func(o outcome) float64 { return o.peak.rps() })
		cpu[i] = med(i, func(o outcome) float64 { return float64(o.serverCPU) / 1e3 })
	}
	return rates, cpu, nil
}

// peakRun is the closed-loop run, with the CPU time the server and the
// bench used in it. A workload whose token pool ran dry gets a second run
// with a pool sized by the first.
func peakRun(w workload, conns int, warm, d time.Duration) (peak stats, server, client time.Duration, err error) {
	for attempt := 1; ; attempt++ {
		var misses int64
		if w.pool != nil {
			if err := fillForPeak(w, conns, warm, d); err != nil {
				return peak, 0, 0, fmt.Errorf("%s calibration: %w", w.name, err)
			}
			misses = w.pool.misses.Load()
		}
		s0, c0 := cpuTime(w.pid), cpuTime(os.Getpid())
		if peak, err = closedLoop(w, conns, warm, d); err != nil {
			return peak, 0, 0, fmt.Errorf("%s peak: %w", w.name, err)
		}
		server, client = cpuTime(w.pid)-s0, cpuTime(os.Getpid())-c0
		if w.pool == nil {
			return peak, server, client, nil
		}
		w.pool.rate = max(w.pool.rate, peak.rps())
		m := w.pool.misses.Load() - misses
		switch {
		case m == 0:
			return peak, server, client, nil
		case attempt == 2:
			w.pool.measured += m
			fmt.Printf("  (%s: the token pool ran dry again; %d tokens were signed during the peak run, which slowed it)\n", w.name, m)
			return peak, server, client, nil
		}
		fmt.Printf("  (%s: the token pool ran dry; %d tokens signed during the peak run; running it again with a larger pool)\n", w.name, m)
	}
}

// halfRun is the open-loop run at rate; a token pool is filled for it
// first.
func halfRun(w workload, rate float64, d time.Duration) (stats, error) {
	var misses int64
	if w.pool != nil {
		w.pool.fill(int(rate*d.Seconds()) + 256)
		misses = w.pool.misses.Load()
	}
	half, err := openLoop(w, rate, d, nil)
	if err != nil {
		return half, fmt.Errorf("%s half load: %w", w.name, err)
	}
	if w.pool != nil {
		w.pool.measured += w.pool.misses.Load() - misses
	}
	return half, nil
}

// memoryRun holds GetSessionToken at rate for d, sampling keyless's RSS
// every second.
func memoryRun(kl *proc, gst workload, rate float64, d time.Duration) error {
	var samples []int
	gstRate := rate / 2
	_, err := openLoop(gst, gstRate, d, func() { samples = append(samples, rss(kl.cmd.Process.Pid)) })
	if err != nil {
		return err
	}
	if len(samples) < 10 {
		return errors.New("too few memory samples")
	}
	avg := func(xs []int) int {
		s := 0
		for _, x := range xs {
			s += x
		}
		return s / len(xs)
	}
	first, last := avg(samples[:5]), avg(samples[len(samples)-5:])
	peakRSS := 0
	for _, s := range samples {
		peakRSS = max(peakRSS, s)
	}
	fmt.Printf("memory: GetSessionToken at %.0f req/s (half its peak) for %v: RSS %.1f MiB in the first 5 s, %.1f MiB in the last 5 s (%+.1f%%), max %.1f MiB\n",
		gstRate, d, float64(first)/1024, float64(last)/1024, 100*float64(last-first)/float64(first), float64(peakRSS)/1024)
	return nil
}
