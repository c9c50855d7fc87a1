package e2e

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Dex (github.com/dexidp/dex) is the OpenID Connect provider the
// web-identity tests trust: a real, independent issuer of RS256 ID tokens,
// built by scripts/test-deps.sh. Its users log in with the password grant,
// so a test gets a token without a browser.
const (
	dexVersion  = "v2.45.1"
	dexClientID = "keyless-e2e"
	dexPassword = "password"
	// dexPasswordHash is bcrypt("password"), cost 10, from Dex's example
	// configuration (no bcrypt tool is installed here to make another).
	dexPasswordHash = "$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W"
	// dexConnector is the id of Dex's password database connector, part of
	// every subject it issues for these users.
	dexConnector = "local"
)

// dexUser is one of Dex's static password users; all have dexPassword.
type dexUser struct{ Email, Username, UserID string }

var dexUsers = []dexUser{
	{"alice@example.com", "alice", "4a0b2c6e-3f1d-4e7a-9b8c-a11ce0000001"},
	{"bob@example.com", "bob", "7d5e1f2a-6c3b-4d9e-8f0a-b0b000000002"},
}

// dexBinary returns the Dex binary path (env KEYLESS_DEX overrides the
// cache path scripts/test-deps.sh builds it at); under CI=true a missing
// binary is t.Fatal, otherwise t.Skip.
func dexBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("KEYLESS_DEX")
	if path == "" {
		// The script's ${XDG_CACHE_HOME:-$HOME/.cache}; os.UserCacheDir
		// differs from it outside Linux.
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				missing(t, "there is no home directory to find Dex in: "+err.Error())
			}
			cache = filepath.Join(home, ".cache")
		}
		path = filepath.Join(cache, "keyless", "dex-"+dexVersion, "dex")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, path, "version").CombinedOutput(); err != nil {
		why := err.Error()
		if out := strings.TrimSpace(string(out)); out != "" {
			why += ": " + out
		}
		missing(t, fmt.Sprintf("Dex %s does not run at %s (%s); scripts/test-deps.sh builds it", dexVersion, path, why))
	}
	return path
}

// dexServer is a running Dex process.
type dexServer struct {
	Issuer, ClientID, ClientSecret string
	// From the discovery document.
	TokenEndpoint, JWKSURI string

	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has been waited for
	waitErr error
	logPath string
	// redirects are more redirect URIs of the client.
	redirects []string
}

// errDexPortTaken is a start that failed because another process bound
// one of the ports between their choice and Dex's start.
var errDexPortTaken = errors.New("a port chosen for Dex was taken")

// startDex starts Dex on free 127.0.0.1 ports (web, gRPC, telemetry), with
// memory storage, the password grant, one static client (dexClientID, a
// random secret) and the static password users dexUsers, ID tokens valid
// for an hour. It returns once the discovery document is served, and stops
// Dex when the test ends; Dex's log is printed if the test failed.
func startDex(t *testing.T) *dexServer { return startDexWith(t) }

// startDexWith starts Dex with more redirect URIs for its client (a
// relying party's callback).
func startDexWith(t *testing.T, redirects ...string) *dexServer {
	t.Helper()
	bin := dexBinary(t)
	// Free ports are found by closing a listener on port 0, so another
	// process can take one before Dex binds it: Dex then exits at once,
	// and other ports are tried.
	for attempt := 1; ; attempt++ {
		d, err := launchDex(t, bin, redirects)
		if err == nil {
			return d
		}
		if !errors.Is(err, errDexPortTaken) || attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("%v; trying other ports", err)
	}
}

