package hostile

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/config"
	awslogin "github.com/keyless-dev/keyless/internal/loginapi/loginapitest"
)

// Developer sign-in's hostile rows (security.md 3.K, AUTHZ-10, TOKEN-*,
// and the sign-in pages' own SIGNIN-* rows), against the app with the
// fake clock: each refusal with its status and error, no credentials, one
// audit event, and no secret in any event or log (checkNoSecrets).

// signinPublic is signin.yaml's public URL: the DPoP proofs' htu and the
// cross-device redirect name it whatever port the test server has.
const signinPublic = "http://127.0.0.1:8080"

type loginFixture struct {
	*harness
	browser *awslogin.Browser
	key     awslogin.Key
}

func newLoginFixture(t *testing.T) *loginFixture {
	h := newHarnessWith(t, "signin.yaml")
	return &loginFixture{harness: h, browser: awslogin.NewBrowser(h.srv.URL), key: awslogin.NewKey()}
}

// eventsNamed counts the events of name since the index from.
func (f *loginFixture) eventsSince(from int) []audit.Event { return f.events()[from:] }

// authorize is a same-device request's URL and its verifier.
func (f *loginFixture) authorize(client string) (u, verifier, redirect, state string) {
	verifier, challenge := awslogin.PKCE()
	redirect = "http://127.0.0.1:43210/oauth/callback"
	if client == awslogin.CrossDevice {
		redirect = signinPublic + "/v1/sessions/confirmation"
	}
	state = awslogin.UUID()
	return awslogin.AuthorizeURL(f.srv.URL, client, redirect, state, challenge), verifier, redirect, state
}

// code runs the browser part as user and returns the code.
func (f *loginFixture) code(user, password, mfa string) (code, verifier, redirect string) {
	f.t.Helper()
	u, verifier, redirect, state := f.authorize(awslogin.SameDevice)
	p, err := f.browser.Login(u, "111122223333", user, password, mfa, "allow")
	if err != nil || p.Status != http.StatusSeeOther {
		f.t.Fatalf("login as %s: %v %d %s", user, err, p.Status, p.Body)
	}
	loc, err := url.Parse(p.Location)
	if err != nil || loc.Query().Get("state") != state || !strings.HasPrefix(p.Location, redirect+"?") {
		f.t.Fatalf("callback %q", p.Location)
	}
	noteSecret(loc.Query().Get("code"), verifier)
	return loc.Query().Get("code"), verifier, redirect
}

func (f *loginFixture) redeem(code, verifier, redirect string, key awslogin.Key) awslogin.Answer {
	f.t.Helper()
	a, err := awslogin.Token(f.srv.URL, map[string]string{"clientId": awslogin.SameDevice, "grantType": "authorization_code", "code": code,
		"redirectUri": redirect, "codeVerifier": verifier}, key.Proof("POST", signinPublic+"/v1/token", f.clock.Now(), nil))
	if err != nil {
		f.t.Fatal(err)
	}
	f.note(a)
	return a
}

func (f *loginFixture) refresh(token string, key awslogin.Key, edit func(h, c map[string]any)) awslogin.Answer {
	f.t.Helper()
	a, err := awslogin.Token(f.srv.URL, map[string]string{"clientId": awslogin.SameDevice, "grantType": "refresh_token", "refreshToken": token},
		key.Proof("POST", signinPublic+"/v1/token", f.clock.Now(), edit))
	if err != nil {
		f.t.Fatal(err)
	}
	f.note(a)
	return a
}

// note keeps an answer's secrets for checkNoSecrets.
func (f *loginFixture) note(a awslogin.Answer) {
	if t, err := a.Tokens(); err == nil {
		noteSecret(t.SecretAccessKey, t.SessionToken, t.RefreshToken)
	}
}

