package samlsignin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/saml"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sts"
)

const (
	base = "https://keyless.example.com"
	// testAssertion stands for a SAMLResponse: distinctive, so a leak
	// into a page, an event or a log is found by a substring search.
	testAssertion = "PHNhbWxwOlJlc3BvbnNlIExFQUtDQU5BUlk9MTIzNDU2Nzg5MA=="
	testSecret    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRETKEY1"
	testToken     = "SessionTokenCanary_abcdefghijklmnopqrstuvwxyz-0123456789"
	testKeyID     = "ASIAIOSFODNN7EXAMPLE"

	roleAdmin  = "arn:aws:iam::123456789012:role/saml-admin"
	roleReader = "arn:aws:iam::123456789012:role/team/saml-reader"
	roleOther  = "arn:aws:iam::210987654321:role/ops"
	provider   = "arn:aws:iam::123456789012:saml-provider/corp-idp"
	provider2  = "arn:aws:iam::210987654321:saml-provider/corp-idp"
)

var start = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// fakeService records what the handler asks the domain and answers with
// what the test set.
type fakeService struct {
	mu       sync.Mutex
	rolesReq []sts.SAMLRolesRequest
	assume   []sts.SAMLRequest
	offer    sts.SAMLOffer
	offerErr error
	result   sts.SAMLResult
	err      error
	panics   bool
}

func (f *fakeService) SAMLRoles(_ context.Context, req sts.SAMLRolesRequest) (sts.SAMLOffer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rolesReq = append(f.rolesReq, req)
	if f.panics {
		panic("fake service panic")
	}
	return f.offer, f.offerErr
}

func (f *fakeService) SignInWithSAML(ctx context.Context, req sts.SAMLRequest) (sts.SAMLResult, sts.RoleSignIn, error) {
	res, err := f.assumeRoleWithSAML(ctx, req)
	return res, sts.RoleSignIn{}, err
}

func (f *fakeService) assumeRoleWithSAML(_ context.Context, req sts.SAMLRequest) (sts.SAMLResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assume = append(f.assume, req)
	return f.result, f.err
}

func (f *fakeService) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.rolesReq) + len(f.assume)
}

// recorder keeps the events as audit.Encode writes them.
type recorder struct {
	mu     sync.Mutex
	events []*audit.Event
	lines  []string
	begun  int
	err    error
}

func (r *recorder) Begin() {
	r.mu.Lock()
	r.begun++
	r.mu.Unlock()
}

func (r *recorder) Record(_ context.Context, ev *audit.Event, _ time.Time, begun bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !begun {
		return errors.New("Record without Begin")
	}
	r.events = append(r.events, ev)
	r.lines = append(r.lines, string(audit.Encode(ev)))
	return r.err
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

type fixture struct {
	h    *Handler
	srv  http.Handler // the surface mounted on an edge
	svc  *fakeService
	rec  *recorder
	logs *bytes.Buffer
}

// mount serves h's surface behind an edge, as the app does.
func mount(t *testing.T, h *Handler, rec audit.Recorder, log *slog.Logger) http.Handler {
	t.Helper()
	e := edge.New(edge.Options{Audit: rec, Clock: clock.NewFake(start), Random: rand.Reader, Logger: log})
	r, err := e.Mount(h.Surface())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{svc: &fakeService{}, rec: &recorder{}, logs: &bytes.Buffer{}}
	f.svc.offer = sts.SAMLOffer{Subject: "alice", Issuer: "https://idp.example.com/metadata", Provider: provider,
		Roles:   []saml.RolePair{{Role: roleAdmin, Provider: provider}, {Role: roleOther, Provider: provider2}, {Role: roleReader, Provider: provider}},
		Expires: start.Add(5 * time.Minute)}
	f.svc.result = sts.SAMLResult{
		AssumeRoleResult: sts.AssumeRoleResult{
			Credentials: sts.Credentials{AccessKeyID: testKeyID, Secret: secret.NewString(testSecret),
				SessionToken: secret.NewString(testToken), Expiration: start.Add(time.Hour).In(time.FixedZone("X", 3600))},
			AssumedRoleARN: "arn:aws:sts::123456789012:assumed-role/saml-admin/alice",
			AssumedRoleID:  "AROAEXAMPLEROLEID0001:alice",
			SourceIdentity: "alice-src",
		},
		Subject: "alice", SubjectType: "persistent", Issuer: "https://idp.example.com/metadata",
		Audience: base + "/saml", NameQualifier: "SbdGOnUkh1i4+EXAMPLExL/jEvs=", Provider: provider,
		AssertionID: "_a1b2c3", Tags: []credential.Tag{{Key: "team", Value: "blue", Transitive: true}, {Key: "cost", Value: "42"}},
	}
	f.h = New(Options{Service: f.svc, BaseURL: base + "/", Regions: []string{"us-east-1", "us-west-2"}})
	f.srv = mount(t, f.h, f.rec, slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	return f
}

func (f *fixture) do(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	checkHeaders(t, req.Method+" "+req.URL.Path, w)
	return w
}

func (f *fixture) get(t *testing.T, path string) *httptest.ResponseRecorder {
	t.Helper()
	return f.do(t, httptest.NewRequest(http.MethodGet, path, nil))
}

// post posts a form; a role choice comes, as from the chooser, with the
// chooser's nonce in the form and in its cookie.
func (f *fixture) post(t *testing.T, path string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var cookie string
	if _, chosen := form["role"]; chosen && !form.Has("signin") {
		form = maps.Clone(form)
		form.Set("signin", "chooser-nonce")
		cookie = nonceCookie + "=chooser-nonce"
	}
	return f.postCookie(t, path, form, cookie)
}

func (f *fixture) postCookie(t *testing.T, path string, form url.Values, cookie string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = "198.51.100.7:51234"
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return f.do(t, req)
}

// A role is chosen only from a chooser this browser was shown: a
// cross-site form posting SAMLResponse and role together (login CSRF) has
// no SameSite cookie, or not the nonce of its form (security review).
func TestChoiceNeedsTheChooser(t *testing.T) {
	f := newFixture(t)
	w := f.post(t, "/saml", url.Values{"SAMLResponse": {testAssertion}})
	var nonce *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == nonceCookie {
			nonce = c
		}
	}
	if w.Code != 200 || nonce == nil || !nonce.HttpOnly || nonce.SameSite != http.SameSiteStrictMode || len(nonce.Value) != 32 ||
		!strings.Contains(w.Body.String(), `name="signin" value="`+nonce.Value+`"`) {
		t.Fatalf("chooser: %d cookie %+v", w.Code, nonce)
	}
	choice := url.Values{"SAMLResponse": {testAssertion}, "role": {roleAdmin + "," + provider}, "signin": {nonce.Value}}
	for name, cookie := range map[string]string{"no cookie": "", "another nonce": nonceCookie + "=" + strings.Repeat("0", 32)} {
		w := f.postCookie(t, "/saml", choice, cookie)
		if w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "secret-access-key") {
			t.Errorf("%s: %d", name, w.Code)
		}
	}
	if w := f.postCookie(t, "/saml", choice, nonceCookie+"="+nonce.Value); w.Code != 200 || !strings.Contains(w.Body.String(), `id="secret-access-key"`) {
		t.Fatalf("with the chooser's cookie: %d", w.Code)
	}
}

