package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/exchangeapi"
	"github.com/keyless-dev/keyless/internal/sigv4"
)

const (
	testAudience = "https://keyless.example/aud?team=a&b"
	awsKey       = "AKIAIOSFODNN7EXAMPLE"
	awsSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	awsToken     = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
	opKey        = "AKIAOPERATOREXAMPLE1"
	opSecret     = "operatorSecretKeyEXAMPLEoperatorSecretKe"
	stsGCI       = "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
)

// runCLI runs keyless with args and only the variables in vars.
func runCLI(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errOut, LookupEnv: func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}}
	code = Main(context.Background(), env, args)
	return code, out.String(), errOut.String()
}

// isolateAWS gives the AWS SDK, which reads only the process environment,
// empty shared files and the variables in set.
func isolateAWS(t *testing.T, set map[string]string) (configFile, credentialsFile string) {
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY",
		"AWS_SECRET_KEY", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
	configFile, credentialsFile = filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	t.Setenv("AWS_CONFIG_FILE", configFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credentialsFile)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for k, v := range set {
		t.Setenv(k, v)
	}
	return configFile, credentialsFile
}

func testCredential(expires time.Time) exchangeapi.Credential {
	return exchangeapi.Credential{Version: 1, AccessKeyID: "ASIAKEYLESSISSUED001", SecretAccessKey: "issued/Secret+Key=",
		SessionToken: "issued-session-token", Expiration: expires.UTC().Format(time.RFC3339), Account: "123456789012",
		ARN: "arn:aws:sts::123456789012:assumed-role/Deployer/ci", Endpoint: "https://keyless.example.com", Region: "eu-west-1"}
}

func encode(t *testing.T, c exchangeapi.Credential) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// fakeKeyless serves a challenge, an exchange and an explain: check sees
// each exchange request's body; a non-nil refuse answers instead of
// issuing; explain, if set, answers ExplainExchange. As keyless does, it
// accepts each AWS request's signature once (GCIX-13).
type fakeKeyless struct {
	t          *testing.T
	cred       string
	check      func(body map[string]string)
	refuse     func(w http.ResponseWriter)
	explain    func(w http.ResponseWriter, r *http.Request, raw []byte, body map[string]string)
	mu         sync.Mutex
	exchanges  int
	explains   int
	signatures map[string]bool
}

// refuseAs writes keyless's refusal of an exchange.
func refuseAs(w http.ResponseWriter, status int, code, id string) {
	w.WriteHeader(status)
	io.WriteString(w, `{"error":"`+code+`","error_description":"The token exchange was refused. Request id: `+id+`.","request_id":"`+id+`"}`)
}

// signatureOf is an AWS proof's signature, or "" for a token.
func signatureOf(token string) string {
	var e struct {
		Headers []struct{ Key, Value string } `json:"headers"`
	}
	if json.Unmarshal([]byte(token), &e) != nil {
		return ""
	}
	for _, h := range e.Headers {
		if _, sig, ok := strings.Cut(h.Value, "Signature="); ok && h.Key == "authorization" {
			return sig
		}
	}
	return ""
}

func (f *fakeKeyless) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := f.t
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); r.Method != http.MethodPost || mt != "application/json" {
		t.Errorf("%s %s with Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]string
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Errorf("%s: body: %v", r.URL.Path, err)
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case exchangeapi.PathChallenge:
		if len(body) != 1 || body["audience"] != testAudience {
			t.Errorf("challenge request %v", body)
		}
		io.WriteString(w, `{"challenge":"chal-0123456789","header":"X-Keyless-Challenge","expires_at":"2030-01-01T00:00:00Z"}`)
	case exchangeapi.PathExchange:
		f.mu.Lock()
		f.exchanges++
		f.mu.Unlock()
		if len(body) != 3 || body["audience"] != testAudience {
			t.Errorf("exchange request has %d members, audience %q", len(body), body["audience"])
		}
		f.check(body)
		f.mu.Lock()
		refuse := f.refuse
		replayed := false
		if sig := signatureOf(body["jwt_token"]); sig != "" {
			replayed = f.signatures[sig]
			if f.signatures == nil {
				f.signatures = map[string]bool{}
			}
			f.signatures[sig] = true
		}
		f.mu.Unlock()
		switch {
		case replayed:
			refuseAs(w, http.StatusBadRequest, "invalid_request", "r-replayed")
		case refuse != nil:
			refuse(w)
		default:
			json.NewEncoder(w).Encode(map[string]string{"base64_credential": f.cred})
		}
	case exchangeapi.PathExplain:
		f.mu.Lock()
		f.explains++
		f.mu.Unlock()
		if f.explain == nil {
			t.Errorf("unexpected explain")
			w.WriteHeader(http.StatusNotFound)
			return
		}
		f.explain(w, r, raw, body)
	default:
		t.Errorf("unexpected path %s", r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
	}
}

func (f *fakeKeyless) setRefuse(fn func(http.ResponseWriter)) {
	f.mu.Lock()
	f.refuse = fn
	f.mu.Unlock()
}

func (f *fakeKeyless) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exchanges
}