// refused checks a token call's refusal: status, error, no credentials,
// exactly one CreateOAuth2Token event since from, with that error.
func (f *loginFixture) refused(id string, a awslogin.Answer, status int, code string, from int) {
	f.t.Helper()
	if a.Status != status || a.Error() != code || strings.Contains(a.Raw, "accessToken") {
		f.t.Errorf("%s: %d %s, want %d %s", id, a.Status, a.Raw, status, code)
	}
	evs := f.eventsSince(from)
	if len(evs) != 1 || evs[0].EventName != "CreateOAuth2Token" || evs[0].ErrorCode == "" || evs[0].IssuedKeyID != "" {
		f.t.Errorf("%s: events %+v, want one refused CreateOAuth2Token", id, evs)
	}
}

// The whole same-device life through the pages and the token call,
// then the token call's hostile rows.
func TestLoginTokenRows(t *testing.T) {
	f := newLoginFixture(t)
	code, verifier, redirect := f.code("alice", "alice password", "")
	before := len(f.events())
	a := f.redeem(code, verifier, redirect, f.key)
	toks, err := a.Tokens()
	if err != nil {
		t.Fatal(err)
	}
	if sub, err := awslogin.Subject(toks.IDToken); err != nil || sub != "arn:aws:iam::111122223333:user/alice" || toks.ExpiresIn != 900 {
		t.Errorf("idToken sub %q (%v), expiresIn %d", sub, err, toks.ExpiresIn)
	}
	if r := f.call(creds{toks.AccessKeyID, toks.SecretAccessKey, toks.SessionToken}, "GetCallerIdentity", ""); r.status != 200 ||
		!strings.Contains(r.body, "user/alice") {
		t.Errorf("the issued credentials: %d %s", r.status, r.body)
	}
	if evs := f.eventsSince(before); len(evs) < 1 || evs[0].EventName != "CreateOAuth2Token" || evs[0].EventSource != "signin.amazonaws.com" ||
		evs[0].ResponseElements["accessKeyId"] != toks.AccessKeyID || evs[0].UserIdentity.ARN != "arn:aws:iam::111122223333:user/alice" {
		t.Errorf("the redemption's event: %+v", evs)
	}

	// TOKEN-04: the code again; the family it started ends.
	from := len(f.events())
	f.refused("TOKEN-04 code used twice", f.redeem(code, verifier, redirect, f.key), 400, "INVALID_REQUEST", from)
	from = len(f.events())
	f.refused("TOKEN-04 the first redemption's refresh token after the replay", f.refresh(toks.RefreshToken, f.key, nil), 401, "TOKEN_EXPIRED", from)

	// A new session for the refresh rows.
	code, verifier, redirect = f.code("alice", "alice password", "")
	toks, err = f.redeem(code, verifier, redirect, f.key).Tokens()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id     string
		key    awslogin.Key
		edit   func(h, c map[string]any)
		status int
		code   string
	}{
		{"DPOP key of another client on refresh", awslogin.NewKey(), nil, 400, "INVALID_REQUEST"},
		{"DPOP alg none", f.key, func(h, _ map[string]any) { h["alg"] = "none" }, 400, "INVALID_REQUEST"},
		{"DPOP alg HS256", f.key, func(h, _ map[string]any) { h["alg"] = "HS256" }, 400, "INVALID_REQUEST"},
		{"DPOP private key member", f.key, func(h, _ map[string]any) { h["jwk"] = f.key.JWK(true) }, 400, "INVALID_REQUEST"},
		{"DPOP another method", f.key, func(_, c map[string]any) { c["htm"] = "GET" }, 400, "INVALID_REQUEST"},
		{"DPOP another URL", f.key, func(_, c map[string]any) { c["htu"] = "https://evil.example/v1/token" }, 400, "INVALID_REQUEST"},
		{"DPOP too old", f.key, func(_, c map[string]any) { c["iat"] = f.clock.Now().Add(-10 * time.Minute).Unix() }, 400, "INVALID_REQUEST"},
	} {
		from := len(f.events())
		f.refused(tc.id, f.refresh(toks.RefreshToken, tc.key, tc.edit), tc.status, tc.code, from)
	}
	// DPoP missing: the call is the RFC 8693 endpoint's, which shares the
	// path and refuses a JSON body.
	from = len(f.events())
	a, _ = awslogin.Token(f.srv.URL, map[string]string{"clientId": awslogin.SameDevice, "grantType": "refresh_token", "refreshToken": toks.RefreshToken}, "")
	if evs := f.eventsSince(from); a.Status != 400 || a.Error() != "invalid_request" || strings.Contains(a.Raw, "accessToken") || len(evs) != 1 {
		t.Errorf("DPOP missing: %d %s, %d events", a.Status, a.Raw, len(evs))
	}

	// Rotation: the replaced token within the grace answers the current
	// one; after it, reuse ends the family.
	next, err := f.refresh(toks.RefreshToken, f.key, nil).Tokens()
	if err != nil || next.RefreshToken == toks.RefreshToken {
		t.Fatalf("refresh: %v", err)
	}
	if again, err := f.refresh(toks.RefreshToken, f.key, nil).Tokens(); err != nil || again.RefreshToken != next.RefreshToken {
		t.Errorf("the replaced token within the grace: %v", err)
	}
	f.clock.Advance(3 * time.Minute)
	from = len(f.events())
	f.refused("refresh token reused after rotation", f.refresh(toks.RefreshToken, f.key, nil), 401, "TOKEN_EXPIRED", from)
	from = len(f.events())
	f.refused("the family after reuse", f.refresh(next.RefreshToken, f.key, nil), 401, "TOKEN_EXPIRED", from)

	// TOKEN-01, 05, 06: a fresh code each (a refused redemption spends it).
	for _, tc := range []struct {
		id   string
		body func(code, verifier, redirect string) map[string]string
	}{
		{"TOKEN-01 wrong verifier", func(c, _, r string) map[string]string {
			v, _ := awslogin.PKCE()
			return map[string]string{"clientId": awslogin.SameDevice, "grantType": "authorization_code", "code": c, "redirectUri": r, "codeVerifier": v}
		}},
		{"TOKEN-05 the other client", func(c, v, r string) map[string]string {
			return map[string]string{"clientId": awslogin.CrossDevice, "grantType": "authorization_code", "code": c, "redirectUri": r, "codeVerifier": v}
		}},
		{"TOKEN-06 another loopback port", func(c, v, _ string) map[string]string {
			return map[string]string{"clientId": awslogin.SameDevice, "grantType": "authorization_code", "code": c,
				"redirectUri": "http://127.0.0.1:43211/oauth/callback", "codeVerifier": v}
		}},
	} {
		c, v, r := f.code("alice", "alice password", "")
		from := len(f.events())
		a, _ := awslogin.Token(f.srv.URL, tc.body(c, v, r), f.key.Proof("POST", signinPublic+"/v1/token", f.clock.Now(), nil))
		f.refused(tc.id, a, 400, "INVALID_REQUEST", from)
	}
	// TOKEN-07: a code older than 60 s.
	c, v, r := f.code("alice", "alice password", "")
	f.clock.Advance(61 * time.Second)
	from = len(f.events())
	f.refused("TOKEN-07 expired code", f.redeem(c, v, r, f.key), 401, "AUTHCODE_EXPIRED", from)

	// TOKEN-08: 20 concurrent redemptions of one code. The replays prove
	// the code leaked, so the session it started ends (RFC 6749 section
	// 4.1.2): at most one 200, and its refresh token is then refused.
	c, v, r = f.code("alice", "alice password", "")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refresh := 0, ""
	for range 20 {
		wg.Go(func() {
			a, err := awslogin.Token(f.srv.URL, map[string]string{"clientId": awslogin.SameDevice, "grantType": "authorization_code", "code": c,
				"redirectUri": r, "codeVerifier": v}, f.key.Proof("POST", signinPublic+"/v1/token", f.clock.Now(), nil))
			if err == nil && a.Status == 200 {
				f.note(a)
				t, _ := a.Tokens()
				mu.Lock()
				ok, refresh = ok+1, t.RefreshToken
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok > 1 {
		t.Errorf("TOKEN-08: %d of 20 concurrent redemptions succeeded", ok)
	}
	if refresh != "" {
		if a := f.refresh(refresh, f.key, nil); a.Status == 200 {
			t.Errorf("TOKEN-08: the session of a replayed code still refreshes")
		}
	}
}

// The sign-in pages' rows: CSRF, open redirects, session fixation,
// framing, uniform failures, parallel guessing, permission.
func TestLoginPageRows(t *testing.T) {
	f := newLoginFixture(t)

	// SIGNIN-08 framing: every page forbids it.
	p, _ := f.browser.Get("/signin")
	if p.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(p.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("SIGNIN-08: headers %v", p.Header)
	}

	// AUTHZ-10 login CSRF: a sign-in posted without the page's nonce.
	from := len(f.events())
	p, _ = awslogin.NewBrowser(f.srv.URL).Post("/signin", url.Values{"account": {"111122223333"}, "username": {"alice"},
		"password": {"alice password"}})
	if p.Status != 403 || p.Header.Get("Set-Cookie") != "" {
		t.Errorf("AUTHZ-10 sign-in without the form's nonce: %d %v", p.Status, p.Header)
	}
	if evs := f.eventsSince(from); len(evs) != 1 || evs[0].EventName != "ConsoleLogin" || evs[0].ErrorCode != "AccessDenied" {
		t.Errorf("AUTHZ-10: events %+v", evs)
	}

	// SIGNIN-09 open redirect: next is never an absolute URL.
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "/v1/authorize?x#@evil.example"} {
		b := awslogin.NewBrowser(f.srv.URL)
		p, err := b.SignIn("111122223333", "alice", "alice password", "", next)
		if err != nil || p.Status != 303 || p.Location != "/signin/sessions" {
			t.Errorf("SIGNIN-09 next %q: %d %q", next, p.Status, p.Location)
		}
	}

	// SIGNIN-10 session fixation: the attacker's own valid cookie, planted
	// in the victim's browser, is replaced at sign-in and forgotten.
	attacker := awslogin.NewBrowser(f.srv.URL)
	if p, err := attacker.SignIn("111122223333", "carol", "carol password", "", ""); err != nil || p.Status != 303 {
		t.Fatalf("carol signs in: %d %v", p.Status, err)
	}
	u, _ := url.Parse(f.srv.URL)
	planted := attacker.Client.Jar.Cookies(u)
	victim := awslogin.NewBrowser(f.srv.URL)
	victim.Client.Jar.SetCookies(u, planted)
	if p, err := victim.SignIn("111122223333", "alice", "alice password", "", ""); err != nil || p.Status != 303 {
		t.Fatalf("alice signs in: %d %v", p.Status, err)
	}
	if got := cookieValue(victim, u); got == "" || got == cookieValue(attacker, u) {
		t.Errorf("SIGNIN-10: the session cookie was not replaced at sign-in")
	}
	if p, _ := attacker.Get("/signin/sessions"); p.Status != 303 || strings.Contains(p.Body, "alice") {
		t.Errorf("SIGNIN-10: the planted cookie still shows a session: %d", p.Status)
	}

	if p, err := attacker.SignIn("111122223333", "carol", "carol password", "", ""); err != nil || p.Status != 303 {
		t.Fatalf("carol signs in again: %d %v", p.Status, err)
	}

	// AUTHZ-10 consent CSRF: another browser's token, and none.
	authz, _, _, _ := f.authorize(awslogin.SameDevice)
	consent, _ := victim.Get(authz)
	for _, token := range []string{"", attackerToken(t, attacker, authz)} {
		from := len(f.events())
		form := url.Values{"request": {consent.Field("request")}, "csrf": {token}, "session": {sessionID(consent)}, "decision": {"allow"}}
		p, _ := victim.Post("/signin/authorize", form)
		if p.Status != 403 || p.Location != "" || strings.Contains(p.Body, "code=") {
			t.Errorf("AUTHZ-10 consent with token %q: %d %q", token, p.Status, p.Location)
		}
		if evs := f.eventsSince(from); len(evs) != 1 || evs[0].EventName != "AuthorizeOAuth2Access" || evs[0].AdditionalEventData["success"] != "false" {
			t.Errorf("AUTHZ-10 consent: events %+v", evs)
		}
	}

	// INSUFFICIENT_PERMISSIONS: carol lacks signin:AuthorizeOAuth2Access.
	from = len(f.events())
	p, _ = attacker.Get(authz)
	p, _ = attacker.Consent(p, "allow")
	if p.Status != 403 || p.Location != "" {
		t.Errorf("carol's consent: %d %q", p.Status, p.Location)
	}
	if evs := f.eventsSince(from); len(evs) != 1 || evs[0].ErrorCode != "AccessDenied" {
		t.Errorf("carol's consent: events %+v", evs)
	}

	// SIGNIN-01/02: uniform failures; SIGNIN-06 parallel guessing stops at
	// the per-user limit (3), the right password too, until the window ends.
	var msgs sync.Map
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	from = len(f.events())
	for i := range 12 {
		wg.Go(func() {
			user, pw := "bob", "guess"
			if i%2 == 1 {
				user = "nobody"
			}
			p, err := awslogin.NewBrowser(f.srv.URL).SignIn("111122223333", user, pw, "123456", "")
			if err != nil {
				return
			}
			msgs.Store(errorMessage(p.Body), true)
			mu.Lock()
			statuses[p.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	n := 0
	msgs.Range(func(any, any) bool { n++; return true })
	if n != 1 || statuses[403] != 12 {
		t.Errorf("SIGNIN-01/02: %d different messages, statuses %v", n, statuses)
	}
	if evs := f.eventsSince(from); len(evs) != 12 {
		t.Errorf("SIGNIN-06: %d events for 12 attempts", len(evs))
	} else {
		locked := 0
		for _, e := range evs {
			if e.AdditionalEventData["reason"] == "signin_locked_out" {
				locked++
			}
		}
		if locked != 6 { // bob: 3 evaluated, 3 locked out; nobody: the same
			t.Errorf("SIGNIN-06: %d of 12 locked out, want 6", locked)
		}
	}
	right := awslogin.NewBrowser(f.srv.URL)
	if p, _ := right.SignIn("111122223333", "bob", "bob password", f.harness.code(bobSeed, 0), ""); p.Status != 403 {
		t.Errorf("SIGNIN-06: bob's right password while locked out: %d", p.Status)
	}
	f.clock.Advance(15 * time.Minute)
	if p, _ := right.SignIn("111122223333", "bob", "bob password", f.harness.code(bobSeed, 0), ""); p.Status != 303 {
		t.Errorf("SIGNIN-06: bob's right password in the next window: %d %s", p.Status, errorMessage(p.Body))
	}

	// SIGNIN-11: TOTP guessing in parallel with the right password gets
	// no more codes evaluated than the per-user limit either.
	f.clock.Advance(15 * time.Minute)
	from = len(f.events())
	var codes sync.WaitGroup
	for i := range 10 {
		codes.Go(func() {
			_, _ = awslogin.NewBrowser(f.srv.URL).SignIn("111122223333", "bob", "bob password", fmt.Sprintf("%06d", i), "")
		})
	}
	codes.Wait()
	reasons := map[string]int{}
	for _, e := range f.eventsSince(from) {
		reasons[e.AdditionalEventData["reason"]]++
	}
	if reasons["signin_mfa_code_invalid"] > 3 || reasons["signin_locked_out"] < 7 || reasons[""] != 0 {
		t.Errorf("SIGNIN-11: 10 parallel codes with a limit of 3: %v", reasons)
	}
}

func cookieValue(b *awslogin.Browser, u *url.URL) string {
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == "keyless-session" {
			return c.Value
		}
	}
	return ""
}

// attackerToken is the consent form token of the attacker's own browser.
func attackerToken(t *testing.T, b *awslogin.Browser, authz string) string {
	p, err := b.Get(authz)
	if err != nil || p.Field("csrf") == "" {
		t.Fatalf("the attacker's consent page: %v %d", err, p.Status)
	}
	return p.Field("csrf")
}

func sessionID(p awslogin.Page) string {
	i := strings.Index(p.Body, `name="session" id="as-`)
	if i < 0 {
		return ""
	}
	rest := p.Body[i:]
	j := strings.Index(rest, `value="`) + len(`value="`)
	return rest[j : j+strings.IndexByte(rest[j:], '"')]
}

func errorMessage(body string) string {
	i := strings.Index(body, `id="error-message"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	rest = rest[strings.IndexByte(rest, '>')+1:]
	return rest[:strings.IndexByte(rest, '<')]
}

// A person who signed in is accountable: their consents do not spend the
// source's budget of refused requests (a limit of 5 here), while
// failed sign-ins still do.
func TestLoginPagesAccountable(t *testing.T) {
	f := newLoginFixture(t)
	f.bootWith(nil, func(cfg *config.Config) { cfg.Refused.PerSecond, cfg.Refused.Burst = 0.001, 5 })
	f.browser = awslogin.NewBrowser(f.srv.URL)
	for i := range 10 {
		code, _, _ := f.code("alice", "alice password", "")
		if code == "" {
			t.Fatalf("consent %d: no code", i)
		}
	}
	throttled := 0
	for range 8 {
		p, _ := awslogin.NewBrowser(f.srv.URL).SignIn("111122223333", "nobody", "guess", "", "")
		if p.Status == 400 || p.Status == 429 || strings.Contains(p.Body, "Throttling") {
			throttled++
		}
	}
	if throttled == 0 {
		t.Errorf("8 failed sign-ins over a budget of 5 were never throttled")
	}
}

// The sessions page: two identities in one browser, switched, one signed
// out, the credentials page of the other (usable), then all signed out;
// a form of another browser changes nothing.
func TestSessionsPage(t *testing.T) {
	f := newLoginFixture(t)
	noteSecret("alice password", "bob password", "carol password")
	b := f.browser
	for _, u := range []struct{ name, pw, code string }{{"alice", "alice password", ""}, {"bob", "bob password", f.harness.code(bobSeed, 0)}} {
		if p, err := b.SignIn("111122223333", u.name, u.pw, u.code, ""); err != nil || p.Status != 303 {
			t.Fatalf("%s signs in: %d %v", u.name, p.Status, err)
		}
	}
	page, _ := b.Get("/signin/sessions")
	ids := sessionIDs(page.Body)
	if len(ids) != 2 || !strings.Contains(page.Body, "user/engineering/bob") {
		t.Fatalf("sessions page: %d sessions\n%s", len(ids), page.Body)
	}
	form := func(action, id string) url.Values {
		return url.Values{"csrf": {page.Field("csrf")}, "session": {id}, "action": {action}}
	}
	// ids[0] is bob (the last sign-in), ids[1] alice: switch to alice.
	if p, _ := b.Post("/signin/sessions", form("switch", ids[1])); p.Status != 303 {
		t.Errorf("switch: %d", p.Status)
	}
	if page, _ = b.Get("/signin/sessions"); sessionIDs(page.Body)[0] != ids[1] {
		t.Errorf("after switching, the current session is not alice's")
	}
	// Another browser's form token is refused.
	other := awslogin.NewBrowser(f.srv.URL)
	if p, _ := other.SignIn("111122223333", "carol", "carol password", "", ""); p.Status != 303 {
		t.Fatal("carol signs in")
	}
	op, _ := other.Get("/signin/sessions")
	if p, _ := b.Post("/signin/sessions", url.Values{"csrf": {op.Field("csrf")}, "session": {ids[0]}, "action": {"signout"}}); p.Status != 403 {
		t.Errorf("a form token of another browser: %d", p.Status)
	}
	// Credentials of alice's session, then sign bob out.
	p, _ := b.Post("/signin/sessions", form("credentials", ids[1]))
	key, sec, tok := awslogin.Between(p.Body, `id="access-key-id">`, "<"), awslogin.Between(p.Body, `id="secret-access-key">`, "<"), awslogin.Between(p.Body, `id="session-token" class="token">`, "<")
	noteSecret(html.UnescapeString(sec), html.UnescapeString(tok))
	if r := f.call(creds{key, html.UnescapeString(sec), html.UnescapeString(tok)}, "GetCallerIdentity", ""); r.status != 200 || !strings.Contains(r.body, "user/alice") {
		t.Errorf("the credentials page's credentials: %d %s", r.status, r.body)
	}
	if p, _ := b.Post("/signin/sessions", form("signout", ids[0])); p.Status != 303 || p.Location != "/signin/sessions" {
		t.Errorf("sign out bob: %d %q", p.Status, p.Location)
	}
	if page, _ = b.Get("/signin/sessions"); len(sessionIDs(page.Body)) != 1 || strings.Contains(page.Body, "engineering/bob") {
		t.Errorf("after signing bob out:\n%s", page.Body)
	}
	if p, _ := b.Post("/signin/sessions", form("signout", "")); p.Status != 303 || p.Location != "/signin" {
		t.Errorf("sign out of all: %d %q", p.Status, p.Location)
	}
	if p, _ := b.Get("/signin/sessions"); p.Status != 303 {
		t.Errorf("the sessions page after signing out of all: %d", p.Status)
	}
	names := map[string]int{}
	for _, e := range f.events() {
		names[e.EventName]++
	}
	if names["SwitchSession"] != 1 || names["SignOut"] != 2 || names["GetSignInCredentials"] != 1 {
		t.Errorf("events: %v", names)
	}
}

func sessionIDs(body string) []string {
	var out []string
	for rest := body; ; {
		i := strings.Index(rest, `<li class="session`)
		if i < 0 {
			return out
		}
		rest = rest[i:]
		out = append(out, awslogin.Between(rest, `id="session-`, `"`))
		rest = rest[1:]
	}
}

// A changed password ends the user's aws login sessions at their next
// refresh (USER_CREDENTIALS_CHANGED, 403), and so does removing the
// permission (INSUFFICIENT_PERMISSIONS).
func TestLoginEndsOnPasswordChange(t *testing.T) {
	f := newLoginFixture(t)
	code, verifier, redirect := f.code("alice", "alice password", "")
	toks, err := f.redeem(code, verifier, redirect, f.key).Tokens()
	if err != nil {
		t.Fatal(err)
	}
	// Reloaded with bob's hash as alice's: her password changed.
	f.boot(func(c string) string {
		return strings.Replace(c, "$argon2id$v=19$m=8192,t=1,p=1$AlaTLuWl2JJT9yeIdOWvqw$4QZtzAiI+R8IEHTxk/FDtjqWEo0slRd8lpYX+JbCJoU",
			"$argon2id$v=19$m=8192,t=1,p=1$SgLlZRxsiuQXP2aKy9BOXw$2XsoHJPMmxTAu4ad3bplSUZntKvenIqdZNYN4cKn65o", 1)
	})
	from := len(f.events())
	f.refused("password changed", f.refresh(toks.RefreshToken, f.key, nil), 403, "USER_CREDENTIALS_CHANGED", from)

	f.boot(nil)
	f.browser = awslogin.NewBrowser(f.srv.URL)
	code, verifier, redirect = f.code("alice", "alice password", "")
	if toks, err = f.redeem(code, verifier, redirect, f.key).Tokens(); err != nil {
		t.Fatal(err)
	}
	f.boot(func(c string) string {
		return strings.Replace(c, "managed_policies: [arn:aws:iam::111122223333:policy/SignInLocalDevelopmentAccess]\n      - name: bob", "\n      - name: bob", 1)
	})
	from = len(f.events())
	f.refused("permission removed", f.refresh(toks.RefreshToken, f.key, nil), 403, "INSUFFICIENT_PERMISSIONS", from)
}

// SIGNIN-12: a failed sign-in's event names the user only when the name
// is a user's (a password typed into the user name field stays out of
// the trail), and never the password.
func TestSignInAuditNames(t *testing.T) {
	f := newLoginFixture(t)
	noteSecret("alice password", "not-a-user-but-a-password")
	for _, tc := range []struct{ user, want string }{
		{"alice", "alice"},
		{"not-a-user-but-a-password", "HIDDEN_DUE_TO_SECURITY_REASONS"},
	} {
		from := len(f.events())
		p, _ := awslogin.NewBrowser(f.srv.URL).SignIn("111122223333", tc.user, "wrong", "", "")
		evs := f.eventsSince(from)
		if p.Status != 403 || len(evs) != 1 || evs[0].UserIdentity.UserName != tc.want || evs[0].ErrorCode != "AccessDenied" {
			t.Errorf("user %q: %d %+v", tc.user, p.Status, evs)
		}
	}
}