// checkHeaders asserts the headers every response carries.
func checkHeaders(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	want := map[string]string{
		"Cache-Control":           "no-store",
		"Pragma":                  "no-cache",
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(w.Header().Get("x-amzn-RequestId")) {
		t.Errorf("%s: x-amzn-RequestId = %q, want a UUID", what, w.Header().Get("x-amzn-RequestId"))
	}
}

// noLeak fails if any secret of the fixture is in s.
func noLeak(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{testAssertion, testSecret, testToken, "LEAKCANARY", "TEFLQ0FOQVJZ"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains the secret %q:\n%s", what, secret, s)
		}
	}
}

// TestServes: the surface's patterns take the sign-in paths and no
// others; everything else reaches the surface at "/" (STS).
func TestServes(t *testing.T) {
	f := newFixture(t)
	e := edge.New(edge.Options{Audit: f.rec, Clock: clock.NewFake(start), Random: rand.Reader, Logger: slog.New(slog.DiscardHandler)})
	root := &edge.Surface{Name: "root", Routes: []edge.Route{{Pattern: "/", Plain: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})}}}
	r, err := e.Mount(f.h.Surface(), root)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		"/saml": true, "/us-west-2/saml": true, "/eu-north-9/saml": true, "/saml/metadata.xml": true,
		"/saml/static/signin.js": true, "/saml/static/signin.css": true,
		"/": false, "//saml": false, "/saml/": false, "/a/b/saml": false, "/saml/static/other.js": false, "/samlx": false, "/x/samlx": false,
		"/./saml": false, "/x/../saml": false,
	} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path}, Header: http.Header{}, RemoteAddr: "192.0.2.1:1"})
		if got := w.Code != http.StatusTeapot; got != want {
			t.Errorf("%s served by the sign-in surface: %v, want %v (status %d)", path, got, want, w.Code)
		}
	}
}