func (f *fakeKeyless) explainCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.explains
}

func startKeyless(t *testing.T, check func(map[string]string)) (*fakeKeyless, string) {
	f := &fakeKeyless{t: t, cred: encode(t, testCredential(time.Now().Add(time.Hour))), check: check}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

type envelopeWant struct {
	url, region, key, secret, token, challenge, signedHeaders string
}

// signedWithNonce are the signed headers of the CLI's proof: the nonce
// makes each one unique (awsproof.NonceHeader).
const signedWithNonce = "host;x-amz-date;x-amz-security-token;x-keyless-audience;x-keyless-nonce"

var nonceRE = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)/(\d{8})/([a-z0-9-]+)/sts/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)

// checkEnvelope checks a serialized GetCallerIdentity and verifies its
// signature with keyless's own SigV4 verifier.
func checkEnvelope(t *testing.T, raw string, want envelopeWant) {
	t.Helper()
	var e struct {
		URL     string `json:"url"`
		Method  string `json:"method"`
		Headers []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"headers"`
		Body string `json:"body"`
	}
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		t.Errorf("envelope: %v", err)
		return
	}
	if e.URL != want.url || e.Method != http.MethodPost || e.Body != "" {
		t.Errorf("envelope %s %s body %q", e.Method, e.URL, e.Body)
	}
	h := map[string]string{}
	for _, kv := range e.Headers {
		if kv.Key != strings.ToLower(kv.Key) {
			t.Errorf("header %q not lower-case", kv.Key)
		}
		h[kv.Key] = kv.Value
	}
	u, _ := url.Parse(want.url)
	if h["host"] != u.Host || h["x-keyless-audience"] != testAudience || h["x-amz-security-token"] != want.token ||
		h["x-keyless-challenge"] != want.challenge || h["x-amz-date"] == "" || !nonceRE.MatchString(h["x-keyless-nonce"]) {
		t.Errorf("envelope headers %v", h)
	}
	m := authRE.FindStringSubmatch(h["authorization"])
	if m == nil {
		t.Errorf("authorization %q", h["authorization"])
		return
	}
	if m[1] != want.key || m[3] != want.region || m[4] != want.signedHeaders {
		t.Errorf("credential %s, region %s, signed headers %s", m[1], m[3], m[4])
	}
	if strings.Contains(raw, want.secret) {
		t.Error("the envelope contains the secret key")
	}
	hdr := http.Header{}
	for k, v := range h {
		if k != "host" {
			hdr.Set(k, v)
		}
	}
	req := &sigv4.Request{Method: e.Method, EscapedURI: u.EscapedPath(), Query: u.Query(), Host: h["host"], Header: hdr,
		BodySHA256: sha256.Sum256(nil)}
	s, err := sigv4.Parse(req, "sts", func(r string) bool { return r == want.region }, time.Now())
	if err != nil {
		t.Errorf("parse signature: %v", err)
		return
	}
	if err := sigv4.NewVerifier(4).Verify(s, want.secret); err != nil {
		t.Errorf("signature: %v", err)
	}
}

func TestExchangeAWSOutputs(t *testing.T) {
	isolateAWS(t, map[string]string{"AWS_ACCESS_KEY_ID": awsKey, "AWS_SECRET_ACCESS_KEY": awsSecret, "AWS_SESSION_TOKEN": awsToken})
	_, endpoint := startKeyless(t, func(body map[string]string) {
		if body["issuer_uri"] != "https://sts.amazonaws.com" {
			t.Errorf("issuer_uri %q", body["issuer_uri"])
		}
		checkEnvelope(t, body["jwt_token"], envelopeWant{url: stsGCI, region: "us-east-1", key: awsKey, secret: awsSecret,
			token: awsToken, signedHeaders: signedWithNonce})
	})
	vars := map[string]string{"KEYLESS_ENDPOINT": endpoint, "KEYLESS_AUDIENCE": testAudience}
	want := testCredential(time.Now().Add(time.Hour))
	exchange := func(output string, extra ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, vars, append([]string{"exchange", "--aws", "--output", output}, extra...)...)
		if code != 0 || errOut != "" {
			t.Fatalf("--output %s: exit %d, stderr %q", output, code, errOut)
		}
		return out
	}

	var doc exchangeapi.Credential
	if err := json.Unmarshal([]byte(exchange("json")), &doc); err != nil || doc.AccessKeyID != want.AccessKeyID ||
		doc.SecretAccessKey != want.SecretAccessKey || doc.SessionToken != want.SessionToken || doc.ARN != want.ARN ||
		doc.Endpoint != want.Endpoint || doc.Region != want.Region || doc.Account != want.Account {
		t.Errorf("json: %+v, %v", doc, err)
	}

	var proc map[string]any
	if err := json.Unmarshal([]byte(exchange("credential-process")), &proc); err != nil {
		t.Fatal(err)
	}
	if len(proc) != 5 || proc["Version"] != 1.0 || proc["AccessKeyId"] != want.AccessKeyID ||
		proc["SecretAccessKey"] != want.SecretAccessKey || proc["SessionToken"] != want.SessionToken {
		t.Errorf("credential-process: %v", proc)
	}
	if exp, err := time.Parse(time.RFC3339, proc["Expiration"].(string)); err != nil || time.Until(exp) < 59*time.Minute {
		t.Errorf("credential-process Expiration %v", proc["Expiration"])
	}

	wantEnv := "export AWS_ACCESS_KEY_ID=ASIAKEYLESSISSUED001\n" +
		"export AWS_SECRET_ACCESS_KEY=issued/Secret+Key=\n" +
		"export AWS_SESSION_TOKEN=issued-session-token\n" +
		"export AWS_ENDPOINT_URL=https://keyless.example.com\n" +
		"export AWS_REGION=eu-west-1\n" +
		"export AWS_DEFAULT_REGION=eu-west-1\n"
	if got := exchange("env"); got != wantEnv {
		t.Errorf("env:\n%s\nwant:\n%s", got, wantEnv)
	}

	if got := exchange("base64"); got != encode(t, want)+"\n" {
		t.Errorf("base64: %q", got)
	}

	path := filepath.Join(t.TempDir(), "new", "credentials")
	out := exchange("profile", "--credentials-file", path, "--profile-name", "ci")
	if !strings.HasPrefix(out, "wrote profile ci to "+path) {
		t.Errorf("profile: %q", out)
	}
	b, err := os.ReadFile(path)
	wantFile := "[ci]\naws_access_key_id = ASIAKEYLESSISSUED001\naws_secret_access_key = issued/Secret+Key=\n" +
		"aws_session_token = issued-session-token\n"
	if err != nil || string(b) != wantFile {
		t.Errorf("profile file %q, %v", b, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("profile file mode: %v %v", fi.Mode(), err)
	}
}

func TestExchangeAWSChallengeLongTermKeys(t *testing.T) {
	_, credFile := isolateAWS(t, nil)
	if err := os.WriteFile(credFile, []byte("[dev]\naws_access_key_id = "+awsKey+"\naws_secret_access_key = "+awsSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, endpoint := startKeyless(t, func(body map[string]string) {
		checkEnvelope(t, body["jwt_token"], envelopeWant{
			url:    "https://sts.eu-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
			region: "eu-west-2", key: awsKey, secret: awsSecret, challenge: "chal-0123456789",
			signedHeaders: "host;x-amz-date;x-keyless-audience;x-keyless-challenge;x-keyless-nonce"})
	})
	code, out, errOut := runCLI(t, map[string]string{}, "exchange", "--endpoint", endpoint+"/", "--audience", testAudience,
		"--aws", "--profile", "dev", "--challenge", "--sts-endpoint", "https://STS.eu-west-2.amazonaws.com:443/", "--output", "base64")
	if code != 0 || errOut != "" || f.count() != 1 || strings.TrimSpace(out) != f.cred {
		t.Fatalf("exit %d, %d exchanges, stdout %q, stderr %q", code, f.count(), out, errOut)
	}
}

func TestExchangeRefused(t *testing.T) {
	isolateAWS(t, map[string]string{"AWS_ACCESS_KEY_ID": awsKey, "AWS_SECRET_ACCESS_KEY": awsSecret, "AWS_SESSION_TOKEN": awsToken})
	f, endpoint := startKeyless(t, func(map[string]string) {})
	f.setRefuse(func(w http.ResponseWriter) { refuseAs(w, http.StatusBadRequest, "invalid_request", "r-1") })
	vars := map[string]string{"KEYLESS_ENDPOINT": endpoint}
	code, out, errOut := runCLI(t, vars, "exchange", "--aws", "--audience", testAudience)
	// The caller learns a request id, and where an operator sees why.
	want := "keyless exchange: refused (invalid_request): The token exchange was refused. Request id: r-1.\n" +
		"keyless exchange: request id r-1: an operator allowed keyless:ExplainExchange can see the reason with " +
		"`keyless exchange ... --explain --explain-profile PROFILE` or in `keyless audit --event-name ExchangeExternalToken`\n"
	if code != 1 || out != "" || errOut != want {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if strings.Contains(errOut+out, awsSecret) || strings.Contains(errOut+out, awsToken) {
		t.Error("a secret was printed")
	}

	f.setRefuse(func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "<html>\x1b[31m down</html>")
	})
	code, _, errOut = runCLI(t, vars, "exchange", "--aws", "--audience", testAudience)
	if code != 1 || errOut != "keyless exchange: the server answered HTTP 503\n" {
		t.Errorf("503: exit %d, stderr %q", code, errOut)
	}

	f.setRefuse(func(w http.ResponseWriter) { w.Write(bytes.Repeat([]byte(" "), maxAnswer+1)) })
	code, _, errOut = runCLI(t, vars, "exchange", "--aws", "--audience", testAudience)
	if code != 1 || !strings.Contains(errOut, "larger than") {
		t.Errorf("oversized answer: exit %d, stderr %q", code, errOut)
	}
}

// TestExchangeAWSSameSecond: two `keyless exchange --aws` signed in the
// same second with the same credentials both succeed. Without the signed
// nonce SigV4 makes them one signature, which keyless (and the fake
// server here) accepts once (GCIX-13).
func TestExchangeAWSSameSecond(t *testing.T) {
	isolateAWS(t, map[string]string{"AWS_ACCESS_KEY_ID": awsKey, "AWS_SECRET_ACCESS_KEY": awsSecret, "AWS_SESSION_TOKEN": awsToken})
	second := time.Now().Truncate(time.Second)
	signNow = func() time.Time { return second }
	defer func() { signNow = time.Now }()
	var (
		mu     sync.Mutex
		proofs []string
	)
	f, endpoint := startKeyless(t, func(body map[string]string) {
		checkEnvelope(t, body["jwt_token"], envelopeWant{url: stsGCI, region: "us-east-1", key: awsKey, secret: awsSecret,
			token: awsToken, signedHeaders: signedWithNonce})
		mu.Lock()
		proofs = append(proofs, body["jwt_token"])
		mu.Unlock()
	})
	vars := map[string]string{"KEYLESS_ENDPOINT": endpoint, "KEYLESS_AUDIENCE": testAudience}
	for i := range 2 {
		code, out, errOut := runCLI(t, vars, "exchange", "--aws", "--output", "base64")
		if code != 0 || errOut != "" || strings.TrimSpace(out) != f.cred {
			t.Fatalf("run %d in the same second: exit %d, stdout %q, stderr %q", i+1, code, out, errOut)
		}
	}
	mu.Lock()
	got := slices.Clone(proofs)
	mu.Unlock()
	if len(got) != 2 || signatureOf(got[0]) == signatureOf(got[1]) ||
		!strings.Contains(got[0], `"x-amz-date","value":"`+second.UTC().Format("20060102T150405Z")+`"`) {
		t.Fatalf("proofs %q", got)
	}
	// Control: the fake refuses a proof it has seen, as keyless does.
	b, _ := json.Marshal(map[string]string{"audience": testAudience, "issuer_uri": "https://sts.amazonaws.com", "jwt_token": got[0]})
	resp, err := http.Post(endpoint+exchangeapi.PathExchange, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a replayed proof: HTTP %d, want 400", resp.StatusCode)
	}
}

// TestExchangeRefusedExplained: with --explain-profile (and no --explain)
// a refused exchange is explained to standard error, exit 1. An AWS proof
// is signed anew for explain (the refused one's signature may be used
// up); a token is explained as sent.
func TestExchangeRefusedExplained(t *testing.T) {
	operatorProfile(t, map[string]string{"AWS_ACCESS_KEY_ID": awsKey, "AWS_SECRET_ACCESS_KEY": awsSecret})
	var (
		mu      sync.Mutex
		refused []string // the exchanged proofs
		answer  = `{"granted":false,"reason":"no_provider_matched","subject":"arn:aws:iam::111122223333:user/ci",` +
			`"trace":[{"check":"aws_request","passed":true,"detail":"upstream answered"},` +
			`{"provider":"123456789012/ci","check":"subject","passed":false,"detail":"\"$(reboot)\" does not match"}]}`
		explainStatus = http.StatusOK
	)
	f, endpoint := startKeyless(t, func(body map[string]string) {
		mu.Lock()
		refused = append(refused, body["jwt_token"])
		mu.Unlock()
	})
	f.setRefuse(func(w http.ResponseWriter) { refuseAs(w, http.StatusBadRequest, "invalid_request", "r-2") })
	f.explain = func(w http.ResponseWriter, r *http.Request, raw []byte, body map[string]string) {
		if !signedByOperator(t, r, raw) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		last := refused[len(refused)-1]
		if len(body) != 3 || body["audience"] != testAudience || body["issuer_uri"] != "https://sts.amazonaws.com" && body["jwt_token"] != last {
			t.Errorf("explain body %v", body)
		}
		if body["issuer_uri"] == "https://sts.amazonaws.com" {
			checkEnvelope(t, body["jwt_token"], envelopeWant{url: stsGCI, region: "us-east-1", key: awsKey, secret: awsSecret,
				signedHeaders: "host;x-amz-date;x-keyless-audience;x-keyless-nonce"})
			if signatureOf(body["jwt_token"]) == signatureOf(last) {
				t.Error("explain got the refused proof again, whose signature the exchange used up")
			}
		}
		if explainStatus != http.StatusOK {
			refuseAs(w, explainStatus, "access_denied", "r-3")
			return
		}
		io.WriteString(w, answer)
	}
	vars := map[string]string{"KEYLESS_ENDPOINT": endpoint}
	refusal := "keyless exchange: refused (invalid_request): The token exchange was refused. Request id: r-2.\n"

	code, out, errOut := runCLI(t, vars, "exchange", "--aws", "--audience", testAudience, "--explain-profile", "operator", "--output", "env")
	want := refusal + "proof: a newly signed AWS GetCallerIdentity request (issuer https://sts.amazonaws.com)\n" +
		"✓ aws_request upstream answered\n" +
		"✗ 123456789012/ci subject \"$(reboot)\" does not match\n" +
		"refused: no_provider_matched\n"
	// Nothing on standard output, which --output env users eval.
	if code != 1 || out != "" || errOut != want || f.count() != 1 || f.explainCount() != 1 {
		t.Errorf("AWS: exit %d, %d exchanges, %d explains, stdout %q, stderr:\n%s", code, f.count(), f.explainCount(), out, errOut)
	}

	// A token: explained as sent.
	token := jwt(`{"iss":"https://issuer.example","sub":"ci"}`)
	code, out, errOut = runCLI(t, map[string]string{"KEYLESS_ENDPOINT": endpoint, "T": token}, "exchange", "--token-env", "T",
		"--audience", testAudience, "--explain-profile", "operator")
	if code != 1 || out != "" || !strings.HasPrefix(errOut, refusal+"proof: the token in $T (issuer https://issuer.example)\n") ||
		f.explainCount() != 2 {
		t.Errorf("token: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}

	// The operator may not explain: the refusal stands, and says so.
	mu.Lock()
	explainStatus = http.StatusForbidden
	mu.Unlock()
	code, out, errOut = runCLI(t, vars, "exchange", "--aws", "--audience", testAudience, "--explain-profile", "operator")
	if code != 1 || out != "" || errOut != refusal+"keyless exchange: explain: refused (access_denied): The token exchange was refused. Request id: r-3.\n" {
		t.Errorf("explain refused: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// An outage is not explained.
	f.setRefuse(func(w http.ResponseWriter) {
		refuseAs(w, http.StatusServiceUnavailable, "temporarily_unavailable", "r-4")
	})
	n := f.explainCount()
	code, _, errOut = runCLI(t, vars, "exchange", "--aws", "--audience", testAudience, "--explain-profile", "operator")
	if code != 1 || f.explainCount() != n || strings.Count(errOut, "\n") != 1 {
		t.Errorf("503: exit %d, %d explains, stderr %q", code, f.explainCount()-n, errOut)
	}
}

// jwt is an unsigned JWT with claims, enough for reading iss.
func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","kid":"k"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

func TestExchangeGitHubActions(t *testing.T) {
	const iss = "https://token.actions.githubusercontent.com"
	token := jwt(`{"iss":"` + iss + `","sub":"repo:acme/app:ref:refs/heads/main"}`)
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method != http.MethodGet || r.URL.Path != "/idtoken" || r.Header.Get("Authorization") != "Bearer gh-request-token" ||
			q.Get("audience") != testAudience || q.Get("api-version") != "2.0" || len(q) != 2 {
			t.Errorf("token request %s %s, authorization %q", r.Method, r.URL, r.Header.Get("Authorization"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"count":1,"value":"`+token+`"}`)
	}))
	defer gh.Close()
	f, endpoint := startKeyless(t, func(body map[string]string) {
		if body["issuer_uri"] != iss || body["jwt_token"] != token {
			t.Errorf("exchange %v", body)
		}
	})
	vars := map[string]string{"KEYLESS_ENDPOINT": endpoint, "KEYLESS_AUDIENCE": testAudience,
		"ACTIONS_ID_TOKEN_REQUEST_URL": gh.URL + "/idtoken?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "gh-request-token",
		// GitHub Actions comes first.
		"AZURE_FEDERATED_TOKEN_FILE": filepath.Join(t.TempDir(), "absent")}
	code, out, errOut := runCLI(t, vars, "exchange", "--output", "credential-process")
	if code != 0 || errOut != "" || f.count() != 1 || !strings.Contains(out, `"AccessKeyId":"ASIAKEYLESSISSUED001"`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if strings.Contains(out+errOut, "gh-request-token") {
		t.Error("the request token was printed")
	}
}

