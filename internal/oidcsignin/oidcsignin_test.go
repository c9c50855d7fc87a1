package oidcsignin_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/edge/edgetest"
	"github.com/keyless-dev/keyless/internal/login"
	awslogin "github.com/keyless-dev/keyless/internal/loginapi/loginapitest"
	"github.com/keyless-dev/keyless/internal/oidcsignin"
	"github.com/keyless-dev/keyless/internal/outbound"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/signin"
	"github.com/keyless-dev/keyless/internal/storage/memory"
	"github.com/keyless-dev/keyless/internal/sts"
	"github.com/keyless-dev/keyless/internal/websession"
)

// op is a fake OpenID Connect provider, for the faults a real one does
// not make on request: a wrong nonce, another audience.
type op struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	mu  sync.Mutex
	// nonces by code; tamper changes the next ID token's claims.
	nonces map[string]string
	tamper func(claims map[string]any)
}

func newOP(t *testing.T) *op {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	o := &op{key: k, nonces: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": o.srv.URL, "authorization_endpoint": o.srv.URL + "/auth",
			"token_endpoint": o.srv.URL + "/token", "jwks_uri": o.srv.URL + "/keys", "id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		o.mu.Lock()
		nonce, ok := o.nonces[r.PostForm.Get("code")]
		tamper := o.tamper
		o.mu.Unlock()
		if !ok || r.PostForm.Get("code_verifier") == "" {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		claims := map[string]any{"iss": o.srv.URL, "aud": "keyless", "sub": "user-1", "email": "alice@example.com", "email_verified": true,
			"nonce": nonce, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
		if tamper != nil {
			tamper(claims)
		}
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: "k1"}}, nil)
		b, _ := json.Marshal(claims)
		jws, _ := s.Sign(b)
		tok, _ := jws.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "id_token": tok})
	})
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	return o
}

// setTamper changes the ID tokens until the returned func is called.
func (o *op) setTamper(fn func(map[string]any)) func() {
	o.mu.Lock()
	o.tamper = fn
	o.mu.Unlock()
	return func() { o.mu.Lock(); o.tamper = nil; o.mu.Unlock() }
}