func TestRoutesAndMethods(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		method, path string
		status       int
		ctype, allow string
		contains     string
	}{
		{"GET", "/saml", 200, "text/html; charset=utf-8", "", "start from your identity provider"},
		{"HEAD", "/saml", 200, "text/html; charset=utf-8", "", ""},
		{"GET", "/us-west-2/saml", 200, "text/html; charset=utf-8", "", base + "/us-west-2/saml"},
		{"GET", "/us-east-1/saml", 200, "text/html; charset=utf-8", "", base + "/us-east-1/saml"},
		{"GET", "/eu-north-9/saml", 404, "text/html; charset=utf-8", "", "NotFound"},
		{"GET", "/saml/metadata.xml", 200, "application/samlmetadata+xml", "", "EntityDescriptor"},
		{"GET", "/saml/static/signin.js", 200, "text/javascript; charset=utf-8", "", "addEventListener"},
		{"GET", "/saml/static/signin.css", 200, "text/css; charset=utf-8", "", "font-family"},
		{"PUT", "/saml", 405, "text/html; charset=utf-8", "GET, HEAD, POST", "MethodNotAllowed"},
		{"DELETE", "/us-west-2/saml", 405, "text/html; charset=utf-8", "GET, HEAD, POST", "MethodNotAllowed"},
		{"OPTIONS", "/saml/metadata.xml", 405, "text/html; charset=utf-8", "GET, HEAD", "MethodNotAllowed"},
		{"PUT", "/eu-north-9/saml", 404, "text/html; charset=utf-8", "", "NotFound"},
	} {
		w := f.do(t, httptest.NewRequest(c.method, c.path, nil))
		what := c.method + " " + c.path
		if w.Code != c.status {
			t.Errorf("%s: status %d, want %d", what, w.Code, c.status)
		}
		if got := w.Header().Get("Content-Type"); got != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", what, got, c.ctype)
		}
		if got := w.Header().Get("Allow"); got != c.allow {
			t.Errorf("%s: Allow %q, want %q", what, got, c.allow)
		}
		if !strings.Contains(w.Body.String(), c.contains) {
			t.Errorf("%s: body does not contain %q:\n%s", what, c.contains, w.Body.String())
		}
	}
	if f.rec.count() != 0 || f.svc.calls() != 0 {
		t.Errorf("GET, HEAD and refused methods recorded %d events and made %d domain calls, want none", f.rec.count(), f.svc.calls())
	}
	// Pages link the static files by root-relative path, so they pass
	// the CSP's 'self'.
	body := f.get(t, "/us-west-2/saml").Body.String()
	for _, s := range []string{`<link rel="stylesheet" href="/saml/static/signin.css">`, `<script src="/saml/static/signin.js" defer></script>`} {
		if !strings.Contains(body, s) {
			t.Errorf("landing page lacks %s:\n%s", s, body)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "style=") || strings.Contains(body, "onclick") {
		t.Errorf("landing page has inline script or style:\n%s", body)
	}
}

func TestPostToUnknownRegionIs404(t *testing.T) {
	f := newFixture(t)
	w := f.post(t, "/eu-north-9/saml", url.Values{"SAMLResponse": {testAssertion}})
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "NotFound") {
		t.Errorf("status %d, body:\n%s", w.Code, w.Body.String())
	}
	if f.svc.calls() != 0 {
		t.Errorf("the domain was asked %d times for an unknown region", f.svc.calls())
	}
	if n := f.rec.count(); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
	if ev := f.rec.events[0]; ev.ErrorCode != "NotFound" || ev.AdditionalEventData["reason"] != "path_not_found" {
		t.Errorf("event %s", f.rec.lines[0])
	}
}

// radios returns the chooser's radio inputs, as written.
func radios(body string) []string {
	return regexp.MustCompile(`<input type="radio"[^>]*>`).FindAllString(body, -1)
}

func TestChooser(t *testing.T) {
	for _, c := range []struct {
		path, recipient, region string
	}{
		{"/saml", base + "/saml", "us-east-1"},
		{"/us-west-2/saml", base + "/us-west-2/saml", "us-west-2"},
	} {
		f := newFixture(t)
		w := f.post(t, c.path, url.Values{"SAMLResponse": {testAssertion}, "RelayState": {"https://console/ignored"}})
		body := w.Body.String()
		if w.Code != 200 || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("%s: status %d %q:\n%s", c.path, w.Code, w.Header().Get("Content-Type"), body)
		}
		if len(f.svc.rolesReq) != 1 || len(f.svc.assume) != 0 {
			t.Fatalf("%s: domain calls: %d SAMLRoles, %d AssumeRoleWithSAML; want 1, 0", c.path, len(f.svc.rolesReq), len(f.svc.assume))
		}
		got := f.svc.rolesReq[0]
		if got.Assertion.Reveal() != testAssertion || got.Recipient != c.recipient {
			t.Errorf("%s: SAMLRoles got recipient %q and an assertion equal to the posted one: %v; want %q", c.path, got.Recipient,
				got.Assertion.Reveal() == testAssertion, c.recipient)
		}
		// Grouped by account, in the assertion's order: 123456789012's
		// two roles, then 210987654321's.
		i1, i2 := strings.Index(body, `<span class="account-id">123456789012</span>`), strings.Index(body, `<span class="account-id">210987654321</span>`)
		r1, r2, r3 := strings.Index(body, html.EscapeString(roleAdmin+","+provider)), strings.Index(body, html.EscapeString(roleReader+","+provider)),
			strings.Index(body, html.EscapeString(roleOther+","+provider2))
		if i1 < 0 || i2 < 0 || r1 < 0 || r2 < 0 || r3 < 0 || !(i1 < r1 && r1 < r2 && r2 < i2 && i2 < r3) {
			t.Errorf("%s: roles not grouped by account (%d %d %d %d %d):\n%s", c.path, i1, r1, r2, i2, r3, body)
		}
		rs := radios(body)
		if len(rs) != 3 {
			t.Fatalf("%s: %d radio buttons, want 3:\n%s", c.path, len(rs), body)
		}
		for _, r := range rs {
			if strings.Contains(r, "checked") || !strings.Contains(r, `name="role"`) || !strings.Contains(r, "required") {
				t.Errorf("%s: radio %s: want name=role, required, not preselected among several", c.path, r)
			}
		}
		if !strings.Contains(body, `<input type="hidden" name="SAMLResponse" value="`+html.EscapeString(testAssertion)+`">`) {
			t.Errorf("%s: no hidden SAMLResponse field with the posted value:\n%s", c.path, body)
		}
		if !strings.Contains(body, `<form id="chooser" method="post">`) || !strings.Contains(body, `<button type="submit" id="sign-in">Sign in</button>`) {
			t.Errorf("%s: no form posting back to the page with a Sign in button:\n%s", c.path, body)
		}
		if strings.Contains(body, "RelayState") || strings.Contains(body, "https://console/ignored") {
			t.Errorf("%s: RelayState is carried into the page", c.path)
		}
		if !strings.Contains(body, `<strong id="subject">alice</strong>`) {
			t.Errorf("%s: subject missing:\n%s", c.path, body)
		}
		if ev := f.rec.events[0]; ev.AWSRegion != c.region || ev.RequestParameters["recipient"] != c.recipient {
			t.Errorf("%s: event %s", c.path, f.rec.lines[0])
		}
	}
}