func TestExchangeTokenSources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, iss string) (string, string) {
		tok := jwt(`{"iss":"` + iss + `","sub":"` + name + `"}`)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p, tok
	}
	azurePath, azureTok := write("azure", "https://login.microsoftonline.com/tenant/v2.0")
	k8sPath, k8sTok := write("k8s", "https://kubernetes.default.svc")
	var (
		mu  sync.Mutex
		got map[string]string
	)
	_, endpoint := startKeyless(t, func(body map[string]string) {
		mu.Lock()
		got = body
		mu.Unlock()
	})

	for _, tc := range []struct {
		name      string
		vars      map[string]string
		args      []string
		iss, tok  string
		errSubstr string
	}{
		{name: "token file, iss from the token", args: []string{"--token-file", k8sPath}, iss: "https://kubernetes.default.svc", tok: k8sTok},
		{name: "token file, --issuer", args: []string{"--token-file", k8sPath, "--issuer", "https://other.example"}, iss: "https://other.example", tok: k8sTok},
		{name: "token env", vars: map[string]string{"MY_TOKEN": azureTok}, args: []string{"--token-env", "MY_TOKEN"},
			iss: "https://login.microsoftonline.com/tenant/v2.0", tok: azureTok},
		{name: "Azure before Kubernetes", vars: map[string]string{"AZURE_FEDERATED_TOKEN_FILE": azurePath, "KEYLESS_WEB_IDENTITY_TOKEN_FILE": k8sPath},
			iss: "https://login.microsoftonline.com/tenant/v2.0", tok: azureTok},
		{name: "Kubernetes", vars: map[string]string{"KEYLESS_WEB_IDENTITY_TOKEN_FILE": k8sPath}, iss: "https://kubernetes.default.svc", tok: k8sTok},
		{name: "not a JWT", vars: map[string]string{"T": "opaque"}, args: []string{"--token-env", "T"}, errSubstr: "not a JWT; give --issuer"},
		{name: "too large for iss", vars: map[string]string{"T": jwt(`{"iss":"x","pad":"` + strings.Repeat("a", 16<<10) + `"}`)},
			args: []string{"--token-env", "T"}, errSubstr: "larger than 16384 bytes; give --issuer"},
		{name: "empty variable", args: []string{"--token-env", "UNSET"}, errSubstr: "$UNSET is empty"},
	} {
		mu.Lock()
		got = nil
		mu.Unlock()
		vars := map[string]string{"KEYLESS_ENDPOINT": endpoint}
		for k, v := range tc.vars {
			vars[k] = v
		}
		code, out, errOut := runCLI(t, vars, append([]string{"exchange", "--audience", testAudience, "--output", "base64"}, tc.args...)...)
		mu.Lock()
		got := got
		mu.Unlock()
		if tc.errSubstr != "" {
			if code != 1 || !strings.Contains(errOut, tc.errSubstr) || got != nil {
				t.Errorf("%s: exit %d, stderr %q", tc.name, code, errOut)
			}
			continue
		}
		if code != 0 || out == "" || got["issuer_uri"] != tc.iss || got["jwt_token"] != tc.tok {
			t.Errorf("%s: exit %d, stderr %q, request %v", tc.name, code, errOut, got)
		}
	}
}