func launchDex(t *testing.T, bin string, redirects []string) (*dexServer, error) {
	t.Helper()
	dir := t.TempDir()
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	web, grpc, telemetry := freePort(t), freePort(t), freePort(t)
	d := &dexServer{
		Issuer:       "http://" + web + "/dex",
		ClientID:     dexClientID,
		ClientSecret: hex.EncodeToString(secret),
		exited:       make(chan struct{}),
		redirects:    redirects,
		logPath:      filepath.Join(dir, "dex.log"),
	}
	config := filepath.Join(dir, "dex.yaml")
	if err := os.WriteFile(config, []byte(d.config(web, grpc, telemetry)), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // Dex has its own descriptor once started
	d.cmd = exec.Command(bin, "serve", config)
	d.cmd.Dir = dir
	// Nothing of the user's environment: Dex reads DEX_* variables.
	d.cmd.Env = []string{"HOME=" + dir}
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting Dex: %v", err)
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		d.stop(t)
		if t.Failed() {
			t.Logf("Dex's log (%s):\n%s", d.logPath, d.log())
		}
	})

	discovery := d.Issuer + "/.well-known/openid-configuration"
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-d.exited:
			log := d.log()
			if strings.Contains(log, "address already in use") {
				return nil, fmt.Errorf("%w: %s", errDexPortTaken, lastLine(log))
			}
			return nil, fmt.Errorf("Dex exited before serving %s: %v\n%s", discovery, d.waitErr, log)
		default:
		}
		doc, err := getDiscovery(client, discovery)
		if err == nil {
			if doc.Issuer != d.Issuer {
				t.Fatalf("Dex's discovery document names issuer %q, not %q", doc.Issuer, d.Issuer)
			}
			if !slices.Contains(doc.GrantTypes, "password") {
				t.Fatalf("Dex does not offer the password grant: %v", doc.GrantTypes)
			}
			if doc.TokenEndpoint == "" || doc.JWKSURI == "" {
				t.Fatalf("Dex's discovery document has no token_endpoint or jwks_uri: %+v", doc)
			}
			d.TokenEndpoint, d.JWKSURI = doc.TokenEndpoint, doc.JWKSURI
			return d, nil
		}
		if time.Now().After(deadline) {
			t.Fatalf("Dex did not serve %s within a minute: %v", discovery, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// config is Dex's configuration file. Every value is a plain YAML scalar
// (quoted where it holds $), so it is written without a YAML library.
func (d *dexServer) config(web, grpc, telemetry string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `issuer: %s
storage:
  type: memory
web:
  http: %s
grpc:
  addr: %s
telemetry:
  http: %s
oauth2:
  skipApprovalScreen: true
  passwordConnector: local
expiry:
  idTokens: 1h
staticClients:
- id: %s
  name: keyless end-to-end tests
  secret: %s
  redirectURIs:
  - http://127.0.0.1/callback
`, d.Issuer, web, grpc, telemetry, d.ClientID, d.ClientSecret)
	for _, r := range d.redirects {
		fmt.Fprintf(&b, "  - %s\n", r)
	}
	b.WriteString("enablePasswordDB: true\nstaticPasswords:\n")
	for _, u := range dexUsers {
		fmt.Fprintf(&b, "- email: %s\n  username: %s\n  userID: %s\n  hash: %q\n", u.Email, u.Username, u.UserID, dexPasswordHash)
	}
	return b.String()
}

// stop sends SIGTERM, and kills Dex if it is still running 10s later.
func (d *dexServer) stop(t *testing.T) {
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
		t.Logf("Dex did not stop on SIGTERM and was killed")
	}
}

func (d *dexServer) log() string {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(b)
}