func TestChooserPreselectsASingleRole(t *testing.T) {
	f := newFixture(t)
	f.svc.offer.Roles = []saml.RolePair{{Role: roleAdmin, Provider: provider}, {Role: roleAdmin, Provider: provider}}
	w := f.post(t, "/saml", url.Values{"SAMLResponse": {testAssertion}})
	rs := radios(w.Body.String())
	if w.Code != 200 || len(rs) != 1 || !strings.Contains(rs[0], " checked") ||
		!strings.Contains(rs[0], `value="`+html.EscapeString(roleAdmin+","+provider)+`"`) {
		t.Errorf("status %d, radios %q; want the one (deduplicated) role preselected", w.Code, rs)
	}
}

func TestChooserEscapes(t *testing.T) {
	f := newFixture(t)
	hostileRole := `arn:aws:iam::123456789012:role/x"><script>alert(1)</script>`
	f.svc.offer.Subject = `<script>alert("subject")</script>`
	f.svc.offer.Roles = []saml.RolePair{{Role: hostileRole, Provider: provider}, {Role: roleAdmin, Provider: `arn:aws:iam::1:saml-provider/'onmouseover='x`}}
	w := f.post(t, "/saml", url.Values{"SAMLResponse": {testAssertion}})
	body := w.Body.String()
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, `"><script>`) || strings.Contains(body, `'onmouseover='`) {
		t.Errorf("hostile values are not escaped:\n%s", body)
	}
	if !strings.Contains(body, "&lt;script&gt;alert(&#34;subject&#34;)&lt;/script&gt;") {
		t.Errorf("the subject is not shown escaped:\n%s", body)
	}
	if !strings.Contains(body, `value="`+html.EscapeString(hostileRole+","+provider)+`"`) &&
		!strings.Contains(body, `value="arn:aws:iam::123456789012:role/x&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;,`+provider+`"`) {
		t.Errorf("the hostile pair is not the escaped radio value:\n%s", body)
	}
}

func TestNoRolesOffered(t *testing.T) {
	f := newFixture(t)
	f.svc.offer.Roles = nil
	w := f.post(t, "/saml", url.Values{"SAMLResponse": {testAssertion}})
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "AccessDenied") || len(radios(w.Body.String())) != 0 {
		t.Errorf("status %d:\n%s", w.Code, w.Body.String())
	}
	if f.rec.events[0].AdditionalEventData["reason"] != "no_roles" {
		t.Errorf("event %s", f.rec.lines[0])
	}
}

