package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	awslogin "github.com/keyless-dev/keyless/internal/loginapi/loginapitest"
)

// `aws login` end to end, against the real binary: a person signs in on
// keyless's pages in headless Chromium (password and TOTP, consent, the
// loopback callback; and --remote, reading the confirmation page), the
// test does what the CLI does with the code (test/internal/awslogin: the
// real CLI v2 cannot be installed here, docs/compatibility.md), and the
// unmodified SDKs refresh from the cache file it wrote: aws-sdk-go-v2
// (config.LoadDefaultConfig with login_session, the endpoint from a
// [services] section) and @aws-sdk/credential-provider-login, sharing
// the file. The credentials live 15 s and the session 60 s, so that the
// SDKs reach their refresh point, revocation ends one session and the
// cap ends the other within the test.

// Sign-in identities of the test's configuration (passwords hashed
// cheaply with `keyless password hash --memory 8192 --time 1 --threads 1`).
const (
	loginAlicePassword = "alice password"
	loginBobPassword   = "bob password"
	loginAliceHash     = "$argon2id$v=19$m=8192,t=1,p=1$AlaTLuWl2JJT9yeIdOWvqw$4QZtzAiI+R8IEHTxk/FDtjqWEo0slRd8lpYX+JbCJoU"
	loginBobHash       = "$argon2id$v=19$m=8192,t=1,p=1$SgLlZRxsiuQXP2aKy9BOXw$2XsoHJPMmxTAu4ad3bplSUZntKvenIqdZNYN4cKn65o"
	loginSessionMax    = time.Minute
)

