package oidcsignin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/awserrors"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/login"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/signin"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/sts"
)

// Paths.
const (
	PathStart    = "/signin/oidc/{name}"
	PathCallback = "/signin/oidc/callback"
	startPrefix  = "/signin/oidc/"
)

// Service is what the pages need of the domain: *sts.Service.
type Service interface {
	WebIdentityRoles(ctx context.Context, account string, token secret.String, sessionName string, origin sts.Origin) (sts.WebIdentityOffer, error)
	SignInWithWebIdentity(ctx context.Context, req sts.WebIdentityRequest) (sts.WebIdentityResult, sts.RoleSignIn, error)
}

// Provider is an OpenID Connect provider people sign in with.
type Provider struct {
	Name, DisplayName, Issuer, ClientID, Account string
	ClientSecret                                 secret.String
	Scopes                                       []string
}

// Options wire a Handler.
type Options struct {
	Service   Service
	Providers []Provider
	Sessions  *signin.Sessions
	Principal func(sts.RoleSignIn) (login.Principal, error)
	// Store keeps each started sign-in until its callback, at most
	// stateTTL.
	Store storage.Records
	// PublicURL is keyless's public URL; the redirect URI is
	// PublicURL+PathCallback.
	PublicURL, Region string
	Clock             clock.Clock
	Random            io.Reader
	// Client reaches the providers (discovery, keys, token endpoint):
	// bounded, and following no redirect.
	Client *http.Client
}

// Handler serves the routes.
type Handler struct {
	o      Options
	prefix string
	secure bool
	pages  *signin.Pages
	mu     sync.Mutex
	rps    map[string]*discovery
}

// discovery is a provider's discovered endpoints and keys, found once; a
// failure is kept for failureHold, so that a provider that is down is not
// asked again at every sign-in.
type discovery struct {
	mu       sync.Mutex // held while this provider is asked
	rp       *rp
	err      error
	failedAt time.Time
}

// failureHold is how long a failed discovery is answered from memory.
const failureHold = 5 * time.Second

// rp is a provider once discovered.
type rp struct {
	p        Provider
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// stateTTL bounds a sign-in's round trip through the provider.
const stateTTL = 10 * time.Minute

// stateCookie binds a started sign-in to the browser that started it
// (login CSRF): the callback's state must be the cookie's.
const stateCookie = "keyless-oidc-state"

// choice ties the role chooser to the page it was shown on.
var choice = signin.Choice{Cookie: "keyless-oidc-signin", Field: "signin"}

// New returns a Handler.
func New(o Options) *Handler {
	h := &Handler{o: o, rps: map[string]*discovery{}}
	if u, err := url.Parse(o.PublicURL); err == nil {
		h.prefix = strings.TrimRight(u.EscapedPath(), "/")
		h.secure = u.Scheme == "https"
	}
	h.pages = signin.NewPages("OpenID Connect sign-in", h.prefix+"/signin/static", nil)
	return h
}

// Surface mounts the start and callback routes. Every callback records
// one event, a refused one too.
func (h *Handler) Surface() *edge.Surface {
	login := &edge.Event{Source: "signin.amazonaws.com", Name: "ConsoleLogin", Category: "Management", Management: true, Region: h.o.Region, Params: true}
	return &edge.Surface{Name: "signin", Wire: signin.Wire{Pages: h.pages}, Routes: []edge.Route{
		// A start writes state: audited, so that a source starting sign-ins
		// it never finishes spends its budget of refused requests.
		{Pattern: PathStart, Handle: h.start, MaxBody: 1 << 10, Operation: "OIDCSignInStart",
			Event: &edge.Event{Source: "keyless", Name: "StartOIDCSignIn", Category: "Management", Management: true, Region: h.o.Region, Params: true}},
		{Pattern: PathCallback, Handle: h.callback, Event: login, MaxBody: 64 << 10, Operation: "OIDCSignInCallback"},
	}}
}

func unavailable(reason string, err error) *edge.Refusal {
	return &edge.Refusal{Code: "IDPCommunicationError", Message: "The identity provider could not be reached. Try again later.",
		Status: http.StatusServiceUnavailable, Reason: reason, Cause: err}
}

func denied(reason, msg string) *edge.Refusal {
	return awserrors.New("AccessDenied", http.StatusForbidden, reason, msg)
}

// discover finds a provider's endpoints and keys (OpenID Connect
// Discovery 1.0), once per provider, without holding up the others; a
// failure is retried after failureHold.
func (h *Handler) discover(ctx context.Context, name string) (*rp, error) {
	var p *Provider
	for i := range h.o.Providers {
		if h.o.Providers[i].Name == name {
			p = &h.o.Providers[i]
		}
	}
	if p == nil {
		return nil, errUnknown
	}
	h.mu.Lock()
	d := h.rps[name]
	if d == nil {
		d = &discovery{}
		h.rps[name] = d
	}
	h.mu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.rp != nil:
		return d.rp, nil
	case d.err != nil && h.o.Clock.Now().Sub(d.failedAt) < failureHold:
		return nil, d.err
	}
	cctx := oidc.ClientContext(context.WithoutCancel(ctx), h.o.Client)
	cctx, cancel := context.WithTimeout(cctx, 15*time.Second)
	defer cancel()
	disc, err := oidc.NewProvider(cctx, p.Issuer)
	if err != nil {
		d.err, d.failedAt = err, h.o.Clock.Now()
		return nil, err
	}
	d.rp = &rp{p: *p,
		oauth: &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret.Reveal(), Endpoint: disc.Endpoint(),
			RedirectURL: h.o.PublicURL + PathCallback, Scopes: append([]string{oidc.ScopeOpenID}, p.Scopes...)},
		verifier: disc.VerifierContext(oidc.ClientContext(context.Background(), h.o.Client),
			&oidc.Config{ClientID: p.ClientID, Now: h.o.Clock.Now}),
	}
	return d.rp, nil
}

