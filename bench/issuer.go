package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// signatureCost is one signature's CPU time in microseconds, measured by
// a Go benchmark in this run, on this machine.
func signatureCost(alg string) float64 {
	var sign func() error
	switch alg {
	case "RS256":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256([]byte("bench"))
		sign = func() error { _, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:]); return err }
	case "ES384":
		k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			panic(err)
		}
		sum := sha512.Sum384([]byte("bench"))
		sign = func() error { _, _, err := ecdsa.Sign(rand.Reader, k, sum[:]); return err }
	}
	r := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			if err := sign(); err != nil {
				b.Fatal(err)
			}
		}
	})
	return float64(r.NsPerOp()) / 1e3
}

// printTokenCosts compares each GetWebIdentityToken workload's server CPU
// per token, less its signature, with AssumeRole's per request (issue
// 16's target: everything but the signature costs at most what
// AssumeRole costs). Shares are read from keyless's own CPU profile (its
// admin listener's pprof) over a run of each workload at the same
// concurrency, since a signature costs more inside a loaded server than
// in an isolated benchmark, which is printed beside it.
//
// The target is judged on keyless's handler (edge.serve: parsing,
// authentication, authorization, the call, the answer and its audit
// record), the signature aside. The rest of the process's CPU is the
// socket reads and writes, the audit writer's fsync and the scheduler,
// whose cost per request grows as the rate falls (a write wakes a reader
// that a faster server would have found awake; an fsync is shared by
// fewer events), and a token workload, limited by its signature, runs at
// a quarter of AssumeRole's rate. Both totals are printed too. Each
// workload is profiled once per round, interleaved, and the medians of
// the shares are taken, since one profile's shares move by a few percent.
func printTokenCosts(loads []workload, cpu []float64, kl *proc, binary string, conns, rounds int, d, warm time.Duration) {
	var profiled []workload
	for _, w := range loads {
		switch w.name {
		case "keyless AssumeRole", "keyless GetWebIdentityToken RS256", "keyless GetWebIdentityToken ES384":
			profiled = append(profiled, w)
		}
	}
	runs := map[string][]map[string]float64{}
	for range rounds {
		for _, w := range profiled {
			sh, err := profileShares(w, kl, binary, conns, d, warm)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s profile: %v\n", w.name, err)
				return
			}
			runs[w.name] = append(runs[w.name], sh)
		}
	}
	share := func(name, fn string) float64 {
		var xs []float64
		for _, sh := range runs[name] {
			xs = append(xs, sh[fn])
		}
		if len(xs) == 0 {
			return 0
		}
		return median(xs)
	}
	ar := -1
	var arHandler float64
	for i, w := range loads {
		if w.name == "keyless AssumeRole" {
			ar, arHandler = i, cpu[i]*share(w.name, handler)
		}
	}
	printed := false
	for i, w := range loads {
		var alg string
		switch w.name {
		case "keyless GetWebIdentityToken RS256":
			alg = "RS256"
		case "keyless GetWebIdentityToken ES384":
			alg = "ES384"
		default:
			continue
		}
		if !printed {
			fmt.Printf("| GetWebIdentityToken | server CPU per token | signature (share in keyless's profile) | one signature alone (Go benchmark) | the rest | keyless's handler, signature aside | AssumeRole per request | AssumeRole's handler | target: handler, signature aside <= AssumeRole's |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
			printed = true
		}
		sigShare := share(w.name, signature)
		if sigShare == 0 {
			fmt.Fprintf(os.Stderr, "bench: %s: no signing.signature in its profiles\n", alg)
			continue
		}
		sig := cpu[i] * sigShare
		own := cpu[i]*share(w.name, handler) - sig
		verdict, arText, arOwnText := "n/a (AssumeRole not run)", "-", "-"
		if ar >= 0 {
			arText, arOwnText = fmt.Sprintf("%.0f us", cpu[ar]), fmt.Sprintf("%.0f us", arHandler)
			verdict = "met"
			if own > arHandler {
				verdict = "NOT met"
			}
		}
		fmt.Printf("| %s | %.0f us | %.0f us (%.0f%%) | %.0f us | %.0f us | %.0f us | %s | %s | %s |\n", alg, cpu[i], sig, 100*sigShare,
			signatureCost(alg), cpu[i]-sig, own, arText, arOwnText, verdict)
	}
	if printed {
		fmt.Println()
	}
}

// The functions whose cumulative share of keyless's CPU profileShares
// reads: the signature, and every request's handler (which includes it).
const (
	signature = "github.com/keyless-dev/keyless/internal/signing.signature"
	handler   = "github.com/keyless-dev/keyless/internal/edge.(*Edge).serve"
)

// profileShares runs w at conns for warm+d while it takes keyless's CPU
// profile over d, and returns the cumulative share of keyless's CPU
// samples of signature and handler (zero for one not in it).
func profileShares(w workload, kl *proc, binary string, conns int, d, warm time.Duration) (map[string]float64, error) {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("keyless-bench-%d.pprof", os.Getpid()))
	defer os.Remove(path)
	if err := cpuProfile(w, kl, conns, d, warm, path); err != nil {
		return nil, err
	}
	out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=400", binary, path).Output()
	if err != nil {
		return nil, fmt.Errorf("go tool pprof: %w", err)
	}
	shares := map[string]float64{signature: 0, handler: 0}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 6 {
			continue
		}
		if _, ok := shares[f[5]]; ok {
			pct, err := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
			if err != nil {
				return nil, err
			}
			shares[f[5]] = pct / 100
		}
	}
	return shares, nil
}

// cpuProfile writes keyless's CPU profile (its admin listener's pprof)
// over d of a peak run of w at conns, after warm, to path.
func cpuProfile(w workload, kl *proc, conns int, d, warm time.Duration, path string) error {
	if kl.admin == "" {
		return errors.New("keyless has no admin listener")
	}
	if w.body != "" {
		w.req = signed(w.addr, w.body)
	}
	errc := make(chan error, 1)
	go func() {
		time.Sleep(warm)
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", kl.admin, int(d/time.Second)))
		if err != nil {
			errc <- err
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			err = errors.Join(err, f.Close())
		}
		errc <- err
	}()
	if _, err := closedLoop(w, conns, warm, d+time.Second); err != nil {
		return err
	}
	if err := <-errc; err != nil {
		return err
	}
	return nil
}