func TestPairPassedThrough(t *testing.T) {
	for _, c := range []struct{ path, recipient, region string }{
		{"/saml", base + "/saml", "us-east-1"},
		{"/us-west-2/saml", base + "/us-west-2/saml", "us-west-2"},
	} {
		f := newFixture(t)
		// The base64 arrives broken into lines (RFC 2045).
		wrapped := testAssertion[:20] + "\r\n" + testAssertion[20:]
		w := f.post(t, c.path, url.Values{"SAMLResponse": {wrapped}, "role": {roleReader + "," + provider}})
		if w.Code != 200 {
			t.Fatalf("%s: status %d:\n%s", c.path, w.Code, w.Body.String())
		}
		if len(f.svc.assume) != 1 || len(f.svc.rolesReq) != 0 {
			t.Fatalf("%s: %d AssumeRoleWithSAML and %d SAMLRoles calls, want 1, 0", c.path, len(f.svc.assume), len(f.svc.rolesReq))
		}
		got := f.svc.assume[0]
		want := sts.SAMLRequest{RoleARN: roleReader, PrincipalARN: provider, Recipient: c.recipient,
			Origin: sts.Origin{SourceIP: "198.51.100.7", SecureTransport: false, Region: c.region}}
		if got.Assertion.Reveal() != testAssertion {
			t.Errorf("%s: the assertion passed on differs from the posted one (line breaks kept?)", c.path)
		}
		got.Assertion = secret.String{}
		if got.RoleARN != want.RoleARN || got.PrincipalARN != want.PrincipalARN || got.Recipient != want.Recipient || got.Origin != want.Origin ||
			got.Duration != 0 || got.Policy != "" || got.PolicyARNs != nil {
			t.Errorf("%s: AssumeRoleWithSAML got %+v, want %+v", c.path, got, want)
		}
	}
}

func TestMalformedRoleChoice(t *testing.T) {
	for _, role := range []string{"", roleAdmin, roleAdmin + "," + provider + "," + provider, provider + "," + roleAdmin,
		"arn:aws:iam::1:user/x," + provider, roleAdmin + "," + strings.Repeat("a", 3000)} {
		f := newFixture(t)
		w := f.post(t, "/saml", url.Values{"SAMLResponse": {testAssertion}, "role": {role}})
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "ValidationError") || f.svc.calls() != 0 {
			t.Errorf("role %.60q: status %d, %d domain calls; want 400 ValidationError and none", role, w.Code, f.svc.calls())
		}
		if f.rec.count() != 1 || f.rec.events[0].EventName != EventAssume {
			t.Errorf("role %.60q: events %q", role, f.rec.lines)
		}
	}
}

func TestCredentialsPage(t *testing.T) {
	f := newFixture(t)
	w := f.post(t, "/us-west-2/saml", url.Values{"SAMLResponse": {testAssertion}, "role": {roleAdmin + "," + provider}})
	body := w.Body.String()
	if w.Code != 200 {
		t.Fatalf("status %d:\n%s", w.Code, body)
	}
	text := func(id string) string {
		m := regexp.MustCompile(`id="` + id + `"[^>]*>([^<]*)<`).FindStringSubmatch(body)
		if m == nil {
			t.Errorf("no element #%s:\n%s", id, body)
			return ""
		}
		return html.UnescapeString(m[1])
	}
	for id, want := range map[string]string{
		"access-key-id":     testKeyID,
		"secret-access-key": testSecret,
		"session-token":     testToken,
		"expiration":        "2026-05-01T13:00:00Z",
		"role-session-arn":  "arn:aws:sts::123456789012:assumed-role/saml-admin/alice",
		"region":            "us-west-2",
		"endpoint":          base,
		"env-bash": "export AWS_ACCESS_KEY_ID='" + testKeyID + "'\nexport AWS_SECRET_ACCESS_KEY='" + testSecret + "'\n" +
			"export AWS_SESSION_TOKEN='" + testToken + "'\nexport AWS_REGION='us-west-2'\nexport AWS_ENDPOINT_URL_STS='" + base + "'\n",
		"profile": "[keyless-saml-admin]\naws_access_key_id = " + testKeyID + "\naws_secret_access_key = " + testSecret +
			"\naws_session_token = " + testToken + "\n",
		"config": "[profile keyless-saml-admin]\nregion = us-west-2\nservices = keyless-saml-admin\n\n" +
			"[services keyless-saml-admin]\nsts =\n  endpoint_url = " + base + "\n",
		"env-powershell": "$Env:AWS_ACCESS_KEY_ID='" + testKeyID + "'\n$Env:AWS_SECRET_ACCESS_KEY='" + testSecret + "'\n" +
			"$Env:AWS_SESSION_TOKEN='" + testToken + "'\n$Env:AWS_REGION='us-west-2'\n$Env:AWS_ENDPOINT_URL_STS='" + base + "'\n",
	} {
		if got := text(id); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	for _, id := range []string{"env-bash", "profile", "config", "env-powershell"} {
		if !strings.Contains(body, `<button type="button" class="copy" data-copy="`+id+`">Copy</button>`) {
			t.Errorf("no Copy button for #%s", id)
		}
	}
	if strings.Contains(body, testAssertion) || strings.Contains(body, `name="SAMLResponse"`) {
		t.Errorf("the credentials page carries the assertion")
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "style=") || strings.Contains(body, "onclick") {
		t.Errorf("inline script or style:\n%s", body)
	}
}

func TestCredentialsPageRefusesUnprintableValues(t *testing.T) {
	f := newFixture(t)
	f.svc.result.Credentials.SessionToken = secret.NewString("tok\nexport EVIL=1")
	w := f.post(t, "/saml", url.Values{"SAMLResponse": {testAssertion}, "role": {roleAdmin + "," + provider}})
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "EVIL") || strings.Contains(w.Body.String(), testSecret) {
		t.Errorf("status %d:\n%s", w.Code, w.Body.String())
	}
	if ev := f.rec.events[0]; ev.ResponseElements != nil || ev.IssuedKeyID != "" || ev.ErrorCode != "InternalFailure" {
		t.Errorf("a refused page's event still names the credentials: %s", f.rec.lines[0])
	}
}