var errUnknown = errors.New("no such provider")

// pending is a started sign-in, kept until its callback.
type pending struct {
	Provider string `json:"provider"`
	Verifier string `json:"verifier"` // PKCE (RFC 7636)
	Nonce    string `json:"nonce"`
	Next     string `json:"next"`
}

const kind = "signin-oidc"

func stateID(state string) string {
	sum := sha256.Sum256([]byte("keyless oidc state\x00" + state))
	return hex.EncodeToString(sum[:])
}

func (h *Handler) random() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(h.o.Random, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// start sends the browser to the provider: the authorization code flow
// with PKCE (S256), a state bound to this browser, and a nonce.
func (h *Handler) start(c *edge.Call) (any, error) {
	if m := c.Request.Method; m != http.MethodGet && m != http.MethodHead {
		return nil, signin.MethodNotAllowed("GET, HEAD")
	}
	name := c.Request.PathValue("name")
	r, err := h.discover(c.Context(), name)
	if errors.Is(err, errUnknown) {
		return nil, awserrors.New("NotFound", http.StatusNotFound, "provider_unknown", "There is no such sign-in provider.")
	} else if err != nil {
		return nil, unavailable("discovery_failed", err)
	}
	var p pending
	state, err := h.random()
	if err == nil {
		p.Verifier, err = h.random()
	}
	if err == nil {
		p.Nonce, err = h.random()
	}
	if err != nil {
		return nil, unavailable("random_failed", err)
	}
	p.Provider, p.Next = name, signin.Next(c.Request.URL.Query().Get("next"))
	c.Event.RequestParameters["provider"] = name
	data, _ := json.Marshal(p)
	now := h.o.Clock.Now()
	if err := h.o.Store.PutRecord(c.Context(), storage.Record{Kind: kind, ID: stateID(state), Data: data, Expires: now.Add(stateTTL), Version: 1}, now); err != nil {
		return nil, unavailable("state_not_stored", err)
	}
	cookie := &http.Cookie{Name: stateCookie, Value: state, Path: h.prefix + PathCallback, MaxAge: int(stateTTL / time.Second), HttpOnly: true,
		Secure: h.secure, SameSite: http.SameSiteLaxMode} // Lax: the provider's redirect back is a cross-site top-level GET
	return &signin.Redirect{URL: r.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(p.Verifier), oidc.Nonce(p.Nonce)),
		Cookies: []*http.Cookie{cookie}}, nil
}

// callback is the provider's redirect back (GET: the code) and the role
// choice (POST).
func (h *Handler) callback(c *edge.Call) (any, error) {
	switch c.Request.Method {
	case http.MethodGet:
		return h.redeem(c)
	case http.MethodPost:
		return h.choose(c)
	}
	return nil, signin.MethodNotAllowed("GET, POST")
}

