package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"testing"
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
// per token, less one signature, with AssumeRole's per request (issue
// 16's target: everything but the signature costs at most what
// AssumeRole costs).
func printTokenCosts(loads []workload, cpu []float64) {
	ar := -1.0
	for i, w := range loads {
		if w.name == "keyless AssumeRole" {
			ar = cpu[i]
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
			fmt.Printf("| GetWebIdentityToken | server CPU per token | one signature (Go benchmark, this run) | the rest | AssumeRole per request | target: the rest <= AssumeRole |\n|---|---:|---:|---:|---:|---|\n")
			printed = true
		}
		sig := signatureCost(alg)
		rest := cpu[i] - sig
		verdict, arText := "n/a (AssumeRole not run)", "-"
		if ar >= 0 {
			arText = fmt.Sprintf("%.0f us", ar)
			verdict = "met"
			if rest > ar {
				verdict = "NOT met"
			}
		}
		fmt.Printf("| %s | %.0f us | %.0f us | %.0f us | %s | %s |\n", alg, cpu[i], sig, rest, arText, verdict)
	}
	if printed {
		fmt.Println()
	}
}