func TestBodyLimit(t *testing.T) {
	f := newFixture(t)
	big := "SAMLResponse=" + strings.Repeat("A", MaxBody)
	for _, chunked := range []bool{false, true} {
		req := httptest.NewRequest(http.MethodPost, "/saml", strings.NewReader(big))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if chunked {
			req.ContentLength = -1
		}
		w := f.do(t, req)
		if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "RequestEntityTooLarge") {
			t.Errorf("chunked %v: status %d", chunked, w.Code)
		}
		noLeak(t, "the 413 page", w.Body.String())
	}
	// Just within the body limit, but over the assertion's 100,000.
	w := f.post(t, "/saml", url.Values{"SAMLResponse": {strings.Repeat("A", 100001)}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "ValidationError") {
		t.Errorf("a 100,001-character SAMLResponse: status %d", w.Code)
	}
	if f.svc.calls() != 0 {
		t.Errorf("oversized posts reached the domain (%d calls)", f.svc.calls())
	}
	if f.rec.count() != 3 {
		t.Errorf("%d events for 3 posts", f.rec.count())
	}
}

func TestFormChecks(t *testing.T) {
	for _, c := range []struct {
		name, ctype, body string
		status            int
		code, reason      string
	}{
		{"text/plain", "text/plain", "SAMLResponse=" + testAssertion, 415, "UnsupportedMediaType", "content_type"},
		{"multipart", "multipart/form-data; boundary=x", "SAMLResponse=" + testAssertion, 415, "UnsupportedMediaType", "content_type"},
		{"no content type", "", "SAMLResponse=" + testAssertion, 415, "UnsupportedMediaType", "content_type"},
		{"json", "application/json", `{"SAMLResponse":"` + testAssertion + `"}`, 415, "UnsupportedMediaType", "content_type"},
		{"repeated", "application/x-www-form-urlencoded", "SAMLResponse=" + testAssertion + "&SAMLResponse=" + testAssertion, 400, "ValidationError", "parameter_repeated"},
		{"repeated role", "application/x-www-form-urlencoded", "SAMLResponse=" + testAssertion + "&role=a&role=b", 400, "ValidationError", "parameter_repeated"},
		{"bad escape", "application/x-www-form-urlencoded", "SAMLResponse=" + testAssertion + "%zz", 400, "ValidationError", "form_malformed"},
		{"missing", "application/x-www-form-urlencoded", "RelayState=x", 400, "ValidationError", "assertion_missing"},
		{"charset param", "application/x-www-form-urlencoded; charset=UTF-8", "SAMLResponse=" + testAssertion, 200, "", ""},
	} {
		f := newFixture(t)
		req := httptest.NewRequest(http.MethodPost, "/saml", strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		w := f.do(t, req)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.code) {
			t.Errorf("%s: status %d, want %d %s:\n%s", c.name, w.Code, c.status, c.code, w.Body.String())
		}
		if c.status != 200 {
			noLeak(t, c.name+": the error page", w.Body.String())
			if f.svc.calls() != 0 {
				t.Errorf("%s: the domain was called", c.name)
			}
		}
		if f.rec.count() != 1 || f.rec.events[0].AdditionalEventData["reason"] != c.reason && c.reason != "" {
			t.Errorf("%s: events %q, want one with reason %s", c.name, f.rec.lines, c.reason)
		}
	}
}

func TestDomainErrorsPage(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{&sts.Error{Code: sts.InvalidIdentityToken, Msg: saml.MsgSignatureInvalid, Reason: "signature_invalid"}, 400, "InvalidIdentityToken"},
		{&sts.Error{Code: sts.ExpiredIdentityToken, Msg: saml.MsgExpired, Reason: "confirmation_expired"}, 400, "ExpiredTokenException"},
		{&sts.Error{Code: sts.AccessDenied, Msg: "Not authorized to perform sts:AssumeRoleWithSAML", Reason: "trust_policy"}, 403, "AccessDenied"},
		{&sts.Error{Code: sts.ServiceUnavailable, Msg: "Service is temporarily unavailable. Please try again.", Reason: "store_down",
			Cause: errors.New("disk on fire")}, 503, "ServiceUnavailable"},
		{errors.New("unexpected " + testAssertion), 500, "InternalFailure"},
	} {
		for _, step := range []string{"roles", "assume"} {
			f := newFixture(t)
			form := url.Values{"SAMLResponse": {testAssertion}}
			if step == "assume" {
				f.svc.err = c.err
				form.Set("role", roleAdmin+","+provider)
			} else {
				f.svc.offerErr = c.err
			}
			w := f.post(t, "/saml", form)
			body := w.Body.String()
			d := c.code + " " + step
			if w.Code != c.status {
				t.Errorf("%s: status %d, want %d", d, w.Code, c.status)
			}
			if !strings.Contains(body, `<span id="error-code">`+c.code+`</span>`) {
				t.Errorf("%s: no error code on the page:\n%s", d, body)
			}
			reqID := w.Header().Get("x-amzn-RequestId")
			if !strings.Contains(body, `<span id="request-id">`+reqID+`</span>`) {
				t.Errorf("%s: the page does not show the request id %s", d, reqID)
			}
			if strings.Contains(body, "secret-access-key") || strings.Contains(body, `name="role"`) {
				t.Errorf("%s: an error page shows credentials or a chooser", d)
			}
			noLeak(t, d+": the error page", body)
			if f.rec.count() != 1 {
				t.Fatalf("%s: %d events", d, f.rec.count())
			}
			if ev := f.rec.events[0]; ev.ErrorCode != c.code || ev.RequestID != reqID || ev.ResponseElements != nil {
				t.Errorf("%s: event %s", d, f.rec.lines[0])
			}
		}
	}
}