// redeem checks the state against this browser's, spends it, redeems the
// code at the provider's token endpoint and verifies the ID token
// (OpenID Connect Core 3.1.3.7, the nonce included); then STS lists the
// roles whose trust policies admit the person.
func (h *Handler) redeem(c *edge.Call) (any, error) {
	ev := c.Event
	q := c.Request.URL.Query()
	state := q.Get("state")
	ck, err := c.Request.Cookie(stateCookie)
	if err != nil || state == "" || len(state) > 128 || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(state)) != 1 {
		return nil, denied("state_not_this_browsers", "This sign-in was not started in this browser. Start it again.")
	}
	var p pending
	if err := h.take(c, kind, stateID(state), &p); errors.Is(err, storage.ErrNotFound) {
		return nil, denied("state_unknown", "This sign-in has expired or was already completed. Start it again.")
	} else if err != nil {
		return nil, unavailable("state_unreadable", err)
	}
	ev.RequestParameters["provider"] = p.Provider
	if e := q.Get("error"); e != "" {
		return nil, denied("provider_refused", "The identity provider did not sign you in ("+visible(e, 64)+").")
	}
	r, err := h.discover(c.Context(), p.Provider)
	if err != nil {
		return nil, unavailable("discovery_failed", err)
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(c.Context(), h.o.Client), 15*time.Second)
	defer cancel()
	if code := q.Get("code"); code == "" || len(code) > 2048 {
		return nil, denied("code_invalid", "The identity provider sent no usable code. Start the sign-in again.")
	}
	tok, err := r.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.Verifier))
	if err != nil {
		if _, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
			return nil, denied("code_refused", "The identity provider refused the sign-in. Start it again.")
		}
		return nil, unavailable("token_endpoint_failed", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, denied("id_token_missing", "The identity provider sent no ID token.")
	}
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, denied("id_token_invalid", "The identity provider's ID token is not valid.")
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(p.Nonce)) != 1 {
		return nil, denied("nonce_mismatch", "The identity provider's ID token is not for this sign-in.")
	}
	name := sessionName(idt)
	ev.UserIdentity = webUser(r.p, idt.Subject)
	offer, err := h.o.Service.WebIdentityRoles(c.Context(), r.p.Account, secret.NewString(raw), name, c.Origin(h.o.Region))
	if err != nil {
		return nil, err
	}
	ev.ResponseElements = map[string]any{"roles": offer.Roles}
	if len(offer.Roles) == 0 {
		return nil, denied("no_roles", "No role of account "+r.p.Account+" trusts you. Ask for a role whose trust policy names "+offer.Provider+".")
	}
	roles := make([]signin.Role, len(offer.Roles))
	for i, a := range offer.Roles {
		roles[i] = signin.Role{ARN: a, Provider: offer.Provider}
	}
	groups, _ := signin.Chooser(roles)
	nonce, cookie, err := choice.New(c.Random(), h.secure)
	if err != nil {
		return nil, unavailable("random_failed", err)
	}
	// What the choice may not change is kept here, for this chooser
	// only: the provider, the session name, where to go next, and which
	// token it was (the token itself goes back through the page).
	data, _ := json.Marshal(chosen{Provider: p.Provider, SessionName: name, Next: p.Next, Token: tokenHash(raw)})
	now := h.o.Clock.Now()
	if err := h.o.Store.PutRecord(c.Context(), storage.Record{Kind: kindChoice, ID: stateID(nonce), Data: data, Expires: now.Add(stateTTL), Version: 1}, now); err != nil {
		return nil, unavailable("chooser_not_stored", err)
	}
	return &signin.Page{Name: "chooser", Title: "Select a role", Subject: idt.Subject + " (" + r.p.DisplayName + ")", Groups: groups,
		Hidden: []signin.Field{{Name: "id_token", Value: raw}}, Nonce: nonce, Cookies: []*http.Cookie{cookie}}, nil
}

// spent marks a record taken.
var spent = []byte(`"spent"`)