// startLoginKeyless serves the sign-in configuration on a port of its own
// (public URL = listen address).
func startLoginKeyless(t *testing.T) (*server, string) {
	t.Helper()
	dir := t.TempDir()
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["signin:AuthorizeOAuth2Access","signin:CreateOAuth2Token"],` +
		`"Resource":"arn:aws:signin:*:*:oauth2/public-client/*"}]}`
	for attempt := 1; ; attempt++ {
		addr := freePort(t)
		doc := map[string]any{
			"server": map[string]any{"log_level": "debug"},
			"signin": map[string]any{"credentials_ttl": "15s", "session_max": loginSessionMax.String()},
			"accounts": []any{map[string]any{
				"id": account, "alias": "example",
				"managed_policies": []any{map[string]any{"name": "SignInLocalDevelopmentAccess", "document": policy}},
				"users": []any{
					map[string]any{"name": "alice", "console_password": loginAliceHash,
						"managed_policies": []string{"arn:aws:iam::" + account + ":policy/SignInLocalDevelopmentAccess"}},
					map[string]any{"name": "bob", "path": "/engineering/", "console_password": loginBobHash,
						"mfa_devices":      []any{map[string]any{"serial": bobSerial, "seed": bobSeed}},
						"managed_policies": []string{"arn:aws:iam::" + account + ":policy/SignInLocalDevelopmentAccess"}},
				},
			}},
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		cfg := filepath.Join(dir, "keyless.yaml")
		if err := os.WriteFile(cfg, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := launchAt(t, cfg, addr)
		if err == nil {
			return s, "http://" + addr
		}
		if !strings.Contains(err.Error(), "address already in use") || attempt == 3 {
			t.Fatal(err)
		}
	}
}

// callback is the CLI's loopback server: it takes the first GET with code
// and state on any path (signin-and-issuer.md section 1.1, step 7).
type callback struct {
	redirect string
	got      chan url.Values
}

// wait is the callback's query, within 30 s of the browser's last step.
func (cb *callback) wait(t *testing.T, wd *webDriver) url.Values {
	t.Helper()
	select {
	case q := <-cb.got:
		return q
	case <-time.After(30 * time.Second):
		t.Fatalf("no callback within 30 s; the browser is at %s", wd.currentURL())
		return nil
	}
}

func startCallback(t *testing.T) *callback {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cb := &callback{redirect: "http://" + l.Addr().String() + "/oauth/callback", got: make(chan url.Values, 1)}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case cb.got <- r.URL.Query():
		default:
		}
		fmt.Fprintln(w, "<!doctype html><title>Signed in</title><p id=done>You may close this window.")
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return cb
}

// login is one `aws login`: its PKCE, state and DPoP key.
type login struct {
	client, redirect, state, verifier, challenge string
	key                                          awslogin.Key
}

func newLogin(client, redirect string) *login {
	v, c := awslogin.PKCE()
	return &login{client: client, redirect: redirect, state: awslogin.UUID(), verifier: v, challenge: c, key: awslogin.NewKey()}
}

func (l *login) url(base string) string {
	return awslogin.AuthorizeURL(base, l.client, l.redirect, l.state, l.challenge)
}

// redeem makes the token call the CLI makes with the code and writes the
// cache file; it returns the login_session name (the idToken's sub).
func (l *login) redeem(t *testing.T, base, code, cacheDir string) (string, awslogin.Tokens) {
	t.Helper()
	a, err := awslogin.Token(base, map[string]string{"clientId": l.client, "grantType": "authorization_code", "code": code,
		"redirectUri": l.redirect, "codeVerifier": l.verifier}, l.key.Proof("POST", base+"/v1/token", time.Now(), nil))
	if err != nil {
		t.Fatal(err)
	}
	toks, err := a.Tokens()
	if err != nil {
		t.Fatal(err)
	}
	sub, err := awslogin.Subject(toks.IDToken)
	if err != nil {
		t.Fatal(err)
	}
	if toks.ExpiresIn < 1 || toks.ExpiresIn > 900 {
		t.Errorf("expiresIn %d, want 1 to 900", toks.ExpiresIn)
	}
	if _, err := awslogin.WriteCache(cacheDir, sub, l.client, toks, l.key, time.Now().Add(time.Duration(toks.ExpiresIn)*time.Second)); err != nil {
		t.Fatal(err)
	}
	return sub, toks
}

// signInPage fills keyless's sign-in page in the browser.
func signInPage(t *testing.T, wd *webDriver, accountName, user, password, mfa string) {
	t.Helper()
	waitFor(t, wd, "#signin", "the sign-in page")
	wd.sendKeys(wd.find("#account"), accountName)
	wd.sendKeys(wd.find("#username"), user)
	wd.sendKeys(wd.find("#password"), password)
	if mfa != "" {
		wd.sendKeys(wd.find("#mfa_code"), mfa)
	}
	wd.click(wd.find("#sign-in"))
}

func waitFor(t *testing.T, wd *webDriver, css, what string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); len(wd.findAll(css)) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 30 s; the browser is at %s:\n%.3000s", what, wd.currentURL(), wd.source())
		}
	}
}

func TestAWSLogin(t *testing.T) {
	chromedriver, chromium := browserTools(t)
	node := requireTool(t, "node")
	if _, err := os.Stat("js/node_modules/@aws-sdk/credential-provider-login/package.json"); err != nil {
		missing(t, "@aws-sdk/credential-provider-login is not installed (npm ci --prefix test/e2e/js)")
	}
	s, base := startLoginKeyless(t)
	wd := startWebDriver(t, chromedriver, chromium)
	home := t.TempDir()
	cacheDir := filepath.Join(home, "login-cache")
	start := time.Now()

	// Same-device, bob: sign in with password and TOTP, consent, callback.
	cb := startCallback(t)
	bobLogin := newLogin(awslogin.SameDevice, cb.redirect)
	wd.navigate(bobLogin.url(base))
	if u := wd.currentURL(); !strings.HasPrefix(u, base+"/signin?next=") {
		t.Errorf("an authorization request without a session went to %s, want the sign-in page", u)
	}
	signInPage(t, wd, "example", "bob", loginBobPassword, code(t))
	waitFor(t, wd, "#consent", "the consent page")
	if got := wd.text(wd.find("#callback")); got != cb.redirect {
		t.Errorf("the consent page names the callback %q, want %q", got, cb.redirect)
	}
	if who := wd.text(wd.find(".role-arn")); who != bobARN {
		t.Errorf("the consent page offers %q, want bob", who)
	}
	wd.click(wd.find("#allow"))
	q := cb.wait(t, wd)
	if q.Get("state") != bobLogin.state || q.Get("code") == "" {
		t.Fatalf("callback %v, want the state %s and a code", q, bobLogin.state)
	}
	bobSession, bobToks := bobLogin.redeem(t, base, q.Get("code"), cacheDir)
	if bobToks.ExpiresIn > 15 {
		t.Errorf("expiresIn %d, want at most the configured 15 s", bobToks.ExpiresIn)
	}
	if bobSession != bobARN {
		t.Errorf("login_session %q, want %s", bobSession, bobARN)
	}

	// Cross-device, alice, in the same browser: the consent page offers
	// bob; she signs in as herself too, consents, and reads the code.
	aliceLogin := newLogin(awslogin.CrossDevice, base+"/v1/sessions/confirmation")
	wd.navigate(aliceLogin.url(base))
	waitFor(t, wd, "#consent", "the consent page")
	wd.click(wd.find("#add-session"))
	signInPage(t, wd, account, "alice", loginAlicePassword, "")
	waitFor(t, wd, "#consent", "the consent page after the second sign-in")
	if sessions := wd.findAll(`input[name="session"]`); len(sessions) != 2 {
		t.Errorf("the consent page offers %d sessions, want alice and bob", len(sessions))
	}
	if who := wd.text(wd.find(".role-arn")); who != aliceARN {
		t.Errorf("the consent page offers %q first, want alice, who just signed in", who)
	}
	if dir := os.Getenv("KEYLESS_SCREENSHOTS"); dir != "" {
		// For a person to look at the pages: KEYLESS_SCREENSHOTS=DIR.
		if err := os.WriteFile(filepath.Join(dir, "consent.png"), wd.screenshot(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	wd.click(wd.find("#allow"))
	waitFor(t, wd, "#code", "the confirmation page")
	state, aliceCode, err := awslogin.PastedCode(awslogin.Page{Body: wd.source()})
	if err != nil || state != aliceLogin.state {
		t.Fatalf("the confirmation code: state %q (%v)", state, err)
	}
	aliceSession, _ := aliceLogin.redeem(t, base, aliceCode, cacheDir)

	// The profiles, as the CLI leaves them, with the endpoints in a
	// [services] section (signin-and-issuer.md section 1.6).
	cfgFile := filepath.Join(home, "config")
	profiles := fmt.Sprintf("[profile bob]\nlogin_session = %s\nregion = us-east-1\nservices = keyless\n\n"+
		"[profile alice]\nlogin_session = %s\nregion = us-east-1\nservices = keyless\n\n"+
		"[services keyless]\nsignin =\n  endpoint_url = %s\nsts =\n  endpoint_url = %s\n", bobSession, aliceSession, base, base)
	if err := os.WriteFile(cfgFile, []byte(profiles), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfgFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
	t.Setenv("AWS_LOGIN_CACHE_DIRECTORY", cacheDir)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	goSDK := func(profile string) *sts.Client {
		cfg, err := config.LoadDefaultConfig(context.Background(), config.WithSharedConfigProfile(profile))
		if err != nil {
			t.Fatal(err)
		}
		return sts.NewFromConfig(cfg)
	}
	bobGo, aliceGo := goSDK("bob"), goSDK("alice")
	whoAmI := func(c *sts.Client) (string, string, error) {
		out, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", "", err
		}
		creds, err := c.Options().Credentials.Retrieve(context.Background())
		return *out.Arn, creds.AccessKeyID, err
	}

	// @aws-sdk/credential-provider-login, long-running, on bob's file.
	js := exec.Command(node, "login_session.mjs")
	js.Dir = "js"
	js.Env = cleanEnv(t, "AWS_CONFIG_FILE="+cfgFile, "AWS_LOGIN_CACHE_DIRECTORY="+cacheDir, "AWS_PROFILE=bob",
		"AWS_ENDPOINT_URL_SIGNIN="+base, "AWS_ENDPOINT_URL_STS="+base)
	jsIn, _ := js.StdinPipe()
	jsOut, _ := js.StdoutPipe()
	if err := js.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = jsIn.Close(); _ = js.Wait() })
	lines := bufio.NewScanner(jsOut)
	jsIdentity := func() map[string]any {
		if _, err := fmt.Fprintln(jsIn, "identity"); err != nil {
			t.Fatal(err)
		}
		if !lines.Scan() {
			t.Fatalf("login_session.mjs ended: %v", lines.Err())
		}
		var m map[string]any
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			t.Fatalf("login_session.mjs: %s", lines.Text())
		}
		return m
	}

	// Each SDK uses its credentials, reaches the refresh point and
	// refreshes against keyless, with the shared cache file.
	bobKeys, jsKeys := map[string]bool{}, map[string]bool{}
	aliceArn, _, err := whoAmI(aliceGo)
	if err != nil || aliceArn != aliceARN {
		t.Fatalf("alice with aws-sdk-go-v2: %q %v", aliceArn, err)
	}
	for round := 0; round < 3; round++ {
		arn, key, err := whoAmI(bobGo)
		if err != nil || arn != bobARN {
			t.Fatalf("bob with aws-sdk-go-v2, round %d: %q %v", round, arn, err)
		}
		bobKeys[key] = true
		m := jsIdentity()
		if m["ok"] != true || m["arn"] != bobARN {
			t.Fatalf("bob with the JavaScript SDK, round %d: %v", round, m)
		}
		jsKeys[m["accessKeyId"].(string)] = true
		time.Sleep(8 * time.Second)
	}
	if len(bobKeys) < 2 || len(jsKeys) < 2 {
		t.Errorf("over 16 s of 15 s credentials, aws-sdk-go-v2 used %d and the JavaScript SDK %d sets: no refresh", len(bobKeys), len(jsKeys))
	}

	// Revocation ends alice's session at her next refresh with
	// USER_CREDENTIALS_CHANGED.
	if out, errOut, code := keyless(t, nil, "sessions", "revoke", "--user", aliceARN, "--data-dir", s.dataDir); code != 0 {
		t.Fatalf("sessions revoke: %d %s %s", code, out, errOut)
	}
	// Until then STS refuses the credentials already issued
	// (InvalidClientTokenId); the refresh gets USER_CREDENTIALS_CHANGED,
	// which the SDK reads as a changed password.
	var revokedErr error
	for deadline := time.Now().Add(40 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		_, _, revokedErr = whoAmI(aliceGo)
		if revokedErr != nil && strings.Contains(revokedErr.Error(), "login session password has changed") {
			break
		}
	}
	if revokedErr == nil || !strings.Contains(revokedErr.Error(), "login session password has changed") {
		t.Errorf("alice after `keyless sessions revoke`: %v, want the SDK's reading of USER_CREDENTIALS_CHANGED", revokedErr)
	}

	// The cap: bob's session ends loginSessionMax after his sign-in.
	time.Sleep(time.Until(start.Add(loginSessionMax + 16*time.Second)))
	var capErr error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		if _, _, err := whoAmI(bobGo); err != nil {
			capErr = err
			break
		}
	}
	if capErr == nil || !strings.Contains(capErr.Error(), "login session has expired") {
		t.Errorf("bob after the session cap: %v, want the SDK's reading of TOKEN_EXPIRED", capErr)
	}
	if m := jsIdentity(); m["ok"] != false || !strings.Contains(fmt.Sprint(m["message"]), "expired") {
		t.Errorf("the JavaScript SDK after the session cap: %v", m)
	}

	// The trail: the sign-ins, the consents and the token calls, from
	// signin.amazonaws.com; no code, verifier, refresh token, proof,
	// password or secret key in it or in the log.
	events := s.audit(t)
	count := map[string]int{}
	for _, e := range events {
		if e["eventSource"] == "signin.amazonaws.com" {
			count[fmt.Sprint(e["eventName"])]++
		}
	}
	if count["ConsoleLogin"] != 2 || count["AuthorizeOAuth2Access"] != 2 || count["CreateOAuth2Token"] < 6 {
		t.Errorf("signin events: %v", count)
	}
	trail, _ := json.Marshal(events)
	cache, _ := os.ReadDir(cacheDir)
	for _, f := range cache {
		raw, _ := os.ReadFile(filepath.Join(cacheDir, f.Name()))
		var c struct {
			AccessToken  struct{ SecretAccessKey, SessionToken string }
			RefreshToken string
		}
		_ = json.Unmarshal(raw, &c)
		for _, v := range []string{c.AccessToken.SecretAccessKey, c.AccessToken.SessionToken, c.RefreshToken, loginAlicePassword, loginBobPassword,
			aliceCode, bobLogin.verifier, aliceLogin.verifier} {
			if v != "" && (strings.Contains(string(trail), v) || strings.Contains(s.Logs.String(), v)) {
				t.Errorf("a secret (%.6s…) is in the audit trail or the log", v)
			}
		}
	}
}
