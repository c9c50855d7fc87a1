package loginapitest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Client ids (signin-and-issuer.md section 1.2).
const (
	SameDevice  = "arn:aws:signin:::devtools/same-device"
	CrossDevice = "arn:aws:signin:::devtools/cross-device"
)

var b64 = base64.RawURLEncoding

// PKCE makes a verifier of 64 characters of [A-Za-z0-9-._~] and its
// challenge, base64url(SHA-256) without padding, as the CLI does.
func PKCE() (verifier, challenge string) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	sum := sha256.Sum256(b)
	return string(b), b64.EncodeToString(sum[:])
}

// UUID is a random version 4 UUID (the CLI's state and DPoP jti).
func UUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// AuthorizeURL is the URL the CLI opens, its parameters in the CLI's order.
func AuthorizeURL(base, client, redirect, state, challenge string) string {
	return base + "/v1/authorize?response_type=code&client_id=" + url.QueryEscape(client) + "&state=" + url.QueryEscape(state) +
		"&code_challenge_method=SHA-256&scope=openid&redirect_uri=" + url.QueryEscape(redirect) + "&code_challenge=" + challenge
}

// Key is a DPoP key.
type Key struct{ *ecdsa.PrivateKey }

// NewKey makes a P-256 DPoP key.
func NewKey() Key {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return Key{k}
}

// JWK is the key's public JWK; private adds d (a hostile proof).
func (k Key) JWK(private bool) map[string]string {
	pad := func(n *big.Int) string { return b64.EncodeToString(n.FillBytes(make([]byte, 32))) }
	j := map[string]string{"kty": "EC", "crv": "P-256", "x": pad(k.X), "y": pad(k.Y)}
	if private {
		j["d"] = pad(k.D)
	}
	return j
}

// Proof is a DPoP proof for method and htu at iat. edit may change the
// header and claims before signing (hostile proofs).
func (k Key) Proof(method, htu string, iat time.Time, edit func(header, claims map[string]any)) string {
	header := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.JWK(false)}
	claims := map[string]any{"htm": method, "htu": htu, "iat": iat.Unix(), "jti": UUID()}
	if edit != nil {
		edit(header, claims)
	}
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k.PrivateKey, sum[:])
	if err != nil {
		panic(err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return input + "." + b64.EncodeToString(sig)
}

// PEM is the key as the cache file keeps it: SEC1, "EC PRIVATE KEY".
func (k Key) PEM() string {
	der, err := x509.MarshalECPrivateKey(k.PrivateKey)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

// Answer is a token call's answer.
type Answer struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// Error is the error member of a refusal ("" on success).
func (a Answer) Error() string { s, _ := a.Body["error"].(string); return s }

// Tokens is a successful answer's content.
type Tokens struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	RefreshToken, IDToken                      string
	ExpiresIn                                  int
}

// Tokens reads a successful answer.
func (a Answer) Tokens() (Tokens, error) {
	var t struct {
		AccessToken           struct{ AccessKeyID, SecretAccessKey, SessionToken string }
		RefreshToken, IDToken string
		ExpiresIn             int
	}
	if err := json.Unmarshal([]byte(a.Raw), &t); err != nil || a.Status != 200 {
		return Tokens{}, fmt.Errorf("token call: %d %s", a.Status, a.Raw)
	}
	return Tokens{AccessKeyID: t.AccessToken.AccessKeyID, SecretAccessKey: t.AccessToken.SecretAccessKey, SessionToken: t.AccessToken.SessionToken,
		RefreshToken: t.RefreshToken, IDToken: t.IDToken, ExpiresIn: t.ExpiresIn}, nil
}

// Token posts body to base's /v1/token with the DPoP proof (none if "").
func Token(base string, body map[string]string, proof string) (Answer, error) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, base+"/v1/token", bytes.NewReader(raw))
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := Answer{Status: resp.StatusCode, Header: resp.Header, Raw: string(b)}
	_ = json.Unmarshal(b, &a.Body)
	return a, nil
}

// Subject is the idToken's sub, read unverified as the CLI does.
func Subject(idToken string) (string, error) {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return "", errors.New("idToken is not a JWS")
	}
	raw, err := b64.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var c struct{ Sub string }
	if err := json.Unmarshal(raw, &c); err != nil || len(strings.SplitN(c.Sub, ":", 6)) != 6 {
		return "", fmt.Errorf("idToken sub %q is not an ARN", c.Sub)
	}
	return c.Sub, nil
}