// take reads a started sign-in's or a chooser's record into v, once:
// the record is marked spent by compare-and-swap, so that of concurrent
// takers (on any node) one gets it and the others storage.ErrNotFound.
func (h *Handler) take(c *edge.Call, kind, id string, v any) error {
	now := h.o.Clock.Now()
	rec, err := h.o.Store.GetRecord(c.Context(), kind, id, now)
	if err != nil {
		return err
	}
	if bytes.Equal(rec.Data, spent) {
		return storage.ErrNotFound
	}
	data := rec.Data
	rec.Data, rec.Version = spent, rec.Version+1
	if err := h.o.Store.PutRecord(c.Context(), rec, now); errors.Is(err, storage.ErrConflict) {
		return storage.ErrNotFound
	} else if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// chosen is a shown chooser, kept until its choice.
type chosen struct {
	Provider    string `json:"provider"`
	SessionName string `json:"session_name"`
	Next        string `json:"next"`
	Token       string `json:"token"` // tokenHash of the ID token it was shown for
}

const kindChoice = "signin-oidc-choice"

func tokenHash(raw string) string {
	sum := sha256.Sum256([]byte("keyless oidc chooser token\x00" + raw))
	return hex.EncodeToString(sum[:])
}

// choose signs in to the chosen role (STS verifies the token again and
// decides the trust policy) and keeps the sign-in as a browser session.
func (h *Handler) choose(c *edge.Call) (any, error) {
	ev := c.Event
	ev.EventSource, ev.EventName = "sts.amazonaws.com", "AssumeRoleWithWebIdentity"
	form, err := signin.ReadForm(c, "id_token", "role", choice.Field)
	if err != nil {
		return nil, err
	}
	if !choice.Check(c.Request, form) {
		return nil, denied("chooser_not_shown", "Choose the role on the sign-in page. Start the sign-in again.")
	}
	// The chooser this browser was shown, once.
	var ch chosen
	if err := h.take(c, kindChoice, stateID(form.Get(choice.Field)), &ch); errors.Is(err, storage.ErrNotFound) {
		return nil, denied("chooser_unknown", "This sign-in has expired or was already completed. Start it again.")
	} else if err != nil {
		return nil, unavailable("chooser_unreadable", err)
	}
	raw := form.Get("id_token")
	if subtle.ConstantTimeCompare([]byte(tokenHash(raw)), []byte(ch.Token)) != 1 {
		return nil, denied("chooser_token_changed", "The sign-in's token was changed. Start it again.")
	}
	role, _, ok := strings.Cut(form.Get("role"), ",")
	if !ok || len(role) > 2048 {
		return nil, signin.Invalid("role_malformed", "The chosen role is not valid.")
	}
	ev.RequestParameters["roleArn"], ev.RequestParameters["roleSessionName"] = role, ch.SessionName
	var p *Provider
	for i := range h.o.Providers {
		if h.o.Providers[i].Name == ch.Provider {
			p = &h.o.Providers[i]
		}
	}
	if p == nil {
		return nil, denied("provider_unknown", "There is no such sign-in provider. Start the sign-in again.")
	}
	res, in, err := h.o.Service.SignInWithWebIdentity(c.Context(), sts.WebIdentityRequest{RoleARN: role, SessionName: ch.SessionName,
		Token: secret.NewString(raw), Origin: c.Origin(h.o.Region)})
	if res.Subject != "" {
		ev.UserIdentity = webUser(*p, res.Subject)
	}
	if err != nil {
		return nil, err
	}
	ev.IssuedKeyID = res.Credentials.AccessKeyID
	ev.ResponseElements = map[string]any{"assumedRoleUser": map[string]any{"arn": res.AssumedRoleARN, "assumedRoleId": res.AssumedRoleID},
		"credentials": map[string]any{"accessKeyId": res.Credentials.AccessKeyID}}
	principal, err := h.o.Principal(in)
	if err != nil {
		return nil, err
	}
	cookie, err := h.o.Sessions.Start(c, principal, "oidc", in.Ends.Sub(in.SignedInAt))
	if err != nil {
		return nil, unavailable("sessions_unavailable", err)
	}
	gone := &http.Cookie{Name: choice.Cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteStrictMode}
	return &signin.Redirect{URL: h.prefix + signin.Next(ch.Next), Cookies: []*http.Cookie{cookie, gone}}, nil
}

// webUser is the userIdentity of a person a provider signed in
// (CloudTrail's WebIdentityUser).
func webUser(p Provider, subject string) audit.UserIdentity {
	return audit.UserIdentity{Type: "WebIdentityUser", PrincipalID: p.Issuer + ":" + p.ClientID + ":" + subject, UserName: subject,
		IdentityProvider: strings.TrimPrefix(strings.TrimPrefix(p.Issuer, "https://"), "http://")}
}

// sessionName is the role session's name: the verified email if the
// provider gives one, else the subject, in the characters session names
// allow ([\w+=,.@-], 2 to 64).
func sessionName(idt *oidc.IDToken) string {
	var c struct {
		Email    string `json:"email"`
		Verified *bool  `json:"email_verified"`
	}
	_ = idt.Claims(&c)
	name := idt.Subject
	if c.Email != "" && (c.Verified == nil || *c.Verified) {
		name = c.Email
	}
	name = strings.Map(func(r rune) rune {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+=,.@-", r)) {
			return r
		}
		return '-'
	}, name)
	if len(name) > 64 {
		name = name[:64]
	}
	for len(name) < 2 {
		name += "-"
	}
	return name
}

// visible bounds an error code from the provider before it is shown.
func visible(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}