func TestExchangeNothingDetected(t *testing.T) {
	saved := kubernetesTokenFile
	kubernetesTokenFile = filepath.Join(t.TempDir(), "token")
	defer func() { kubernetesTokenFile = saved }()
	code, out, errOut := runCLI(t, map[string]string{"KEYLESS_ENDPOINT": "http://127.0.0.1:1"}, "exchange", "--audience", "a")
	if code != 1 || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	for _, s := range []string{"no proof of identity found", "GitHub Actions", "AZURE_FEDERATED_TOKEN_FILE",
		"KEYLESS_WEB_IDENTITY_TOKEN_FILE", kubernetesTokenFile, "--aws"} {
		if !strings.Contains(errOut, s) {
			t.Errorf("stderr %q lacks %q", errOut, s)
		}
	}
}

func TestExchangeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--token-file", "x"},                                  // no audience
		{"--audience", "a", "--aws", "--token-env", "T"},       // two sources
		{"--audience", "a", "--token-env", "T", "--challenge"}, // --challenge without --aws
		{"--audience", "a", "--aws", "--issuer", "https://x"},  // --issuer with --aws
		{"--audience", "a", "--explain"},                       // no --explain-profile
		{"--audience", "a", "--aws", "--explain-profile", ""},  // empty --explain-profile
		{"--audience", "a", "--aws", "--explain", "--explain-profile", ""},
		{"--audience", "a", "--aws", "--output", "yaml"},            // unknown output
		{"--audience", "a", "--aws", "--endpoint", "ftp://x"},       // not http(s)
		{"--audience", "a", "--aws", "--profile-name", "a]b"},       // bad profile name
		{"--audience", "a", "--token-env", "T", "--profile", "dev"}, // --profile without --aws
	} {
		code, _, errOut := runCLI(t, map[string]string{}, append([]string{"exchange"}, args...)...)
		if code != 2 || !strings.HasPrefix(errOut, "keyless exchange: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// signedByOperator checks an explain request's SigV4 signature: the
// operator profile's key, service keyless, its region.
func signedByOperator(t *testing.T, r *http.Request, raw []byte) bool {
	t.Helper()
	s, err := sigv4.Parse(&sigv4.Request{Method: r.Method, EscapedURI: r.URL.EscapedPath(), Query: r.URL.Query(), Host: r.Host,
		Header: r.Header, BodySHA256: sha256.Sum256(raw)}, "keyless", func(r string) bool { return r == "eu-central-1" }, time.Now())
	if err != nil || s.AccessKeyID != opKey {
		t.Errorf("explain signature: %v", err)
		return false
	}
	if err := sigv4.NewVerifier(4).Verify(s, opSecret); err != nil {
		t.Errorf("explain signature: %v", err)
		return false
	}
	return true
}

// operatorProfile writes the operator's profile (region eu-central-1) to
// the isolated AWS files, with the workload's keys in vars.
func operatorProfile(t *testing.T, vars map[string]string) {
	t.Helper()
	configFile, credFile := isolateAWS(t, vars)
	if err := os.WriteFile(credFile, []byte("[operator]\naws_access_key_id = "+opKey+"\naws_secret_access_key = "+opSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(configFile, []byte("[profile operator]\nregion = eu-central-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestExchangeExplain(t *testing.T) {
	operatorProfile(t, map[string]string{"AWS_ACCESS_KEY_ID": awsKey, "AWS_SECRET_ACCESS_KEY": awsSecret})
	var (
		mu     sync.Mutex
		answer string
	)
	setAnswer := func(a string) {
		mu.Lock()
		answer = a
		mu.Unlock()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if r.URL.Path != exchangeapi.PathExplain {
			t.Errorf("path %s", r.URL.Path)
		}
		if !signedByOperator(t, r, raw) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		var body map[string]string
		if err := json.Unmarshal(raw, &body); err != nil || len(body) != 3 || body["audience"] != testAudience || body["issuer_uri"] != "https://sts.amazonaws.com" {
			t.Errorf("explain body %s", raw)
		}
		// The proof is signed with the default chain, not the operator.
		checkEnvelope(t, body["jwt_token"], envelopeWant{url: stsGCI, region: "us-east-1", key: awsKey, secret: awsSecret,
			signedHeaders: "host;x-amz-date;x-keyless-audience;x-keyless-nonce"})
		mu.Lock()
		defer mu.Unlock()
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	args := []string{"exchange", "--endpoint", srv.URL, "--audience", testAudience, "--aws", "--explain", "--explain-profile", "operator"}

	setAnswer(`{"granted":true,"provider":"arn:keyless::123456789012:identity-provider/ci","role_arn":"arn:aws:iam::123456789012:role/Deployer",` +
		`"subject":"arn:aws:iam::111122223333:user/ci","trace":[{"check":"aws_request","passed":true,"detail":"upstream answered"},` +
		`{"provider":"123456789012/ci","check":"grant","passed":true,"detail":"would issue"}]}`)
	code, out, errOut := runCLI(t, map[string]string{}, args...)
	want := "proof: a signed AWS GetCallerIdentity request (issuer https://sts.amazonaws.com)\n" +
		"✓ aws_request upstream answered\n" +
		"✓ 123456789012/ci grant would issue\n" +
		"granted: arn:aws:iam::123456789012:role/Deployer by arn:keyless::123456789012:identity-provider/ci for arn:aws:iam::111122223333:user/ci\n"
	if code != 0 || out != want || errOut != "" {
		t.Errorf("granted: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}

	setAnswer(`{"granted":false,"reason":"no_provider_matches","upstream_error_code":"InvalidClientTokenId",` +
		`"trace":[{"check":"aws_request","passed":false,"detail":"upstream \u001b[2Jrefused"}]}`)
	code, out, _ = runCLI(t, map[string]string{}, args...)
	want = "proof: a signed AWS GetCallerIdentity request (issuer https://sts.amazonaws.com)\n" +
		"✗ aws_request upstream ?[2Jrefused\n" +
		"refused: no_provider_matches (upstream error InvalidClientTokenId)\n"
	if code != 1 || out != want {
		t.Errorf("refused: exit %d, stdout:\n%s", code, out)
	}
}

func TestCredentials(t *testing.T) {
	live := encode(t, testCredential(time.Now().Add(time.Hour)))
	code, out, errOut := runCLI(t, map[string]string{"KEYLESS_CONFIG_BASE64": live}, "credentials")
	var proc map[string]any
	if code != 0 || errOut != "" || json.Unmarshal([]byte(out), &proc) != nil || proc["AccessKeyId"] != "ASIAKEYLESSISSUED001" ||
		proc["SecretAccessKey"] != "issued/Secret+Key=" || proc["SessionToken"] != "issued-session-token" || proc["Version"] != 1.0 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// --file, with the base64 wrapped over lines.
	p := filepath.Join(t.TempDir(), "cred")
	if err := os.WriteFile(p, []byte(live[:20]+"\n"+live[20:]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, map[string]string{}, "credentials", "--file", p, "--output", "base64")
	if code != 0 || out != live+"\n" {
		t.Errorf("--file: exit %d, stdout %q", code, out)
	}

	expired := encode(t, testCredential(time.Now().Add(-time.Minute)))
	code, out, errOut = runCLI(t, map[string]string{"KEYLESS_CONFIG_BASE64": expired}, "credentials")
	if code != 1 || out != "" || !strings.Contains(errOut, "keyless credentials: the credential of arn:aws:sts::123456789012:assumed-role/Deployer/ci expired at ") {
		t.Errorf("expired: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if strings.Contains(errOut, "issued/Secret") {
		t.Error("the secret was printed")
	}

	for _, v := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte(`{"version":2}`))} {
		code, out, errOut = runCLI(t, map[string]string{"KEYLESS_CONFIG_BASE64": v}, "credentials")
		if code != 1 || out != "" || !strings.HasPrefix(errOut, "keyless credentials: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", v, code, out, errOut)
		}
	}
}

func TestCredentialsProfile(t *testing.T) {
	live := encode(t, testCredential(time.Now().Add(time.Hour)))
	path := filepath.Join(t.TempDir(), "credentials")
	before := "[default]\r\naws_access_key_id = AKIADEFAULT\r\naws_secret_access_key = s3cr3t ; kept\r\n\r\n" +
		"# staging, below, is hand-made\r\n[keyless]\r\naws_access_key_id = OLD\r\naws_secret_access_key = OLD\r\n" +
		"aws_session_token = OLD\r\n\r\n# about staging\r\n[ staging ]\r\nregion=eu-west-1\r\n[keyless]\r\naws_access_key_id = DUP\r\n"
	if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"KEYLESS_CONFIG_BASE64": live, "AWS_SHARED_CREDENTIALS_FILE": path}
	code, out, errOut := runCLI(t, vars, "credentials", "--output", "profile")
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "wrote profile keyless to "+path+"; it expires at ") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	want := "[default]\r\naws_access_key_id = AKIADEFAULT\r\naws_secret_access_key = s3cr3t ; kept\r\n\r\n" +
		"# staging, below, is hand-made\r\n[keyless]\r\naws_access_key_id = ASIAKEYLESSISSUED001\r\n" +
		"aws_secret_access_key = issued/Secret+Key=\r\naws_session_token = issued-session-token\r\n" +
		"\r\n# about staging\r\n[ staging ]\r\nregion=eu-west-1\r\n"
	b, err := os.ReadFile(path)
	if err != nil || string(b) != want {
		t.Errorf("file:\n%q\nwant:\n%q", b, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}

	// A missing section is appended after a blank line.
	if err := os.WriteFile(path, []byte("[default]\naws_access_key_id = A"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, vars, "credentials", "--output", "profile", "--profile-name", "ci"); code != 0 {
		t.Fatalf("append: exit %d, %s", code, errOut)
	}
	want = "[default]\naws_access_key_id = A\n\n[ci]\naws_access_key_id = ASIAKEYLESSISSUED001\n" +
		"aws_secret_access_key = issued/Secret+Key=\naws_session_token = issued-session-token\n"
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Errorf("append:\n%q\nwant:\n%q", b, want)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"abc/+=": "abc/+=", "a b": "'a b'", "it's": `'it'\''s'`, "$(x)": "'$(x)'"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
