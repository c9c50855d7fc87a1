package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyless-dev/keyless/internal/idtoken/idtokentest"
)

// idpAddr is the identity provider bench/keyless.yaml trusts.
const (
	idpAddr   = "127.0.0.1:38931"
	idpIssuer = "http://" + idpAddr + "/bench"
)

// idp is a minimal OIDC provider: discovery and a JWKS, counting fetches.
type idp struct {
	signer  *idtokentest.Signer
	fetches atomic.Int64
	srv     *http.Server
}

func startIDP() (*idp, error) {
	p := &idp{signer: idtokentest.NewRSA("bench-1")}
	mux := http.NewServeMux()
	mux.HandleFunc("/bench/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, idpIssuer, idpIssuer+"/keys")
	})
	mux.HandleFunc("/bench/keys", func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		_, _ = w.Write(idtokentest.JWKS(p.signer))
	})
	ln, err := net.Listen("tcp", idpAddr)
	if err != nil {
		return nil, fmt.Errorf("identity provider on %s: %w", idpAddr, err)
	}
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// token is an RS256 ID token the BenchWeb role trusts, valid for an hour.
func (p *idp) token(kid string) string {
	now := time.Now()
	s := *p.signer
	s.KID = kid
	return s.Sign(map[string]any{"iss": idpIssuer, "sub": "repo:bench/app:ref:refs/heads/main", "aud": "keyless-bench",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
}

// webIdentityBody is an unsigned AssumeRoleWithWebIdentity request body.
func webIdentityBody(token string) string {
	return "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FBenchWeb" +
		"&RoleSessionName=bench-web&DurationSeconds=900&WebIdentityToken=" + url.QueryEscape(token)
}

// unsigned returns the wire bytes of an unsigned STS request.
func unsigned(host, body string) []byte {
	return []byte("POST / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: keyless-bench\r\n" +
		"Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: " +
		fmt.Sprint(len(body)) + "\r\n\r\n" + body)
}

// kidFlood sends n tokens with random unknown key ids over 8 connections
// and reports the JWKS fetches they caused (issue 4: at most one per
// refresh window) and whether every one was refused.
func kidFlood(addr string, p *idp, n int) error {
	before := p.fetches.Load()
	var wg sync.WaitGroup
	var accepted, failed atomic.Int64
	start := time.Now()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/8; i++ {
				b := make([]byte, 8)
				_, _ = rand.Read(b)
				c, err := dial(addr, unsigned(addr, webIdentityBody(p.token(hex.EncodeToString(b)))))
				if err != nil {
					failed.Add(1)
					continue
				}
				ok, err := c.do(c.req)
				_ = c.c.Close()
				switch {
				case err != nil:
					failed.Add(1)
				case ok:
					accepted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	fetches := p.fetches.Load() - before
	fmt.Printf("unknown-kid flood: %d tokens with random kids in %v: %d accepted, %d transport errors, %d JWKS fetches (refresh window 1m)\n\n",
		n/8*8, time.Since(start).Round(time.Millisecond), accepted.Load(), failed.Load(), fetches)
	if accepted.Load() > 0 || fetches > 1 {
		return fmt.Errorf("unknown-kid flood: %d accepted, %d fetches", accepted.Load(), fetches)
	}
	return nil
}
