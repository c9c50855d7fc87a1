package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The token exchange's benchmark: the fake upstream STS bench/keyless.yaml
// names, and the requests of the two exchange workloads.
const (
	upstreamAddr     = "127.0.0.1:38932"
	exchangeAudience = "bench-exchange"
	exchangePath     = "/SecureTokenService/ExchangeExternalToken"
	awsIssuer        = "https://sts.amazonaws.com"
	benchARN         = "arn:aws:iam::111122223333:user/bench"
	oidcSubject      = "repo:bench/app:ref:refs/heads/main"
	gciQuery         = "Action=GetCallerIdentity&Version=2011-06-15"
	signingRegion    = "us-east-1"
)

// upstreamBody is the fake STS's answer: a valid GetCallerIdentityResponse.
var upstreamBody = []byte(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
	`<Arn>` + benchARN + `</Arn><UserId>AIDABENCHEXAMPLEUSER1</UserId><Account>111122223333</Account>` +
	`</GetCallerIdentityResult><ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000001</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)

// startUpstream serves the fake STS on upstreamAddr: every
// POST /?Action=GetCallerIdentity&Version=2011-06-15 gets upstreamBody.
// It verifies no signature: keyless's own checks are what is measured.
func startUpstream() (*http.Server, error) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/" || r.URL.RawQuery != gciQuery {
			http.Error(w, "not GetCallerIdentity", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("Content-Length", strconv.Itoa(len(upstreamBody)))
		_, _ = w.Write(upstreamBody)
	})
	ln, err := net.Listen("tcp", upstreamAddr)
	if err != nil {
		return nil, fmt.Errorf("fake upstream STS on %s: %w", upstreamAddr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// upstreamRequest is what keyless sends the upstream, as the bench sends
// it directly (keep-alive, no signature: the fake STS reads neither).
func upstreamRequest() []byte {
	return []byte("POST /?" + gciQuery + " HTTP/1.1\r\nHost: " + upstreamAddr + "\r\nUser-Agent: keyless-bench\r\nContent-Length: 0\r\n\r\n")
}

// exchangeRequest is the wire bytes of an ExchangeExternalToken call.
func exchangeRequest(host, issuer, proof string) []byte {
	body := `{"audience":"` + exchangeAudience + `","issuer_uri":"` + issuer + `","jwt_token":"` + jsonEscape(proof) + `"}`
	return []byte("POST " + exchangePath + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: keyless-bench\r\n" +
		"Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

// jsonEscape escapes what the bench's proofs can hold: quotes and
// backslashes (they are printable ASCII).
func jsonEscape(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// awsProofs builds ExchangeAWS requests: each a GetCallerIdentity envelope
// signed now (SigV4; signed headers host, x-amz-date, x-keyless-audience)
// for the fake upstream. keyless accepts a signature once, and X-Amz-Date
// has a resolution of one second, so each request is signed with its own
// access key and secret (many workloads, one answer: the fake STS says
// user/bench to all).
type awsProofs struct {
	keyless string // keyless's host:port, for the outer request
	prefix  string // random, so that two bench runs never collide
	n       atomic.Uint64
}

func newAWSProofs(keyless string) *awsProofs {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return &awsProofs{keyless: keyless, prefix: strings.ToUpper(hex.EncodeToString(b))}
}

// emptySHA256 is the hex SHA-256 of the empty payload.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// next returns a fresh request.
func (a *awsProofs) next() []byte {
	i := a.n.Add(1)
	keyID := "AKIA" + a.prefix + fmt.Sprintf("%010d", i) // 20 characters, [A-Z0-9]
	return exchangeRequest(a.keyless, awsIssuer, envelope(keyID, "bench-secret-"+a.prefix+strconv.FormatUint(i, 10), time.Now()))
}

// envelope is a signed GetCallerIdentity as a workload serializes it:
// {"url","method","headers":[{"key","value"}],"body"}.
func envelope(keyID, secret string, t time.Time) string {
	amzDate := t.UTC().Format("20060102T150405Z")
	date := amzDate[:8]
	scope := date + "/" + signingRegion + "/sts/aws4_request"
	const signed = "host;x-amz-date;x-keyless-audience"
	canonical := "POST\n/\n" + gciQuery + "\nhost:" + upstreamAddr + "\nx-amz-date:" + amzDate +
		"\nx-keyless-audience:" + exchangeAudience + "\n\n" + signed + "\n" + emptySHA256
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, signingRegion)
	k = hmacSHA256(k, "sts")
	k = hmacSHA256(k, "aws4_request")
	authz := "AWS4-HMAC-SHA256 Credential=" + keyID + "/" + scope + ", SignedHeaders=" + signed +
		", Signature=" + hex.EncodeToString(hmacSHA256(k, toSign))
	return `{"url":"http://` + upstreamAddr + `/?` + gciQuery + `","method":"POST","headers":[` +
		`{"key":"Authorization","value":"` + authz + `"},{"key":"Host","value":"` + upstreamAddr + `"},` +
		`{"key":"X-Amz-Date","value":"` + amzDate + `"},{"key":"X-Keyless-Audience","value":"` + exchangeAudience + `"}],"body":""}`
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// tokenPool holds requests that keyless accepts once (ExchangeOIDC's
// tokens, each with its own jti; AssumeRoleWithSAML's assertions, each with
// its own ID), signed before the measured runs: at a millisecond or more
// per RSA signature, signing during a run would load the two cores it
// measures.
type tokenPool struct {
	build func() []byte
	// misses counts requests signed on demand because the pool was empty;
	// measured counts those in the runs whose figures are reported.
	misses   atomic.Int64
	measured int64
	// rate is the fastest peak measured, in requests per second; it sizes the pool.
	rate   float64
	signed atomic.Int64 // in fill, for the report
	fillT  atomic.Int64 // nanoseconds spent in fill

	mu   sync.Mutex
	reqs []pooled // oldest first
}

// pooled is a request signed ahead, and when.
type pooled struct {
	req []byte
	at  time.Time
}

// maxPooledAge is how long a pooled request is kept: well inside the
// 5 minutes a SAML assertion may wait (max_assertion_age), however many
// workloads run between two rounds of the one that uses it.
const maxPooledAge = 2 * time.Minute

// oidcTokens is the ExchangeOIDC pool: RS256 tokens with unique jti.
func oidcTokens(keyless string, p *idp) *tokenPool {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := hex.EncodeToString(b)
	var n atomic.Uint64
	return &tokenPool{build: func() []byte {
		now := time.Now()
		jti := prefix + "-" + strconv.FormatUint(n.Add(1), 10)
		tok := p.signer.Sign(map[string]any{"iss": idpIssuer, "sub": oidcSubject, "aud": exchangeAudience,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": jti})
		return exchangeRequest(keyless, idpIssuer, tok)
	}}
}

// samlAssertions is the AssumeRoleWithSAML pool: signed Responses with
// unique assertion IDs.
func samlAssertions(keyless string, p *samlIDP) *tokenPool {
	var n atomic.Uint64
	return &tokenPool{build: func() []byte {
		return unsigned(keyless, samlBody(p.response(n.Add(1), nil)))
	}}
}

// next takes the newest request from the pool, or signs one if it is
// empty or holds only requests too old to use.
func (t *tokenPool) next() []byte {
	t.mu.Lock()
	if n := len(t.reqs); n > 0 && time.Since(t.reqs[n-1].at) < maxPooledAge {
		r := t.reqs[n-1].req
		t.reqs[n-1] = pooled{}
		t.reqs = t.reqs[:n-1]
		t.mu.Unlock()
		return r
	}
	t.reqs = nil
	t.mu.Unlock()
	t.misses.Add(1)
	return t.build()
}

// fill signs, on every core, until the pool holds n requests.
func (t *tokenPool) fill(n int) {
	start := time.Now()
	t.mu.Lock()
	// Leftovers of an earlier run that are too old go first.
	i := 0
	for i < len(t.reqs) && start.Sub(t.reqs[i].at) >= maxPooledAge {
		i++
	}
	t.reqs = t.reqs[i:]
	need := n - len(t.reqs)
	t.mu.Unlock()
	if need <= 0 {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := need / workers
			if w < need%workers {
				k++
			}
			batch := make([]pooled, 0, k)
			for range k {
				batch = append(batch, pooled{t.build(), time.Now()})
			}
			t.mu.Lock()
			t.reqs = append(t.reqs, batch...)
			t.mu.Unlock()
		}()
	}
	wg.Wait()
	t.signed.Add(int64(need))
	t.fillT.Add(int64(time.Since(start)))
}

// fillForPeak signs enough tokens for w's peak run, warm-up included: half
// as many again as the fastest peak measured so far allows, or, before the
// first, as a calibration run at conns connections suggests (one second,
// after one second of warm-up).
func fillForPeak(w workload, conns int, warm, d time.Duration) error {
	p := w.pool
	if p.rate == 0 {
		p.fill(4000)
		before := p.misses.Load()
		cal, err := closedLoop(w, conns, time.Second, time.Second)
		if err != nil {
			return err
		}
		if cal.errors > 0 {
			return refused("calibration", cal.errors)
		}
		p.rate = cal.rps()
		if p.misses.Load() > before { // slowed by signing on demand
			p.rate *= 2
		}
	}
	p.fill(int(p.rate*1.5*(warm+d).Seconds()) + 4*conns)
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// printAdded reports keyless's own latency in each exchange workload: at
// half peak, the exchange's percentiles minus those of the fake upstream
// STS loaded alone at the same rate over the same connections.
func printAdded(loads []workload, med func(int, func(outcome) float64) float64) {
	var rows []int
	for i, w := range loads {
		if w.upstream != nil {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		return
	}
	const target = 2.0 // ms, added at p99
	fmt.Printf("Token exchange at half peak (open loop, 64 connections): keyless's added latency = exchange - upstream,\n" +
		"where upstream is the fake STS (served by the bench) loaded alone at the same rate; the difference of the\n" +
		"percentiles, not a percentile of differences. Target: added p99 under 2 ms.\n\n")
	fmt.Printf("| workload | req/s | exchange p50 | exchange p99 | upstream p50 | upstream p99 | added p50 | added p99 | target (added p99 < 2 ms) |\n")
	fmt.Printf("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, i := range rows {
		pct := func(p float64, up bool) func(outcome) float64 {
			return func(o outcome) float64 {
				if up {
					return ms(o.up.pct(p))
				}
				return ms(o.half.pct(p))
			}
		}
		added := func(p float64) func(outcome) float64 {
			return func(o outcome) float64 { return ms(o.half.pct(p)) - ms(o.up.pct(p)) }
		}
		a99 := med(i, added(0.99))
		verdict := "met"
		if a99 >= target {
			verdict = "not met"
		}
		fmt.Printf("| %s | %.0f | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %s |\n", loads[i].name,
			med(i, func(o outcome) float64 { return o.half.rps() }),
			med(i, pct(0.50, false)), med(i, pct(0.99, false)), med(i, pct(0.50, true)), med(i, pct(0.99, true)),
			med(i, added(0.50)), a99, verdict)
	}
	fmt.Println()
}