// idToken obtains an ID token for a user via the password grant (scope
// "openid email profile") with client basic auth, and returns the raw JWT;
// t.Fatal on any error, so it is for the test's own goroutine.
func (d *dexServer) idToken(t *testing.T, email string) string {
	t.Helper()
	form := url.Values{
		"grant_type": {"password"},
		"username":   {email},
		"password":   {dexPassword},
		"scope":      {"openid email profile"},
	}
	req, err := http.NewRequest(http.MethodPost, d.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// RFC 6749 section 2.3.1: form-encoded, then basic auth (Dex decodes).
	req.SetBasicAuth(url.QueryEscape(d.ClientID), url.QueryEscape(d.ClientSecret))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("Dex token request for %s: %v", email, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("Dex token response for %s: %v", email, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Dex token request for %s: %s: %s", email, resp.Status, body)
	}
	var tok struct {
		IDToken   string `json:"id_token"`
		TokenType string `json:"token_type"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatalf("Dex token response for %s: %v: %s", email, err, body)
	}
	if strings.Count(tok.IDToken, ".") != 2 {
		t.Fatalf("Dex's token response for %s has no ID token (a JWS in compact form): %s", email, body)
	}
	return tok.IDToken
}

// dexSubject is the "sub" Dex gives a user of a connector: the
// protobuf-encoded IDTokenSubject{user_id, conn_id}, base64url without
// padding.
func dexSubject(userID, connector string) string {
	var b []byte
	b = append(b, 0x0a, byte(len(userID))) // field 1, length-delimited
	b = append(b, userID...)
	b = append(b, 0x12, byte(len(connector))) // field 2, length-delimited
	b = append(b, connector...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// freePort is a loopback address that nothing listened on a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

type oidcDiscovery struct {
	Issuer        string   `json:"issuer"`
	TokenEndpoint string   `json:"token_endpoint"`
	JWKSURI       string   `json:"jwks_uri"`
	GrantTypes    []string `json:"grant_types_supported"`
}

func getDiscovery(client *http.Client, u string) (*oidcDiscovery, error) {
	body, err := getOK(client, u)
	if err != nil {
		return nil, err
	}
	var doc oidcDiscovery
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v: %s", u, err, body)
	}
	return &doc, nil
}

// getOK is the body of a GET that answered 200.
func getOK(client *http.Client, u string) ([]byte, error) {
	resp, err := client.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, body)
	}
	return body, nil
}

// TestDexIssuesTokens proves the harness: Dex's tokens are RS256 JWTs
// signed by a key of its JWKS, for the right issuer and audience, with a
// subject of their own per user, valid for the configured hour.
func TestDexIssuesTokens(t *testing.T) {
	d := startDex(t)
	keys := d.jwks(t)
	now := time.Now()
	subjects := map[string]string{}
	for _, u := range dexUsers {
		token := d.idToken(t, u.Email)
		var claims struct {
			Iss           string          `json:"iss"`
			Sub           string          `json:"sub"`
			Aud           json.RawMessage `json:"aud"`
			Exp           int64           `json:"exp"`
			Iat           int64           `json:"iat"`
			Email         string          `json:"email"`
			EmailVerified bool            `json:"email_verified"`
			Name          string          `json:"name"`
		}
		kid := verifyRS256(t, token, keys, &claims)
		t.Logf("%s: RS256 with key %s, sub %s, valid until %s", u.Email, kid, claims.Sub, time.Unix(claims.Exp, 0).UTC().Format(time.RFC3339))
		if claims.Iss != d.Issuer {
			t.Errorf("%s: iss = %q, want %q", u.Email, claims.Iss, d.Issuer)
		}
		if aud := audience(t, claims.Aud); !slices.Equal(aud, []string{d.ClientID}) {
			t.Errorf("%s: aud = %q, want [%q]", u.Email, aud, d.ClientID)
		}
		if want := dexSubject(u.UserID, dexConnector); claims.Sub != want {
			t.Errorf("%s: sub = %q, want %q", u.Email, claims.Sub, want)
		}
		if other, ok := subjects[claims.Sub]; ok || claims.Sub == "" {
			t.Errorf("%s: sub %q is empty or also %s's", u.Email, claims.Sub, other)
		}
		subjects[claims.Sub] = u.Email
		if exp := time.Unix(claims.Exp, 0); !exp.After(now) {
			t.Errorf("%s: exp %v is not after now (%v)", u.Email, exp, now)
		}
		if iat := time.Unix(claims.Iat, 0); iat.Before(now.Add(-time.Minute)) || iat.After(now.Add(time.Minute)) {
			t.Errorf("%s: iat %v is not about now (%v)", u.Email, iat, now)
		}
		if claims.Exp-claims.Iat != 3600 {
			t.Errorf("%s: the token is valid for %ds, want the configured hour", u.Email, claims.Exp-claims.Iat)
		}
		if claims.Email != u.Email || !claims.EmailVerified || claims.Name != u.Username {
			t.Errorf("%s: email %q (verified %v), name %q; want %q (verified), %q",
				u.Email, claims.Email, claims.EmailVerified, claims.Name, u.Email, u.Username)
		}
	}
}

// jwks fetches Dex's signing keys (jwks_uri), by key id.
func (d *dexServer) jwks(t *testing.T) map[string]*rsa.PublicKey {
	t.Helper()
	body, err := getOK(&http.Client{Timeout: 10 * time.Second}, d.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct{ Kty, Kid, Alg, Use, N, E string }
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("Dex's JWKS: %v: %s", err, body)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, errN := base64.RawURLEncoding.DecodeString(k.N)
		e, errE := base64.RawURLEncoding.DecodeString(k.E)
		if errN != nil || errE != nil || len(e) == 0 || len(e) > 4 {
			t.Fatalf("Dex's JWKS key %q has a malformed modulus or exponent: %s", k.Kid, body)
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	if len(keys) == 0 {
		t.Fatalf("Dex's JWKS has no RSA key: %s", body)
	}
	return keys
}

// verifyRS256 checks a JWT's RS256 signature against the key its header
// names, and decodes its payload into claims. It also checks that a
// changed payload fails the same verification. It returns the key id.
func verifyRS256(t *testing.T, token string, keys map[string]*rsa.PublicKey, claims any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", token)
	}
	var header struct{ Alg, Kid string }
	decodeSegment(t, parts[0], &header)
	if header.Alg != "RS256" {
		t.Fatalf("JWT alg = %q, want RS256", header.Alg)
	}
	key, ok := keys[header.Kid]
	if !ok {
		t.Fatalf("no JWKS key has the JWT's kid %q", header.Kid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatalf("JWT signature: %v", err)
	}
	signed := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, signed[:], sig); err != nil {
		t.Fatalf("the JWT's RS256 signature does not verify with JWKS key %q: %v", header.Kid, err)
	}
	forged := sha256.Sum256([]byte(parts[0] + "." + parts[1] + "e30"))
	if rsa.VerifyPKCS1v15(key, crypto.SHA256, forged[:], sig) == nil {
		t.Fatal("the signature check accepts a changed payload")
	}
	decodeSegment(t, parts[1], claims)
	return header.Kid
}

func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("JWT segment %q: %v", seg, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("JWT segment %s: %v", b, err)
	}
}

// audience is a JWT's aud, a string or an array of strings.
func audience(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		t.Fatalf("aud is neither a string nor an array of strings: %s", raw)
	}
	return many
}