func TestAuditFailureRefuses(t *testing.T) {
	f := newFixture(t)
	f.rec.err = errors.New("audit store down")
	w := f.post(t, "/saml", url.Values{"SAMLResponse": {testAssertion}, "role": {roleAdmin + "," + provider}})
	body := w.Body.String()
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(body, "ServiceUnavailable") {
		t.Errorf("status %d:\n%s", w.Code, body)
	}
	if strings.Contains(body, testKeyID) || strings.Contains(body, testSecret) || strings.Contains(body, testToken) {
		t.Errorf("credentials handed out without an audit record:\n%s", body)
	}
}

func TestPanicIsAuditedAndAnswered500(t *testing.T) {
	f := newFixture(t)
	f.svc.panics = true
	w := f.post(t, "/saml", url.Values{"SAMLResponse": {testAssertion}})
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "InternalFailure") {
		t.Errorf("status %d:\n%s", w.Code, w.Body.String())
	}
	if f.rec.count() != 1 || f.rec.events[0].ErrorCode != "InternalFailure" || f.rec.events[0].AdditionalEventData["reason"] != "panic" {
		t.Errorf("events %q", f.rec.lines)
	}
}

// TestAuditOneEventPerPostWithoutSecrets posts every kind of form and
// checks that each records exactly one event, and that neither the
// events nor the logs hold the assertion, the secret or the token.
func TestAuditOneEventPerPostWithoutSecrets(t *testing.T) {
	f := newFixture(t)
	posts := []struct {
		path string
		form url.Values
		prep func()
	}{
		{"/saml", url.Values{"SAMLResponse": {testAssertion}}, nil},
		{"/us-west-2/saml", url.Values{"SAMLResponse": {testAssertion}, "role": {roleAdmin + "," + provider}}, nil},
		{"/saml", url.Values{"SAMLResponse": {testAssertion}, "role": {roleAdmin + "," + provider}},
			func() { f.svc.err = &sts.Error{Code: sts.AccessDenied, Msg: "Not authorized", Reason: "trust"} }},
		{"/saml", url.Values{"SAMLResponse": {testAssertion}},
			func() {
				f.svc.offerErr = &sts.Error{Code: sts.ServiceUnavailable, Msg: "x", Reason: "y", Cause: errors.New("cause")}
			}},
		{"/nowhere-1/saml", url.Values{"SAMLResponse": {testAssertion}}, nil},
		{"/saml/metadata.xml", url.Values{"SAMLResponse": {testAssertion}}, nil},
		{"/saml", url.Values{"SAMLResponse": {testAssertion}, "role": {"garbage"}}, nil},
	}
	for i, p := range posts {
		if p.prep != nil {
			p.prep()
		}
		f.post(t, p.path, p.form)
		if n := f.rec.count(); n != i+1 {
			t.Fatalf("after post %d (%s): %d events", i+1, p.path, n)
		}
	}
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	if f.rec.begun != len(posts) {
		t.Errorf("Begin called %d times for %d posts", f.rec.begun, len(posts))
	}
	ids := map[string]bool{}
	for i, line := range f.rec.lines {
		noLeak(t, "audit event "+line, line)
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("event %d is not JSON: %v", i, err)
		}
		ids[ev["eventID"].(string)] = true
	}
	if len(ids) != len(posts) {
		t.Errorf("%d distinct event ids for %d events", len(ids), len(posts))
	}
	noLeak(t, "the log", f.logs.String())
	if !strings.Contains(f.logs.String(), "cause") {
		t.Errorf("the 503's cause is not logged: %s", f.logs.String())
	}

	// The listing.
	var roles map[string]any
	_ = json.Unmarshal([]byte(f.rec.lines[0]), &roles)
	if roles["eventSource"] != "keyless" || roles["eventName"] != EventRoles || roles["readOnly"] != true ||
		roles["recipientAccountId"] != "123456789012" {
		t.Errorf("listing event %s", f.rec.lines[0])
	}
	if ui := roles["userIdentity"].(map[string]any); ui["type"] != "SAMLUser" || ui["userName"] != "alice" {
		t.Errorf("listing userIdentity %v", ui)
	}
	if rp := roles["requestParameters"].(map[string]any); len(rp) != 1 || rp["recipient"] != base+"/saml" {
		t.Errorf("listing requestParameters %v", rp)
	}
	if re := roles["responseElements"].(map[string]any); len(re["roles"].([]any)) != 3 {
		t.Errorf("listing responseElements %v", re)
	}

	// The sign-in, as CloudTrail records AssumeRoleWithSAML.
	ev := f.rec.events[1]
	if ev.EventSource != "sts.amazonaws.com" || ev.EventName != "AssumeRoleWithSAML" || ev.ReadOnly || !ev.ManagementEvent ||
		ev.AWSRegion != "us-west-2" || ev.SourceIPAddress != "198.51.100.7" || ev.IssuedKeyID != testKeyID || ev.RecipientAccountID != "123456789012" {
		t.Errorf("sign-in event %s", f.rec.lines[1])
	}
	wantUser := audit.UserIdentity{Type: "SAMLUser", PrincipalID: "SbdGOnUkh1i4+EXAMPLExL/jEvs=:alice", UserName: "alice",
		IdentityProvider: "SbdGOnUkh1i4+EXAMPLExL/jEvs="}
	if ev.UserIdentity != wantUser {
		t.Errorf("sign-in userIdentity %+v, want %+v", ev.UserIdentity, wantUser)
	}
	var signIn struct {
		RequestParameters map[string]any `json:"requestParameters"`
		ResponseElements  map[string]any `json:"responseElements"`
	}
	_ = json.Unmarshal([]byte(f.rec.lines[1]), &signIn)
	rp := signIn.RequestParameters
	if rp["roleArn"] != roleAdmin || rp["principalArn"] != provider || rp["sAMLAssertionID"] != "_a1b2c3" || rp["durationSeconds"] != nil {
		t.Errorf("sign-in requestParameters %v", rp)
	}
	if tags := rp["principalTags"].(map[string]any); tags["team"] != "blue" || tags["cost"] != "42" ||
		!slices.Equal(rp["transitiveTagKeys"].([]any), []any{"team"}) {
		t.Errorf("sign-in tags %v", rp)
	}
	re := signIn.ResponseElements
	creds := re["credentials"].(map[string]any)
	if len(creds) != 2 || creds["accessKeyId"] != testKeyID || creds["expiration"] != "2026-05-01T13:00:00Z" {
		t.Errorf("sign-in credentials element %v, want accessKeyId and expiration only", creds)
	}
	for k, v := range map[string]string{"subject": "alice", "subjectType": "persistent", "issuer": "https://idp.example.com/metadata",
		"audience": base + "/saml", "nameQualifier": "SbdGOnUkh1i4+EXAMPLExL/jEvs=", "sourceIdentity": "alice-src"} {
		if re[k] != v {
			t.Errorf("sign-in responseElements.%s = %v, want %q", k, re[k], v)
		}
	}
	if aru := re["assumedRoleUser"].(map[string]any); aru["arn"] != "arn:aws:sts::123456789012:assumed-role/saml-admin/alice" {
		t.Errorf("assumedRoleUser %v", aru)
	}

	// A refused sign-in keeps the identity, not the credentials.
	if ev := f.rec.events[2]; ev.ErrorCode != "AccessDenied" || ev.ResponseElements != nil || ev.IssuedKeyID != "" || ev.UserIdentity.Type != "SAMLUser" {
		t.Errorf("refused sign-in event %s", f.rec.lines[2])
	}
	if ev := f.rec.events[5]; ev.ErrorCode != "MethodNotAllowed" {
		t.Errorf("POST to the metadata: event %s", f.rec.lines[5])
	}
}

func TestBasePathPrefix(t *testing.T) {
	svc := &fakeService{offer: sts.SAMLOffer{Subject: "a", Roles: []saml.RolePair{{Role: roleAdmin, Provider: provider}}}}
	h := New(Options{Service: svc, BaseURL: "https://proxy.example.com/keyless", Regions: []string{"eu-west-1"}, Region: "eu-west-1"})
	req := httptest.NewRequest(http.MethodPost, "/saml", strings.NewReader("SAMLResponse="+testAssertion))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	mount(t, h, &recorder{}, slog.New(slog.NewTextHandler(io.Discard, nil))).ServeHTTP(w, req)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `href="/keyless/saml/static/signin.css"`) {
		t.Errorf("status %d; the static files are not under the base URL's path:\n%s", w.Code, w.Body.String())
	}
	if svc.rolesReq[0].Recipient != "https://proxy.example.com/keyless/saml" {
		t.Errorf("recipient %q", svc.rolesReq[0].Recipient)
	}
}
