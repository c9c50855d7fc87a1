package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	awslogin "github.com/keyless-dev/keyless/internal/loginapi/loginapitest"
)

// The SAML browser sign-in end to end: a real identity provider
// (crewjam/saml's samlidp, samlidp_test.go) posts a signed Response from
// a real browser (Debian's chromium, driven through chromedriver's W3C
// WebDriver HTTP API) to keyless's BASE/saml and BASE/REGION/saml; the
// user picks a role on keyless's chooser, reads CLI credentials off the
// page, and aws-sdk-go-v2 uses them.

// The sign-in test's identities.
const (
	sbAccount      = "777788889999"
	sbProviderName = "corp-idp"
	sbUser         = "alice"
	sbPassword     = "correct horse battery staple"
)

var (
	sbProvider = "arn:aws:iam::" + sbAccount + ":saml-provider/" + sbProviderName
	sbAdmin    = "arn:aws:iam::" + sbAccount + ":role/saml-admin"
	sbReader   = "arn:aws:iam::" + sbAccount + ":role/saml-reader"
)

// TestSAMLBrowserSignIn signs in through the browser at BASE/saml, then
// again through BASE/us-west-2/saml (a failover: the IdP application's
// ACS switched to the regional URL, same role), and uses the credentials
// of each page with aws-sdk-go-v2.
func TestSAMLBrowserSignIn(t *testing.T) {
	chromedriver, chromium := browserTools(t)
	idp := startSAMLIdP(t, samlIdPOptions{})
	idp.AddUser(t, sbUser, sbPassword, map[string][]string{
		"https://aws.amazon.com/SAML/Attributes/Role":            {sbAdmin + "," + sbProvider, sbReader + "," + sbProvider},
		"https://aws.amazon.com/SAML/Attributes/RoleSessionName": {sbUser},
	})
	s, base := startSAMLKeyless(t, idp.MetadataXML())

	metadata, err := getOK(&http.Client{Timeout: 10 * time.Second}, base+"/saml/metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	acs := spACS(t, metadata)
	if want := []string{base + "/saml", base + "/us-east-1/saml", base + "/us-west-2/saml"}; !slices.Equal(acs, want) {
		t.Fatalf("keyless's metadata lists the sign-in URLs %q, want %q", acs, want)
	}
	idp.RegisterSP(t, metadata)

	wd := startWebDriver(t, chromedriver, chromium)
	var seen []tempCreds
	var assertions []string

	// 1. The global sign-in URL.
	c, assertion := sbSignIn(t, wd, idp, base+"/saml", true)
	sbCheckSession(t, base, "us-east-1", c)
	seen, assertions = append(seen, c), append(assertions, assertion)
	shot := wd.screenshot()
	path := filepath.Join(t.TempDir(), "saml-credentials.png")
	if err := os.WriteFile(path, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) || len(shot) < 1000 {
		t.Errorf("the screenshot (%d bytes) is not a PNG", len(shot))
	}
	t.Logf("screenshot of the credentials page: %s (%d bytes)", path, len(shot))

	// The sign-in is also a browser session of the role session: aws
	// login continues as it.
	if len(wd.findAll("#sessions-link")) != 1 {
		t.Errorf("the credentials page does not link to the browser's sessions")
	}
	cb := startCallback(t)
	l := newLogin(awslogin.SameDevice, cb.redirect)
	wd.navigate(l.url(base))
	waitFor(t, wd, "#consent", "the consent page after a SAML sign-in")
	if who := wd.text(wd.find(".role-arn")); who != sbSessionARN() {
		t.Errorf("the consent page offers %q, want the SAML role session %s", who, sbSessionARN())
	}
	wd.click(wd.find("#allow"))
	if sub, toks := l.redeem(t, base, cb.wait(t, wd).Get("code"), t.TempDir()); sub != sbSessionARN() {
		t.Errorf("aws login after a SAML sign-in: sub %q, want %s", sub, sbSessionARN())
	} else {
		sbCheckSession(t, base, "us-east-1", tempCreds{toks.AccessKeyID, toks.SecretAccessKey, toks.SessionToken})
	}

	// 2. Failover: the IdP now posts to BASE/us-west-2/saml.
	idp.RegisterSP(t, spMetadata(base+"/us-west-2/saml"))
	c, assertion = sbSignIn(t, wd, idp, base+"/us-west-2/saml", false)
	sbCheckSession(t, base, "us-west-2", c)
	seen, assertions = append(seen, c), append(assertions, assertion)
	if seen[0].AccessKeyID == seen[1].AccessKeyID {
		t.Errorf("both sign-ins handed out access key %s", seen[0].AccessKeyID)
	}

	// One listing and one sign-in per flow, recorded without the
	// assertion, the secret or the token.
	s.stop(t)
	var signIns, listings int
	for _, ev := range s.audit(t) {
		line, _ := json.Marshal(ev)
		switch ev["eventName"] {
		case "AssumeRoleWithSAML":
			signIns++
			if ev["errorCode"] != nil || ev["eventSource"] != "sts.amazonaws.com" {
				t.Errorf("sign-in event %s", line)
			}
			if ui, _ := ev["userIdentity"].(map[string]any); ui["type"] != "SAMLUser" || ui["userName"] != samlNameID(sbUser) {
				t.Errorf("sign-in event's userIdentity %v", ui)
			}
		case "SAMLSignInRoles":
			listings++
		}
		for i, c := range seen {
			for _, secret := range []string{c.SecretAccessKey, c.SessionToken, assertions[i]} {
				if strings.Contains(string(line), secret) {
					t.Errorf("an audit event holds a secret of sign-in %d: %s", i+1, line)
				}
			}
		}
	}
	if signIns != 2 || listings != 2 {
		t.Errorf("%d AssumeRoleWithSAML and %d SAMLSignInRoles events, want 2 of each", signIns, listings)
	}
	for i, c := range seen {
		for _, secret := range []string{c.SecretAccessKey, c.SessionToken, assertions[i]} {
			if strings.Contains(s.Logs.String(), secret) {
				t.Errorf("keyless's log holds a secret of sign-in %d", i+1)
			}
		}
	}
}

// sbSignIn opens the IdP's login for keyless, logs in if asked to, lands
// on the chooser at signInURL, picks saml-admin and reads the credentials
// page. It returns the credentials and the posted SAMLResponse.
func sbSignIn(t *testing.T, wd *webDriver, idp *samlIdP, signInURL string, login bool) (tempCreds, string) {
	t.Helper()
	wd.navigate(idp.LoginURL(samlShortcut))
	loggedIn, again := false, false
	deadline := time.Now().Add(60 * time.Second)
	for {
		url := wd.currentURL()
		if url == signInURL && len(wd.findAll(`input[name="role"]`)) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no role chooser at %s within a minute; the browser is at %s:\n%.3000s", signInURL, url, wd.source())
		}
		switch users := wd.findAll(`input[name="user"]`); {
		case len(users) > 0 && !loggedIn:
			if !login {
				t.Fatalf("the IdP asks for a login again at %s", url)
			}
			wd.sendKeys(users[0], sbUser)
			wd.sendKeys(wd.find(`input[name="password"]`), sbPassword)
			wd.click(wd.find(`form input[type="submit"], form button[type="submit"]`))
			loggedIn = true
		case loggedIn && !again && strings.HasPrefix(url, strings.TrimSuffix(idp.URL, "/")+"/") && !strings.Contains(url, samlShortcut):
			// crewjam's login form posts to /login, which answers the
			// session as JSON: the shortcut, opened again with the
			// session cookie, posts the Response.
			wd.navigate(idp.LoginURL(samlShortcut))
			again = true
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The chooser: both roles, in account sbAccount, neither chosen.
	var values []string
	for _, r := range wd.findAll(`input[type="radio"][name="role"]`) {
		values = append(values, wd.property(r, "value"))
		if wd.selected(r) {
			t.Errorf("a role is preselected among several")
		}
	}
	if slices.Sort(values); !slices.Equal(values, []string{sbAdmin + "," + sbProvider, sbReader + "," + sbProvider}) {
		t.Errorf("the chooser offers %q, want saml-admin and saml-reader", values)
	}
	if acct := wd.text(wd.find(".account-id")); acct != sbAccount {
		t.Errorf("the chooser groups the roles under account %q, want %s", acct, sbAccount)
	}
	assertion := wd.property(wd.find(`input[name="SAMLResponse"]`), "value")
	if len(assertion) < 1000 {
		t.Errorf("the chooser carries a SAMLResponse of %d characters", len(assertion))
	}
	wd.click(wd.find(`input[name="role"][value="` + sbAdmin + "," + sbProvider + `"]`))
	wd.click(wd.find("#sign-in"))

	for deadline := time.Now().Add(30 * time.Second); len(wd.findAll("#access-key-id")) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no credentials page within 30s; the browser is at %s:\n%.3000s", wd.currentURL(), wd.source())
		}
	}
	if url := wd.currentURL(); url != signInURL {
		t.Errorf("the credentials page is at %s, want %s", url, signInURL)
	}
	c := tempCreds{wd.text(wd.find("#access-key-id")), wd.text(wd.find("#secret-access-key")), wd.text(wd.find("#session-token"))}
	if got, want := wd.text(wd.find("#role-session-arn")), sbSessionARN(); got != want {
		t.Errorf("the page names the session %q, want %q", got, want)
	}
	exp, err := time.Parse(time.RFC3339, wd.text(wd.find("#expiration")))
	if err != nil || time.Until(exp) < 50*time.Minute || time.Until(exp) > 61*time.Minute || exp.Location() != time.UTC {
		t.Errorf("expiration %v (%v), want an hour from now in UTC", exp, err)
	}
	base := strings.TrimSuffix(strings.TrimSuffix(signInURL, "/saml"), "/us-west-2")
	env := wd.text(wd.find("#env-bash"))
	for _, line := range []string{"export AWS_ACCESS_KEY_ID='" + c.AccessKeyID + "'", "export AWS_ENDPOINT_URL_STS='" + base + "'"} {
		if !strings.Contains(env, line) {
			t.Errorf("#env-bash lacks %q:\n%s", line, env)
		}
	}
	// signin.js, allowed by the page's CSP as a file of its own, copies
	// a block: to the clipboard ("Copied"), or selects it where the
	// clipboard is refused.
	copied := wd.find(`button[data-copy="env-bash"]`)
	wd.click(copied)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var selection string
		wd.call(http.MethodPost, wd.session+"/execute/sync", map[string]any{"script": "return window.getSelection().toString()", "args": []any{}}, &selection)
		if wd.text(copied) == "Copied" || strings.TrimSpace(selection) == strings.TrimSpace(env) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Copy button did nothing (button %q, selection %q): is signin.js loaded?", wd.text(copied), selection)
		}
	}
	if profile := wd.text(wd.find("#profile")); !strings.HasPrefix(profile, "[keyless-saml-admin]") || !strings.Contains(profile, c.SessionToken) {
		t.Errorf("#profile:\n%s", profile)
	}
	return c, assertion
}