// authorize is the person signing in at the provider: a code for the
// request's nonce, back to its redirect URI with its state.
func (o *op) authorize(t *testing.T, location string) string {
	u, err := url.Parse(location)
	if err != nil || !strings.HasPrefix(location, o.srv.URL+"/auth?") {
		t.Fatalf("not sent to the provider: %q", location)
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("nonce") == "" || q.Get("state") == "" ||
		!strings.Contains(q.Get("scope"), "openid") {
		t.Errorf("authorization request %v", q)
	}
	code := rand.Text()
	o.mu.Lock()
	o.nonces[code] = q.Get("nonce")
	o.mu.Unlock()
	return q.Get("redirect_uri") + "?code=" + code + "&state=" + url.QueryEscape(q.Get("state"))
}

type service struct{}

func (service) WebIdentityRoles(_ context.Context, _ string, _ secret.String, _ string, _ sts.Origin) (sts.WebIdentityOffer, error) {
	return sts.WebIdentityOffer{Subject: "user-1", Provider: "arn:aws:iam::111122223333:oidc-provider/op",
		Roles: []string{"arn:aws:iam::111122223333:role/dev"}}, nil
}

func (service) SignInWithWebIdentity(_ context.Context, req sts.WebIdentityRequest) (sts.WebIdentityResult, sts.RoleSignIn, error) {
	now := time.Now()
	return sts.WebIdentityResult{Subject: "user-1"}, sts.RoleSignIn{Account: "111122223333", RoleName: "dev", RoleID: "AROAEXAMPLE",
		SessionName: req.SessionName, SignedInAt: now, Ends: now.Add(time.Hour)}, nil
}

type fixture struct {
	op     *op
	srv    *httptest.Server
	events *edgetest.Recorder
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{op: newOP(t), events: &edgetest.Recorder{}}
	store := memory.New()
	client, err := outbound.New(outbound.Options{AllowLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = edgetest.Serve(t, f.events, func(public string) *edge.Surface {
		return oidcsignin.New(oidcsignin.Options{Service: service{}, Store: store, PublicURL: public, Region: "us-east-1", Clock: clock.System{},
			Random: rand.Reader, Client: client.HTTPClient(),
			Providers: []oidcsignin.Provider{{Name: "op", DisplayName: "OP", Issuer: f.op.srv.URL, ClientID: "keyless",
				ClientSecret: secret.NewString("s3cret"), Account: "111122223333", Scopes: []string{"email"}}},
			Sessions: &signin.Sessions{Store: websession.New(websession.Options{Store: store, Clock: clock.System{}, Random: rand.Reader}), MaxAge: time.Hour},
			Principal: func(in sts.RoleSignIn) (login.Principal, error) {
				return login.Principal{ARN: in.ARN(), ID: in.ID()}, nil
			}}).Surface()
	})
	return f
}

// browser is a cookie jar that follows no redirect.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) *http.Response {
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// start begins a sign-in in b and returns the provider's redirect back.
func (f *fixture) start(t *testing.T, b *http.Client) string {
	resp := get(t, b, f.srv.URL+"/signin/oidc/op?next=/v1/authorize%3Fx%3D1")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	return f.op.authorize(t, resp.Header.Get("Location"))
}

// The callback's hostile rows (security.md 3.K, the relying party's
// side): each refused with 403, one ConsoleLogin event, no session.
func TestCallbackRows(t *testing.T) {
	f := newFixture(t)

	ok := browser()
	back := f.start(t, ok)
	resp, err := ok.Get(back)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `value="arn:aws:iam::111122223333:role/dev,`) {
		t.Fatalf("the chooser: %d %s", resp.StatusCode, body)
	}
	if ev := f.events.Last(); ev.EventName != "ConsoleLogin" || ev.ErrorCode != "" || ev.UserIdentity.Type != "WebIdentityUser" {
		t.Errorf("the sign-in's event: %+v", ev)
	}

	for _, tc := range []struct {
		id, reason string
		run        func() *http.Response
	}{
		{"OIDC-RP-01 no state cookie (another browser)", "state_not_this_browsers", func() *http.Response {
			return get(t, browser(), f.start(t, browser()))
		}},
		{"OIDC-RP-02 the state of another sign-in of this browser", "state_not_this_browsers", func() *http.Response {
			b := browser()
			first := f.start(t, b)
			f.start(t, b) // the cookie now holds the second state
			return get(t, b, first)
		}},
		{"OIDC-RP-03 a state used twice", "state_unknown", func() *http.Response {
			return get(t, ok, back)
		}},
		{"OIDC-RP-04 an ID token with another nonce", "nonce_mismatch", func() *http.Response {
			b := browser()
			u := f.start(t, b)
			defer f.op.setTamper(func(c map[string]any) { c["nonce"] = "another" })()
			return get(t, b, u)
		}},
		{"OIDC-RP-05 an ID token for another client", "id_token_invalid", func() *http.Response {
			b := browser()
			u := f.start(t, b)
			defer f.op.setTamper(func(c map[string]any) { c["aud"] = "someone-else" })()
			return get(t, b, u)
		}},
		{"OIDC-RP-06 the provider refused", "provider_refused", func() *http.Response {
			b := browser()
			u := f.start(t, b)
			v, _ := url.Parse(u)
			return get(t, b, f.srv.URL+"/signin/oidc/callback?error=access_denied%3Cscript%3E&state="+url.QueryEscape(v.Query().Get("state")))
		}},
		{"OIDC-RP-07 a forged code", "code_refused", func() *http.Response {
			b := browser()
			u := f.start(t, b)
			v, _ := url.Parse(u)
			return get(t, b, f.srv.URL+"/signin/oidc/callback?code=forged&state="+url.QueryEscape(v.Query().Get("state")))
		}},
	} {
		n := f.events.Len()
		resp := tc.run()
		if resp.StatusCode != 403 || strings.Contains(resp.Header.Get("Set-Cookie"), "keyless-session") {
			t.Errorf("%s: %d %v", tc.id, resp.StatusCode, resp.Header)
		}
		var callbacks int
		for _, ev := range f.events.Events()[n:] {
			if ev.EventName == "ConsoleLogin" {
				callbacks++
			} else if ev.EventName != "StartOIDCSignIn" {
				t.Errorf("%s: event %s", tc.id, ev.EventName)
			}
		}
		if callbacks != 1 || f.events.Last().AdditionalEventData["reason"] != tc.reason {
			t.Errorf("%s: %d callback events, the last %+v", tc.id, callbacks, f.events.Last())
		}
	}

	// OIDC-RP-08: the role chosen without the chooser's cookie.
	form := url.Values{"id_token": {"x.y.z"}, "provider": {"op"}, "role": {"arn:aws:iam::111122223333:role/dev,arn:aws:iam::111122223333:oidc-provider/op"},
		"signin": {"0123456789abcdef0123456789abcdef"}}
	resp, err = browser().PostForm(f.srv.URL+"/signin/oidc/callback", form)
	if err != nil || resp.StatusCode != 403 {
		t.Errorf("OIDC-RP-08: %v %v", resp, err)
	}

	// The role chosen on the chooser: signed in, as the session name the
	// verified token gave (a form field naming another is ignored), and
	// on to the sign-in's next page; the same choice again is refused,
	// as is another token on another chooser.
	choose := func(b *http.Client, page string, token string) *http.Response {
		u, _ := url.Parse(f.srv.URL)
		var nonce string
		for _, c := range b.Jar.Cookies(u) {
			if c.Name == "keyless-oidc-signin" {
				nonce = c.Value
			}
		}
		if token == "" {
			token = awslogin.Between(page, `name="id_token" value="`, `"`)
		}
		resp, err := b.PostForm(f.srv.URL+"/signin/oidc/callback", url.Values{"id_token": {token}, "signin": {nonce},
			"role": {"arn:aws:iam::111122223333:role/dev,arn:aws:iam::111122223333:oidc-provider/op"}, "session_name": {"someone-else"}})
		if err != nil { // called from several goroutines: no t.Fatal
			t.Error(err)
			return &http.Response{}
		}
		resp.Body.Close()
		return resp
	}
	u, _ := url.Parse(f.srv.URL)
	shown := ok.Jar.Cookies(u)
	if resp := choose(ok, string(body), ""); resp.StatusCode != 303 || resp.Header.Get("Location") != "/v1/authorize?x=1" ||
		!strings.Contains(resp.Header.Get("Set-Cookie"), "keyless-session=") {
		t.Errorf("the choice: %d %v", resp.StatusCode, resp.Header)
	}
	if ev := f.events.Last(); ev.EventName != "AssumeRoleWithWebIdentity" || ev.RequestParameters["roleSessionName"] != "alice@example.com" {
		t.Errorf("the choice's event: %+v", ev)
	}
	ok.Jar.SetCookies(u, shown) // replayed with the chooser's cookie
	if resp := choose(ok, string(body), ""); resp.StatusCode != 403 || f.events.Last().AdditionalEventData["reason"] != "chooser_unknown" {
		t.Errorf("OIDC-RP-09 the same choice again: %d", resp.StatusCode)
	}
	b2 := browser()
	resp, err = b2.Get(f.start(t, b2))
	if err != nil {
		t.Fatal(err)
	}
	page2, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	other := awslogin.Between(string(body), `name="id_token" value="`, `"`) // the first chooser's token
	if resp := choose(b2, string(page2), other); resp.StatusCode != 403 || f.events.Last().AdditionalEventData["reason"] != "chooser_token_changed" {
		t.Errorf("OIDC-RP-10 another token on a chooser: %d", resp.StatusCode)
	}

	// OIDC-RP-11: one chooser posted ten times at once signs in once.
	b3 := browser()
	resp, err = b3.Get(f.start(t, b3))
	if err != nil {
		t.Fatal(err)
	}
	page3, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 10 {
		wg.Go(func() {
			resp := choose(b3, string(page3), "")
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[303] != 1 || codes[403] != 9 {
		t.Errorf("OIDC-RP-11 ten concurrent choices: %v", codes)
	}
}
