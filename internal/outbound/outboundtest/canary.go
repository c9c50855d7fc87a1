// Package outboundtest holds test doubles for outbound requests: a canary
// listener that proves nothing was reached (security.md 3.0 rule 3).
package outboundtest

import (
	"net"
	"sync/atomic"
	"testing"
)

// Canary is a loopback TCP listener that counts and closes every
// connection: a URL no request may make keyless reach.
type Canary struct {
	URL   string // http://127.0.0.1:PORT
	conns atomic.Int64
}

// NewCanary listens until the test ends.
func NewCanary(t testing.TB) *Canary {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &Canary{URL: "http://" + ln.Addr().String()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.conns.Add(1)
			_ = conn.Close()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	return c
}

// Conns is how many connections reached the canary.
func (c *Canary) Conns() int64 { return c.conns.Load() }
