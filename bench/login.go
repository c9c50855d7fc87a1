package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	login "github.com/keyless-dev/keyless/internal/loginapi/loginapitest"
)

// The aws login refresh workload (issue 17): a pool of sign-in sessions,
// each started as the CLI starts one (dev signs in on the pages, consents,
// redeems the code with PKCE and a DPoP key). A connection holds one
// session for a run and refreshes it again and again, each time with a
// new DPoP proof and the refresh token the last answer rotated to: the
// DPoP verification, the rotation's compare-and-swap and the issuing
// are all in every request.

// refreshSession is one aws login session.
type refreshSession struct {
	key   login.Key
	token string
}

type refreshPool struct {
	addr string
	free chan *refreshSession
}

// newRefreshPool signs dev in and starts n sessions.
func newRefreshPool(addr string, n int) (*refreshPool, error) {
	base := "http://" + addr
	b := login.NewBrowser(base)
	if p, err := b.SignIn("111122223333", "dev", "bench password", "", ""); err != nil || p.Status != http.StatusSeeOther {
		return nil, fmt.Errorf("bench sign-in: %d %v", p.Status, err)
	}
	pool := &refreshPool{addr: addr, free: make(chan *refreshSession, n)}
	for range n {
		verifier, challenge := login.PKCE()
		redirect, state := "http://127.0.0.1:1/oauth/callback", login.UUID()
		p, err := b.Get(login.AuthorizeURL(base, login.SameDevice, redirect, state, challenge))
		if err == nil {
			p, err = b.Consent(p, "allow")
		}
		if err != nil || p.Status != http.StatusSeeOther {
			return nil, fmt.Errorf("bench consent: %d %v", p.Status, err)
		}
		u, _ := url.Parse(p.Location)
		s := &refreshSession{key: login.NewKey()}
		a, err := login.Token(base, map[string]string{"clientId": login.SameDevice, "grantType": "authorization_code",
			"code": u.Query().Get("code"), "redirectUri": redirect, "codeVerifier": verifier}, s.key.Proof("POST", base+"/v1/token", time.Now(), nil))
		if err != nil {
			return nil, err
		}
		t, err := a.Tokens()
		if err != nil {
			return nil, err
		}
		s.token = t.RefreshToken
		pool.free <- s
	}
	return pool, nil
}

// conn gives a connection a session for its life: its requests, the
// answer's new refresh token, and the session back when the run ends.
func (p *refreshPool) conn() (next func() []byte, seen func([]byte), release func()) {
	s := <-p.free
	next = func() []byte {
		body, _ := json.Marshal(map[string]string{"clientId": login.SameDevice, "grantType": "refresh_token", "refreshToken": s.token})
		req, _ := http.NewRequest("POST", "http://"+p.addr+"/v1/token", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "keyless-bench")
		req.Header.Set("DPoP", s.key.Proof("POST", "http://"+p.addr+"/v1/token", time.Now(), nil))
		var buf bytes.Buffer
		_ = req.Write(&buf)
		return buf.Bytes()
	}
	seen = func(answer []byte) {
		var t struct{ RefreshToken string }
		if json.Unmarshal(answer, &t) == nil && t.RefreshToken != "" {
			s.token = t.RefreshToken
		}
	}
	return next, seen, func() { p.free <- s }
}