// WriteCache writes the cache file the CLI writes after a login (section
// 1.4) in dir, and returns its path.
func WriteCache(dir, session, client string, t Tokens, key Key, expires time.Time) (string, error) {
	account := strings.SplitN(session, ":", 6)[4]
	doc := map[string]any{
		"accessToken": map[string]string{"accessKeyId": t.AccessKeyID, "secretAccessKey": t.SecretAccessKey, "sessionToken": t.SessionToken,
			"accountId": account, "expiresAt": expires.UTC().Format(time.RFC3339)},
		"tokenType": "aws_sigv4", "clientId": client, "refreshToken": t.RefreshToken, "idToken": t.IDToken, "dpopKey": key.PEM(),
	}
	raw, _ := json.MarshalIndent(doc, "", "  ")
	sum := sha256.Sum256([]byte(strings.TrimSpace(session)))
	path := filepath.Join(dir, hex.EncodeToString(sum[:])+".json")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, raw, 0o600)
}

// Browser is a scripted person at a browser: a cookie jar, redirects
// followed by hand so that each can be checked.
type Browser struct {
	Base   string
	Client *http.Client
}

// NewBrowser returns a Browser for keyless at base.
func NewBrowser(base string) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{Base: base, Client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Page is a response read whole.
type Page struct {
	Status   int
	Location string
	Header   http.Header
	Body     string
}

// Field is the value of the named input of the page ("" if none).
func (p Page) Field(name string) string {
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `"[^>]*value="([^"]*)"`).FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// Get fetches u (absolute, or a path under Base).
func (b *Browser) Get(u string) (Page, error) { return b.do(http.MethodGet, u, nil) }

// Post posts form to u.
func (b *Browser) Post(u string, form url.Values) (Page, error) {
	return b.do(http.MethodPost, u, form)
}

func (b *Browser) do(method, u string, form url.Values) (Page, error) {
	if strings.HasPrefix(u, "/") {
		u = b.Base + u
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return Page{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return Page{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Header: resp.Header, Body: string(raw)}, nil
}

// SignIn signs in on the sign-in page (fetched first for its form).
func (b *Browser) SignIn(account, user, password, code, next string) (Page, error) {
	form, err := b.Get("/signin?next=" + url.QueryEscape(next))
	if err != nil {
		return Page{}, err
	}
	return b.Post("/signin", url.Values{"form": {form.Field("form")}, "next": {form.Field("next")}, "account": {account},
		"username": {user}, "password": {password}, "mfa_code": {code}})
}

// Login does the browser part of aws login for authorizeURL: signs in if
// asked to, and answers the consent page with decision ("allow" or
// "deny") for the first session. It returns the consent post's answer:
// a redirect to the loopback callback, or the confirmation page.
func (b *Browser) Login(authorizeURL, account, user, password, code, decision string) (Page, error) {
	p, err := b.Get(authorizeURL)
	if err != nil {
		return p, err
	}
	if p.Status == http.StatusSeeOther && strings.Contains(p.Location, "/signin?") {
		u, _ := url.Parse(p.Location)
		signed, err := b.SignIn(account, user, password, code, u.Query().Get("next"))
		if err != nil || signed.Status != http.StatusSeeOther {
			return signed, fmt.Errorf("sign-in: %d %v", signed.Status, err)
		}
		if p, err = b.Get(signed.Location); err != nil {
			return p, err
		}
	}
	if p.Status != http.StatusOK || p.Field("csrf") == "" {
		return p, fmt.Errorf("consent page: %d %s", p.Status, p.Body)
	}
	return b.Consent(p, decision)
}

// Consent posts the consent page's form with decision for its first
// session.
func (b *Browser) Consent(p Page, decision string) (Page, error) {
	m := regexp.MustCompile(`name="session" id="as-[^"]+" value="([^"]+)"`).FindStringSubmatch(p.Body)
	if m == nil {
		return p, errors.New("consent page lists no session")
	}
	return b.Post("/signin/authorize", url.Values{"request": {p.Field("request")}, "csrf": {p.Field("csrf")}, "session": {m[1]},
		"decision": {decision}})
}

// PastedCode reads the confirmation page's code as the CLI does: standard
// base64 of "state=…&code=…".
func PastedCode(p Page) (state, code string, err error) {
	m := regexp.MustCompile(`<pre id="code">([^<]+)</pre>`).FindStringSubmatch(p.Body)
	if m == nil {
		return "", "", errors.New("no code on the page")
	}
	raw, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		return "", "", err
	}
	q, err := url.ParseQuery(string(raw))
	return q.Get("state"), q.Get("code"), err
}

// Between is the text of s between the first from and the to after it
// ("" if there is no from).
func Between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	return s[:strings.Index(s, to)]
}