func sbSessionARN() string {
	return "arn:aws:sts::" + sbAccount + ":assumed-role/saml-admin/" + sbUser
}

// sbCheckSession uses the page's credentials against keyless.
func sbCheckSession(t *testing.T, base, region string, c tempCreds) {
	t.Helper()
	if !strings.HasPrefix(c.AccessKeyID, "ASIA") || len(c.AccessKeyID) != 20 || len(c.SecretAccessKey) != 40 || c.SessionToken == "" {
		t.Fatalf("the page shows access key %q, a %d-character secret and a %d-character token", c.AccessKeyID, len(c.SecretAccessKey), len(c.SessionToken))
	}
	client := sts.New(sts.Options{Region: region, BaseEndpoint: aws.String(base),
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)})
	out, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with the page's credentials (%s): %v", region, err)
	}
	if aws.ToString(out.Arn) != sbSessionARN() || aws.ToString(out.Account) != sbAccount || !strings.HasSuffix(aws.ToString(out.UserId), ":"+sbUser) {
		t.Errorf("GetCallerIdentity (%s): %s %s %s, want %s", region, aws.ToString(out.Arn), aws.ToString(out.Account), aws.ToString(out.UserId), sbSessionARN())
	}
}

// startSAMLKeyless starts keyless trusting the IdP, on a port chosen
// first: the trust policies name the sign-in URLs, which contain it.
func startSAMLKeyless(t *testing.T, idpMetadata []byte) (*server, string) {
	t.Helper()
	dir := t.TempDir()
	mdPath := filepath.Join(dir, "idp-metadata.xml")
	if err := os.WriteFile(mdPath, idpMetadata, 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		addr := freePort(t)
		base := "http://" + addr
		trust, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Federated": sbProvider},
			"Action":    []string{"sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"},
			"Condition": map[string]any{"StringEquals": map[string]any{"SAML:aud": []string{base + "/saml", base + "/us-west-2/saml"}}},
		}}})
		doc := map[string]any{
			"server": map[string]any{"log_level": "debug"},
			"saml":   map[string]any{"base_url": base, "regions": []string{"us-east-1", "us-west-2"}},
			"accounts": []any{map[string]any{
				"id":             sbAccount,
				"saml_providers": []any{map[string]any{"name": sbProviderName, "metadata_file": mdPath}},
				"roles": []any{
					map[string]any{"name": "saml-admin", "trust_policy": string(trust), "policies": []any{map[string]any{"name": "SignIn",
						"document": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["signin:AuthorizeOAuth2Access","signin:CreateOAuth2Token"],"Resource":"*"}]}`}}},
					map[string]any{"name": "saml-reader", "trust_policy": string(trust)},
				},
			}},
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		cfg := filepath.Join(dir, "keyless.yaml")
		if err := os.WriteFile(cfg, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, errOut, code := keyless(t, nil, "config", "validate", cfg); code != 0 {
			t.Fatalf("keyless config validate: %s%s\n%s", out, errOut, b)
		}
		s, err := launchAt(t, cfg, addr)
		if err == nil {
			return s, base
		}
		if !strings.Contains(err.Error(), "address already in use") || attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("%v; trying another port", err)
	}
}

// spEntity is the part of SP metadata the test reads and rewrites (SAML
// metadata 2.4.4).
type spEntity struct {
	XMLName  xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	EntityID string   `xml:"entityID,attr"`
	SP       struct {
		Protocols     string       `xml:"protocolSupportEnumeration,attr"`
		WantSigned    string       `xml:"WantAssertionsSigned,attr"`
		NameIDFormats []string     `xml:"urn:oasis:names:tc:SAML:2.0:metadata NameIDFormat"`
		ACS           []spEndpoint `xml:"urn:oasis:names:tc:SAML:2.0:metadata AssertionConsumerService"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:metadata SPSSODescriptor"`
}

// spEndpoint is an AssertionConsumerService (SAML metadata 2.2.3).
type spEndpoint struct {
	Binding   string `xml:"Binding,attr"`
	Location  string `xml:"Location,attr"`
	Index     int    `xml:"index,attr"`
	IsDefault string `xml:"isDefault,attr,omitempty"`
}

// spACS lists the HTTP-POST assertion consumer services of SP metadata,
// checking that the first is the default.
func spACS(t *testing.T, metadata []byte) []string {
	t.Helper()
	var e spEntity
	if err := xml.Unmarshal(metadata, &e); err != nil {
		t.Fatalf("keyless's metadata: %v\n%s", err, metadata)
	}
	if e.EntityID != "urn:amazon:webservices" || e.SP.WantSigned != "true" {
		t.Errorf("keyless's metadata: entityID %q, WantAssertionsSigned %q", e.EntityID, e.SP.WantSigned)
	}
	var out []string
	for i, a := range e.SP.ACS {
		if a.Binding != "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" || a.Index != i || (a.IsDefault == "true") != (i == 0) {
			t.Errorf("ACS %d: %+v", i, a)
		}
		out = append(out, a.Location)
	}
	return out
}

// browserTools finds chromedriver and chromium; under CI=true a missing
// one is a failure.
func browserTools(t *testing.T) (chromedriver, chromium string) {
	t.Helper()
	const hint = "scripts/test-deps.sh installs them (apt-get install chromium chromium-driver)"
	var err error
	if chromedriver, err = exec.LookPath("chromedriver"); err != nil {
		missing(t, "chromedriver is not installed; "+hint)
	}
	if chromium, err = exec.LookPath("chromium"); err != nil {
		missing(t, "chromium is not installed; "+hint)
	}
	return chromedriver, chromium
}

// webDriver is one browser session of a chromedriver process, spoken to
// with the W3C WebDriver protocol (https://www.w3.org/TR/webdriver2/):
// JSON over HTTP, answers wrapped in {"value": ...}.
type webDriver struct {
	t       *testing.T
	session string // http://127.0.0.1:PORT/session/ID
	client  *http.Client
}

// elementKey names an element reference (WebDriver, "Elements").
const elementKey = "element-6066-11e4-a52e-4f735466cecf"

// startWebDriver starts chromedriver on a free port and a headless
// chromium session (test-bench.md 3.3), both ended when the test ends.
func startWebDriver(t *testing.T, chromedriver, chromium string) *webDriver {
	t.Helper()
	dir := t.TempDir()
	logPath := filepath.Join(dir, "chromedriver.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	addr := freePort(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	cmd := exec.Command(chromedriver, "--port="+port, "--allowed-ips=127.0.0.1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chromedriver: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	wd := &webDriver{t: t, client: &http.Client{Timeout: 60 * time.Second}}
	t.Cleanup(func() {
		if wd.session != "" {
			req, _ := http.NewRequest(http.MethodDelete, wd.session, nil)
			if resp, err := wd.client.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("chromedriver's log:\n%.5000s", b)
		}
	})
	root := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var status struct {
			Value struct{ Ready bool } `json:"value"`
		}
		if body, err := getOK(wd.client, root+"/status"); err == nil && json.Unmarshal(body, &status) == nil && status.Value.Ready {
			break
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("chromedriver exited:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("chromedriver was not ready within 30s")
		}
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{"binary": chromium, "args": []string{
			"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=" + filepath.Join(dir, "profile"),
			"--no-first-run", "--disable-sync", "--disable-background-networking", "--disable-component-update", "--window-size=1200,1000",
		}},
	}}}
	var created struct {
		SessionID string `json:"sessionId"`
	}
	wd.call(http.MethodPost, root+"/session", caps, &created)
	if created.SessionID == "" {
		t.Fatal("chromedriver created a session without an id")
	}
	wd.session = root + "/session/" + created.SessionID
	return wd
}

// call sends one command and decodes its value into out; a WebDriver
// error fails the test.
func (wd *webDriver) call(method, url string, body, out any) {
	wd.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			wd.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		wd.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := wd.client.Do(req)
	if err != nil {
		wd.t.Fatalf("WebDriver %s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		wd.t.Fatalf("WebDriver %s %s: %v", method, url, err)
	}
	var answer struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		wd.t.Fatalf("WebDriver %s %s: %s: %.500s", method, url, resp.Status, raw)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error, Message string }
		_ = json.Unmarshal(answer.Value, &e)
		wd.t.Fatalf("WebDriver %s %s: %s: %s: %s", method, url, resp.Status, e.Error, e.Message)
	}
	if out != nil {
		if err := json.Unmarshal(answer.Value, out); err != nil {
			wd.t.Fatalf("WebDriver %s %s: %v: %.500s", method, url, err, answer.Value)
		}
	}
}

func (wd *webDriver) navigate(url string) {
	wd.t.Helper()
	wd.call(http.MethodPost, wd.session+"/url", map[string]string{"url": url}, nil)
}

func (wd *webDriver) currentURL() string {
	wd.t.Helper()
	var u string
	wd.call(http.MethodGet, wd.session+"/url", nil, &u)
	return u
}

func (wd *webDriver) source() string {
	wd.t.Helper()
	var s string
	wd.call(http.MethodGet, wd.session+"/source", nil, &s)
	return s
}

// findAll returns the elements matching a CSS selector, perhaps none.
func (wd *webDriver) findAll(css string) []string {
	wd.t.Helper()
	var found []map[string]string
	wd.call(http.MethodPost, wd.session+"/elements", map[string]string{"using": "css selector", "value": css}, &found)
	var ids []string
	for _, f := range found {
		ids = append(ids, f[elementKey])
	}
	return ids
}

// find returns the first element matching a CSS selector; none fails the
// test.
func (wd *webDriver) find(css string) string {
	wd.t.Helper()
	ids := wd.findAll(css)
	if len(ids) == 0 {
		wd.t.Fatalf("no element %s on %s:\n%.3000s", css, wd.currentURL(), wd.source())
	}
	return ids[0]
}

func (wd *webDriver) click(el string) {
	wd.t.Helper()
	wd.call(http.MethodPost, wd.session+"/element/"+el+"/click", map[string]any{}, nil)
}

func (wd *webDriver) sendKeys(el, text string) {
	wd.t.Helper()
	wd.call(http.MethodPost, wd.session+"/element/"+el+"/value", map[string]string{"text": text}, nil)
}

// text is an element's rendered text.
func (wd *webDriver) text(el string) string {
	wd.t.Helper()
	var s string
	wd.call(http.MethodGet, wd.session+"/element/"+el+"/text", nil, &s)
	return s
}

func (wd *webDriver) property(el, name string) string {
	wd.t.Helper()
	var s string
	wd.call(http.MethodGet, wd.session+"/element/"+el+"/property/"+name, nil, &s)
	return s
}

func (wd *webDriver) selected(el string) bool {
	wd.t.Helper()
	var b bool
	wd.call(http.MethodGet, wd.session+"/element/"+el+"/selected", nil, &b)
	return b
}

// screenshot is a PNG of the viewport.
func (wd *webDriver) screenshot() []byte {
	wd.t.Helper()
	var b64 string
	wd.call(http.MethodGet, wd.session+"/screenshot", nil, &b64)
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		wd.t.Fatalf("the screenshot is not base64: %v", err)
	}
	return png
}
