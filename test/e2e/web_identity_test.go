package e2e

import (
	"bufio"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/internal/idtoken/idtokentest"
	"github.com/keyless-dev/keyless/test/internal/proc"
)

// AssumeRoleWithWebIdentity end to end: tokens of a real OpenID Connect
// provider (Dex) through every client, including the SDKs' web identity
// credential providers driven by the environment; tokens shaped like those
// of the issuers people federate with AWS, against the trust policies they
// write; and tenant isolation by a session tag from the token
// (examples/tenant-isolation).

// startWith runs `keyless serve` like startServer, with another
// configuration file. stopped stops the server and returns its whole log.
func startWith(t *testing.T, configPath string) (s *server, stopped func() string) {
	t.Helper()
	s = startConfig(t, configPath)
	return s, func() string {
		s.stop(t)
		return s.Logs.String()
	}
}

// The configuration pieces the web identity tests write. JSON is YAML, so
// the file is written with encoding/json: no quoting to get wrong.
type wiConfigProvider struct {
	URL                string   `json:"url"`
	ClientIDs          []string `json:"client_ids"`
	JWKS               string   `json:"jwks,omitempty"`
	AllowHTTPLoopback  bool     `json:"allow_http_loopback,omitempty"`
	ClaimConditionKeys []string `json:"claim_condition_keys,omitempty"`
}

type wiConfigRole struct {
	Name        string `json:"name"`
	TrustPolicy string `json:"trust_policy"`
}

// writeWebIdentityConfig writes a configuration of account 111122223333
// with these roles and providers, and returns its path.
func writeWebIdentityConfig(t *testing.T, roles []wiConfigRole, providers []wiConfigProvider) string {
	t.Helper()
	doc := map[string]any{"accounts": []any{map[string]any{
		"id": account, "alias": "web-identity-e2e", "roles": roles, "oidc_providers": providers,
	}}}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keyless.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := keyless(t, nil, "config", "validate", path); code != 0 {
		t.Fatalf("keyless config validate: %s%s\n%s", out, errOut, b)
	}
	return path
}

// federatedTrust is a trust policy of one statement allowing principal
// (a provider ARN, or a well-known provider name) the actions under the
// conditions (operator -> key -> value).
func federatedTrust(principal string, conditions map[string]map[string]any, actions ...string) string {
	if len(actions) == 0 {
		actions = []string{"sts:AssumeRoleWithWebIdentity"}
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Federated": principal},
		"Action": actions, "Condition": conditions,
	}}})
	return string(b)
}

func oidcProviderARN(prefix string) string {
	return "arn:aws:iam::" + account + ":oidc-provider/" + prefix
}

func roleARN(name string) string { return "arn:aws:iam::" + account + ":role/" + name }

// wiCall is one AssumeRoleWithWebIdentity a client script makes.
type wiCall struct {
	Name    string `json:"name"`
	RoleARN string `json:"roleArn"`
	Session string `json:"session"`
	Token   string `json:"token"`
}

// wiInput is what the client scripts are given ($KEYLESS_WEB_IDENTITY).
type wiInput struct {
	Endpoint string   `json:"endpoint"`
	Calls    []wiCall `json:"calls"`
	// Provider is the call the JS SDK's fromWebToken makes.
	Provider *wiCall `json:"provider,omitempty"`
}

// runWebIdentityScript runs a client script and returns its report.
func runWebIdentityScript(t *testing.T, in wiInput, cmd *exec.Cmd) map[string]step {
	t.Helper()
	return runScript(t, "KEYLESS_WEB_IDENTITY", in, cmd)
}

// wiWant is what a successful AssumeRoleWithWebIdentity answers.
type wiWant struct {
	Role, Session, Subject, Audience, Provider string
}

// checkWebIdentity checks an AssumeRoleWithWebIdentity response as a client
// decoded it (the same member names in every client), and the
// CallerIdentity the scripts add.
func checkWebIdentity(t *testing.T, name string, doc map[string]any, w wiWant) {
	t.Helper()
	if doc == nil {
		t.Errorf("%s: no response", name)
		return
	}
	creds, _ := doc["Credentials"].(map[string]any)
	if !strings.HasPrefix(str(creds["AccessKeyId"]), "ASIA") || len(str(creds["SecretAccessKey"])) != 40 || str(creds["SessionToken"]) == "" || creds["Expiration"] == nil {
		t.Errorf("%s: credentials %v", name, creds)
	}
	arn := assumedRoleARN(w.Role, w.Session)
	user, _ := doc["AssumedRoleUser"].(map[string]any)
	if user["Arn"] != arn || !strings.HasPrefix(str(user["AssumedRoleId"]), "AROA") || !strings.HasSuffix(str(user["AssumedRoleId"]), ":"+w.Session) {
		t.Errorf("%s: AssumedRoleUser %v, want Arn %s", name, user, arn)
	}
	if doc["SubjectFromWebIdentityToken"] != w.Subject || doc["Audience"] != w.Audience || doc["Provider"] != w.Provider {
		t.Errorf("%s: SubjectFromWebIdentityToken %v, Audience %v, Provider %v; want %s, %s, %s",
			name, doc["SubjectFromWebIdentityToken"], doc["Audience"], doc["Provider"], w.Subject, w.Audience, w.Provider)
	}
	if id, ok := doc["CallerIdentity"]; ok {
		checkCallerIdentity(t, name+" GetCallerIdentity", id, w.Role, w.Session)
	}
}

// checkCallerIdentity checks a GetCallerIdentity answer of a role session.
func checkCallerIdentity(t *testing.T, name string, v any, role, session string) {
	t.Helper()
	id, _ := v.(map[string]any)
	if id["Arn"] != assumedRoleARN(role, session) || id["Account"] != account || !strings.HasPrefix(str(id["UserId"]), "AROA") ||
		!strings.HasSuffix(str(id["UserId"]), ":"+session) {
		t.Errorf("%s: %v, want %s", name, v, assumedRoleARN(role, session))
	}
}

// tamperJWT flips one character in the middle of a JWT's signature.
func tamperJWT(token string) string {
	b := []byte(token)
	i := strings.LastIndexByte(token, '.')
	i += (len(b) - i) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// webIdentityEnv is the environment of the SDKs' web identity credential
// providers (as on EKS): the role, the token file, the session name, and
// keyless as the STS endpoint; no keys.
func webIdentityEnv(t *testing.T, s *server, role, session, token string) []string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"AWS_ROLE_ARN=" + role, "AWS_WEB_IDENTITY_TOKEN_FILE=" + file, "AWS_ROLE_SESSION_NAME=" + session,
		"AWS_ENDPOINT_URL_STS=" + s.endpoint}
}

// cliWebIdentity runs `aws sts assume-role-with-web-identity` without
// credentials and returns the parsed output, or the error code and message.
func cliWebIdentity(t *testing.T, cli, endpoint string, c wiCall) (map[string]any, string, string) {
	t.Helper()
	r := cliRunner{t, cli, endpoint}
	doc, code, msg := r.call(tempCreds{}, "assume-role-with-web-identity", "--role-arn", c.RoleARN,
		"--role-session-name", c.Session, "--web-identity-token", c.Token)
	if doc != nil {
		creds, _ := doc["Credentials"].(map[string]any)
		id, idCode := r.run(tempCreds{str(creds["AccessKeyId"]), str(creds["SecretAccessKey"]), str(creds["SessionToken"])}, "get-caller-identity")
		if idCode != "" {
			t.Errorf("%s: get-caller-identity with the session: %s", c.Name, idCode)
		}
		doc["CallerIdentity"] = id
	}
	return doc, code, msg
}

// goWebIdentity calls AssumeRoleWithWebIdentity with aws-sdk-go-v2 (a
// client without credentials) and returns the response as the scripts
// report it.
func goWebIdentity(t *testing.T, s *server, c wiCall) step {
	t.Helper()
	out, err := anonymousSTS(s).AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(c.RoleARN), RoleSessionName: aws.String(c.Session), WebIdentityToken: aws.String(c.Token)})
	st := sdkStep(t, c.Name, out, err)
	if st.OK != nil {
		id := goIdentity(t, s, aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
		st.OK["CallerIdentity"] = map[string]any{"Arn": id.ARN, "UserId": id.UserID, "Account": id.Account}
	}
	return st
}

// sdkStep reports an aws-sdk-go-v2 answer as the scripts report theirs:
// a refusal's code, status and message, or the output through JSON.
func sdkStep(t *testing.T, name string, out any, err error) step {
	t.Helper()
	if err != nil {
		code, status := proc.APICode(err)
		if code == "" {
			t.Fatalf("%s: %v", name, err)
		}
		return step{Error: code, Status: status, Message: apiMessage(err)}
	}
	b, _ := json.Marshal(out)
	var doc map[string]any
	_ = json.Unmarshal(b, &doc)
	return step{OK: doc}
}

// anonymousSTS is an STS client of the server without credentials.
func anonymousSTS(s *server) *sts.Client {
	return sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.endpoint)})
}

// TestWebIdentityDex: alice's ID token from Dex, a real OpenID Connect
// provider whose keys keyless fetches (discovery, then JWKS, over loopback
// http), assumes a role whose trust policy names her subject, through
// every client; bob's token and a tampered token are refused.
func TestWebIdentityDex(t *testing.T) {
	d := startDex(t)
	prefix := strings.TrimPrefix(d.Issuer, "http://") // 127.0.0.1:PORT/dex
	provider := oidcProviderARN(prefix)
	aliceSub := dexSubject(dexUsers[0].UserID, dexConnector)
	const role = "DexUsers"
	path := writeWebIdentityConfig(t, []wiConfigRole{{Name: role, TrustPolicy: federatedTrust(provider, map[string]map[string]any{
		"StringEquals": {prefix + ":aud": d.ClientID, prefix + ":sub": aliceSub},
	})}}, []wiConfigProvider{{URL: d.Issuer, ClientIDs: []string{d.ClientID}, AllowHTTPLoopback: true}})
	s, stopped := startWith(t, path)

	alice := d.idToken(t, dexUsers[0].Email)
	bob := d.idToken(t, dexUsers[1].Email)
	tampered := tamperJWT(alice)
	want := func(session string) wiWant {
		return wiWant{Role: role, Session: session, Subject: aliceSub, Audience: d.ClientID, Provider: provider}
	}
	calls := func(session string) (ok, bobs, bad wiCall) {
		return wiCall{"alice", roleARN(role), session, alice}, wiCall{"bob", roleARN(role), session, bob},
			wiCall{"tampered", roleARN(role), session, tampered}
	}
	// refusals checks the refusal of bob's and the tampered token.
	refusals := func(t *testing.T, report map[string]step, withStatus bool) {
		t.Helper()
		_, refused := steps(t, report, withStatus)
		refused("bob", "AccessDenied", 403)
		if m := report["bob"].Message; m != "Not authorized to perform sts:AssumeRoleWithWebIdentity" {
			t.Errorf("bob's refusal: %q", m)
		}
		refused("tampered", "InvalidIdentityToken", 400)
	}

	viaCLI := func(t *testing.T, cli, session string, envChain []string) {
		ok, bobs, bad := calls(session)
		report := map[string]step{}
		for _, c := range []wiCall{ok, bobs, bad} {
			doc, code, msg := cliWebIdentity(t, cli, s.endpoint, c)
			report[c.Name] = step{OK: doc, Error: code, Message: msg}
		}
		if report["alice"].OK == nil {
			t.Fatalf("alice's token: %+v", report["alice"])
		}
		checkWebIdentity(t, "alice", report["alice"].OK, want(session))
		refusals(t, report, false)

		// From the environment alone: the CLI's assume-role-with-web-
		// identity credential provider.
		cmd := exec.Command(cli, "sts", "get-caller-identity", "--output", "json")
		cmd.Env = cleanEnv(t, envChain...)
		out, err := cmd.CombinedOutput()
		var id map[string]any
		if err != nil || json.Unmarshal(out, &id) != nil {
			t.Fatalf("get-caller-identity from the environment: %v\n%s", err, out)
		}
		checkCallerIdentity(t, "get-caller-identity from the environment", id, role, session+"-env")
	}
	t.Run("AWSCLIv1", func(t *testing.T) {
		bin := requireTool(t, "aws")
		if out, _ := exec.Command(bin, "--version").CombinedOutput(); !strings.HasPrefix(string(out), "aws-cli/1.") {
			missing(t, "aws on PATH is not the AWS CLI v1: "+string(out))
		}
		// AWS_ENDPOINT_URL_STS (CLI v1 >= 1.29) reaches the STS client of
		// the credential provider.
		viaCLI(t, bin, "cli-v1", webIdentityEnv(t, s, roleARN(role), "cli-v1-env", alice))
	})
	t.Run("AWSCLIv2", func(t *testing.T) {
		const bin = "/usr/bin/aws"
		if _, err := os.Stat(bin); err != nil {
			missing(t, "Debian's awscli (v2) is not installed at /usr/bin/aws")
		}
		out, _ := exec.Command(bin, "--version").CombinedOutput()
		if !strings.HasPrefix(string(out), "aws-cli/2.") {
			t.Fatalf("/usr/bin/aws is not the AWS CLI v2: %s", out)
		}
		// Debian's CLI v2.9 predates AWS_ENDPOINT_URL_STS (2.13): it would
		// send the provider's AssumeRoleWithWebIdentity, and
		// GetCallerIdentity, to sts.us-east-1.amazonaws.com. As in
		// TestAWSCLIv2, the STS endpoint rule set from botocore's data
		// path points both at keyless. The direct calls use
		// --endpoint-url.
		t.Logf("%s: no AWS_ENDPOINT_URL_STS before 2.13; the environment-driven call finds keyless through AWS_DATA_PATH", strings.TrimSpace(string(out)))
		env := webIdentityEnv(t, s, roleARN(role), "cli-v2-env", alice)
		env = append(env[:len(env)-1], "AWS_DATA_PATH="+stsEndpointRules(t, s.endpoint))
		viaCLI(t, bin, "cli-v2", env)
	})
	t.Run("boto3", func(t *testing.T) {
		py := requireTool(t, "python3")
		if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
			missing(t, "boto3 is not importable by python3")
		}
		ok, bobs, bad := calls("boto3")
		cmd := exec.Command(py, "clients/web_identity_boto3.py")
		cmd.Env = cleanEnv(t, webIdentityEnv(t, s, roleARN(role), "boto3-env", alice)...)
		report := runWebIdentityScript(t, wiInput{Endpoint: s.endpoint, Calls: []wiCall{ok, bobs, bad}}, cmd)
		checkWebIdentity(t, "alice", report["alice"].OK, want("boto3"))
		refusals(t, report, true)
		if e := report["env_chain"]; e.OK == nil {
			t.Errorf("boto3 from the environment: %+v", e)
		} else {
			checkCallerIdentity(t, "boto3 from the environment", e.OK, role, "boto3-env")
		}
	})
	t.Run("GoSDK", func(t *testing.T) {
		ctx := context.Background()
		ok, bobs, bad := calls("go-sdk")
		report := map[string]step{}
		for _, c := range []wiCall{ok, bobs, bad} {
			report[c.Name] = goWebIdentity(t, s, c)
		}
		checkWebIdentity(t, "alice", report["alice"].OK, want("go-sdk"))
		refusals(t, report, true)

		// stscreds.WebIdentityRoleProvider in a credentials cache: one
		// AssumeRoleWithWebIdentity for several calls.
		before := countWebIdentityEvents(t, s, "go-provider")
		env := webIdentityEnv(t, s, roleARN(role), "go-provider", alice)
		file := strings.TrimPrefix(env[1], "AWS_WEB_IDENTITY_TOKEN_FILE=")
		p := aws.NewCredentialsCache(stscreds.NewWebIdentityRoleProvider(anonymousSTS(s), roleARN(role), stscreds.IdentityTokenFile(file),
			func(o *stscreds.WebIdentityRoleOptions) { o.RoleSessionName = "go-provider" }))
		for range 3 {
			out, err := goClientWith(s, p).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatalf("GetCallerIdentity with the web identity provider: %v", err)
			}
			if got := aws.ToString(out.Arn); got != assumedRoleARN(role, "go-provider") {
				t.Errorf("web identity provider: %s", got)
			}
		}
		if n := countWebIdentityEvents(t, s, "go-provider") - before; n != 1 {
			t.Errorf("%d AssumeRoleWithWebIdentity calls for three requests through the cache, want 1", n)
		}
		// bob's token through the provider: the refusal reaches the caller.
		bobFile := filepath.Join(t.TempDir(), "bob")
		if err := os.WriteFile(bobFile, []byte(bob), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := goClientWith(s, stscreds.NewWebIdentityRoleProvider(anonymousSTS(s), roleARN(role), stscreds.IdentityTokenFile(bobFile))).
			GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if code, status := proc.APICode(err); code != "AccessDenied" || status != 403 {
			t.Errorf("bob through the provider: %v", err)
		}

		// config.LoadDefaultConfig from the environment alone.
		sdkEnv(t, webIdentityEnv(t, s, roleARN(role), "go-env", alice))
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("GetCallerIdentity with LoadDefaultConfig: %v", err)
		}
		checkCallerIdentity(t, "LoadDefaultConfig", map[string]any{"Arn": aws.ToString(out.Arn), "UserId": aws.ToString(out.UserId),
			"Account": aws.ToString(out.Account)}, role, "go-env")
	})
	t.Run("JavaScript", func(t *testing.T) {
		node := requireTool(t, "node")
		for _, pkg := range []string{"client-sts", "credential-provider-web-identity"} {
			if _, err := os.Stat("js/node_modules/@aws-sdk/" + pkg + "/package.json"); err != nil {
				missing(t, "@aws-sdk/"+pkg+" is not installed (npm ci --prefix test/e2e/js)")
			}
		}
		ok, bobs, bad := calls("js")
		provider := wiCall{"provider", roleARN(role), "js-web-token", alice}
		cmd := exec.Command(node, "web_identity.mjs")
		cmd.Dir = "js"
		cmd.Env = cleanEnv(t, webIdentityEnv(t, s, roleARN(role), "js-env", alice)...)
		report := runWebIdentityScript(t, wiInput{Endpoint: s.endpoint, Calls: []wiCall{ok, bobs, bad}, Provider: &provider}, cmd)
		checkWebIdentity(t, "alice", report["alice"].OK, want("js"))
		refusals(t, report, true)
		// The SDK knows keyless's InvalidIdentityToken as the modeled error.
		if e := report["exceptions"].OK["tampered"]; e != "InvalidIdentityTokenException" {
			t.Errorf("the tampered token's exception: %v", e)
		}
		for name, session := range map[string]string{"from_web_token": "js-web-token", "from_token_file": "js-env", "env_chain": "js-env"} {
			if e := report[name]; e.OK == nil {
				t.Errorf("%s: %+v", name, e)
			} else {
				checkCallerIdentity(t, name, e.OK, role, session)
			}
		}
	})

	// The audit trail: each call by the web identity it proved (CloudTrail's
	// WebIdentityUser), and never a token.
	events := s.audit(t, "--event-name", "AssumeRoleWithWebIdentity")
	if len(events) == 0 {
		t.Fatal("no AssumeRoleWithWebIdentity events")
	}
	subjects := map[string]string{aliceSub: "alice", dexSubject(dexUsers[1].UserID, dexConnector): "bob"}
	for _, e := range events {
		user, _ := e["userIdentity"].(map[string]any)
		code, _ := e["errorCode"].(string)
		switch {
		case code == "InvalidIdentityToken":
			// Not verified: nobody to name.
			if user["type"] == "WebIdentityUser" {
				t.Errorf("an unverified token is audited as %v", user)
			}
		case user["type"] != "WebIdentityUser" || user["identityProvider"] != prefix || subjects[str(user["userName"])] == "" ||
			user["principalId"] != prefix+":"+d.ClientID+":"+str(user["userName"]):
			t.Errorf("userIdentity %v (error %q)", user, code)
		case subjects[str(user["userName"])] == "bob" && code != "AccessDenied", subjects[str(user["userName"])] == "alice" && code != "":
			t.Errorf("%s: error %q", subjects[str(user["userName"])], code)
		}
	}
	logs := stopped()
	raw := auditText(t, s.dataDir)
	for name, tok := range map[string]string{"alice's": alice, "bob's": bob, "the tampered": tampered} {
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		if strings.Contains(raw, sig) || strings.Contains(logs, sig) {
			t.Errorf("%s token is in the audit log or the server's log", name)
		}
	}
}

// countWebIdentityEvents counts the AssumeRoleWithWebIdentity events of a
// session name.
func countWebIdentityEvents(t *testing.T, s *server, session string) int {
	t.Helper()
	n := 0
	for _, e := range s.audit(t, "--event-name", "AssumeRoleWithWebIdentity") {
		if params, _ := e["requestParameters"].(map[string]any); params["roleSessionName"] == session {
			n++
		}
	}
	return n
}

// sdkEnv sets the process environment for config.LoadDefaultConfig to env
// (KEY=VALUE) and nothing else of AWS's, until the test ends.
func sdkEnv(t *testing.T, env []string) {
	t.Helper()
	home := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_ENDPOINT_URL", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CA_BUNDLE"} {
		t.Setenv(k, "")
		os.Unsetenv(k) // t.Setenv restores it afterwards
	}
	for _, kv := range append([]string{"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"}, env...) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// An issuer people federate with AWS: tokens shaped like its own, signed
// by test keys published as a static key set, and the trust policies
// written for it.
type issuerCase struct {
	name     string
	provider wiConfigProvider // without keys
	prefix   string           // the provider's ARN resource and condition key prefix
	header   map[string]any   // the issuer's header parameters besides alg
	roles    []wiConfigRole
	tokens   []issuerToken
}

// issuerToken is one AssumeRoleWithWebIdentity: a role, the token's
// claims, and the outcome (code empty: success).
type issuerToken struct {
	name   string
	role   string
	claims map[string]any
	// foreignKey signs with a key the provider does not publish.
	foreignKey bool
	code       string
	status     int
	// aws is what AWS does with this token, for the failure message.
	aws string
}

// with returns a copy of claims with changes (a nil value deletes).
func with(claims map[string]any, changes map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range claims {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomUUID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

// issuerCases are the issuers' tokens as their documentation shows them,
// at time now.
func issuerCases(now time.Time) []issuerCase {
	iat := now.Unix()
	var cases []issuerCase

	// GitHub Actions (docs.github.com, "About security hardening with
	// OpenID Connect"; AWS's claim condition keys of 2026-01).
	const gh = "token.actions.githubusercontent.com"
	ghSHA := randomHex(20)
	ghMain := map[string]any{
		"jti": randomUUID(), "sub": "repo:octo-org/octo-repo:ref:refs/heads/main", "aud": "sts.amazonaws.com",
		"ref": "refs/heads/main", "sha": ghSHA, "repository": "octo-org/octo-repo", "repository_owner": "octo-org",
		"repository_owner_id": "1000001", "run_id": "8642210923", "run_number": "17", "run_attempt": "1",
		"repository_visibility": "private", "repository_id": "74", "actor_id": "12", "actor": "octocat",
		"workflow": "Deploy", "head_ref": "", "base_ref": "", "event_name": "push", "ref_protected": "true", "ref_type": "branch",
		"workflow_ref": "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main", "workflow_sha": ghSHA,
		"job_workflow_ref": "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main", "job_workflow_sha": ghSHA,
		"runner_environment": "github-hosted", "iss": "https://" + gh,
		"nbf": iat - 600, "iat": iat, "exp": iat + 300,
	}
	ghProduction := with(ghMain, map[string]any{"jti": randomUUID(), "sub": "repo:octo-org/octo-repo:environment:production",
		"environment": "production", "event_name": "workflow_dispatch"})
	cases = append(cases, issuerCase{
		name:     "GitHubActions",
		provider: wiConfigProvider{URL: "https://" + gh, ClientIDs: []string{"sts.amazonaws.com"}},
		prefix:   gh,
		header:   map[string]any{"typ": "JWT", "x5t": base64.RawURLEncoding.EncodeToString([]byte(randomHex(10)))},
		roles: []wiConfigRole{
			// AWS's and GitHub's example: the audience, and the subject
			// naming the repository and branch.
			{"GitHubMain", federatedTrust(oidcProviderARN(gh), map[string]map[string]any{
				"StringEquals": {gh + ":aud": "sts.amazonaws.com"},
				"StringLike":   {gh + ":sub": "repo:octo-org/octo-repo:ref:refs/heads/main"}})},
			// With the claim keys: the repository, its deployment workflow
			// and the production environment.
			{"GitHubProduction", federatedTrust(oidcProviderARN(gh), map[string]map[string]any{
				"StringEquals": {gh + ":aud": "sts.amazonaws.com", gh + ":repository": "octo-org/octo-repo", gh + ":environment": "production"},
				"StringLike":   {gh + ":job_workflow_ref": "octo-org/octo-repo/.github/workflows/deploy.yml@*"}})},
		},
		tokens: []issuerToken{
			{name: "main", role: "GitHubMain", claims: ghMain},
			{name: "production", role: "GitHubProduction", claims: ghProduction},
			{name: "other repository", role: "GitHubMain", code: "AccessDenied", status: 403, claims: with(ghMain, map[string]any{
				"sub": "repo:evil-org/octo-repo:ref:refs/heads/main", "repository": "evil-org/octo-repo", "repository_owner": "evil-org"})},
			{name: "feature branch", role: "GitHubMain", code: "AccessDenied", status: 403, claims: with(ghMain, map[string]any{
				"sub": "repo:octo-org/octo-repo:ref:refs/heads/feature", "ref": "refs/heads/feature"})},
			{name: "production of another repository", role: "GitHubProduction", code: "AccessDenied", status: 403, claims: with(ghProduction, map[string]any{
				"sub": "repo:octo-org/other-repo:environment:production", "repository": "octo-org/other-repo",
				"job_workflow_ref": "octo-org/other-repo/.github/workflows/deploy.yml@refs/heads/main"})},
			{name: "staging environment", role: "GitHubProduction", code: "AccessDenied", status: 403, claims: with(ghProduction, map[string]any{
				"sub": "repo:octo-org/octo-repo:environment:staging", "environment": "staging"})},
			{name: "default audience", role: "GitHubMain", code: "InvalidIdentityToken", status: 400, claims: with(ghMain, map[string]any{
				"aud": "https://github.com/octo-org"})},
		},
	})

	// GitLab CI/CD (docs.gitlab.com, "ID token authentication" and
	// "Configure OpenID Connect in AWS").
	gitlabMain := map[string]any{
		"namespace_id": "72", "namespace_path": "mygroup", "project_id": "20", "project_path": "mygroup/myproject",
		"user_id": "5", "user_login": "alice", "user_email": "alice@example.com", "user_access_level": "developer",
		"pipeline_id": "574", "pipeline_source": "push", "job_id": "302", "ref": "main", "ref_type": "branch",
		"ref_path": "refs/heads/main", "ref_protected": "true", "runner_id": 1, "runner_environment": "gitlab-hosted",
		"sha": randomHex(20), "project_visibility": "private",
		"ci_config_ref_uri": "gitlab.com/mygroup/myproject//.gitlab-ci.yml@refs/heads/main", "ci_config_sha": randomHex(20),
		"jti": randomUUID(), "iss": "https://gitlab.com", "iat": iat, "nbf": iat - 5, "exp": iat + 3600,
		"sub": "project_path:mygroup/myproject:ref_type:branch:ref:main", "aud": "https://gitlab.com",
	}
	cases = append(cases, issuerCase{
		name: "GitLab",
		provider: wiConfigProvider{URL: "https://gitlab.com", ClientIDs: []string{"https://gitlab.com"},
			ClaimConditionKeys: []string{"namespace_path", "project_path", "ref_protected"}},
		prefix: "gitlab.com",
		header: map[string]any{"typ": "JWT"},
		roles: []wiConfigRole{
			// GitLab's example, with the audience that gitlab.com being
			// shared by every tenant requires.
			{"GitLabMain", federatedTrust(oidcProviderARN("gitlab.com"), map[string]map[string]any{
				"StringEquals": {"gitlab.com:aud": "https://gitlab.com"},
				"StringLike":   {"gitlab.com:sub": "project_path:mygroup/myproject:ref_type:branch:ref:main"}})},
			// Configured claim keys: protected refs of any project of the group.
			{"GitLabGroup", federatedTrust(oidcProviderARN("gitlab.com"), map[string]map[string]any{
				"StringEquals": {"gitlab.com:aud": "https://gitlab.com", "gitlab.com:namespace_path": "mygroup", "gitlab.com:ref_protected": "true"}})},
		},
		tokens: []issuerToken{
			{name: "main", role: "GitLabMain", claims: gitlabMain},
			{name: "protected tag of another project of the group", role: "GitLabGroup", claims: with(gitlabMain, map[string]any{
				"project_path": "mygroup/tools", "project_id": "21", "ref": "v1.2.0", "ref_type": "tag", "ref_path": "refs/tags/v1.2.0",
				"sub": "project_path:mygroup/tools:ref_type:tag:ref:v1.2.0"})},
			{name: "feature branch", role: "GitLabMain", code: "AccessDenied", status: 403, claims: with(gitlabMain, map[string]any{
				"sub": "project_path:mygroup/myproject:ref_type:branch:ref:feature", "ref": "feature", "ref_protected": "false"})},
			{name: "unprotected ref", role: "GitLabGroup", code: "AccessDenied", status: 403, claims: with(gitlabMain, map[string]any{
				"ref_protected": "false"})},
			{name: "another group", role: "GitLabGroup", code: "AccessDenied", status: 403, claims: with(gitlabMain, map[string]any{
				"namespace_path": "othergroup", "project_path": "othergroup/myproject", "sub": "project_path:othergroup/myproject:ref_type:branch:ref:main"})},
			{name: "audience of another relying party", role: "GitLabMain", code: "InvalidIdentityToken", status: 400, claims: with(gitlabMain, map[string]any{
				"aud": "https://vault.example.com"})},
		},
	})

	// A Kubernetes projected service account token of EKS (IAM roles for
	// service accounts), valid for the default 24 hours.
	const eks = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	eksToken := map[string]any{
		"aud": []string{"sts.amazonaws.com"}, "iss": "https://" + eks, "sub": "system:serviceaccount:payments:api",
		"iat": iat, "nbf": iat, "exp": iat + 86400, "jti": randomUUID(),
		"kubernetes.io": map[string]any{
			"namespace":      "payments",
			"node":           map[string]any{"name": "ip-192-168-10-20.ec2.internal", "uid": randomUUID()},
			"pod":            map[string]any{"name": "api-7d4b9c6f5-x2x9q", "uid": randomUUID()},
			"serviceaccount": map[string]any{"name": "api", "uid": randomUUID()},
		},
	}
	cases = append(cases, issuerCase{
		name:     "EKS",
		provider: wiConfigProvider{URL: "https://" + eks, ClientIDs: []string{"sts.amazonaws.com"}},
		prefix:   eks,
		header:   map[string]any{}, // kid and alg only
		roles: []wiConfigRole{
			// The EKS User Guide's trust policy for a service account.
			{"PaymentsAPI", federatedTrust(oidcProviderARN(eks), map[string]map[string]any{
				"StringEquals": {eks + ":sub": "system:serviceaccount:payments:api", eks + ":aud": "sts.amazonaws.com"}})},
		},
		tokens: []issuerToken{
			{name: "service account", role: "PaymentsAPI", claims: eksToken},
			{name: "another service account", role: "PaymentsAPI", code: "AccessDenied", status: 403, claims: with(eksToken, map[string]any{
				"sub": "system:serviceaccount:payments:default"})},
			{name: "the API server's audience", role: "PaymentsAPI", code: "InvalidIdentityToken", status: 400, claims: with(eksToken, map[string]any{
				"aud": []string{"https://kubernetes.default.svc"}})},
			// keyless's max_token_lifetime (24 h by default; AWS's limit is
			// undocumented).
			{name: "valid for more than a day", role: "PaymentsAPI", code: "InvalidIdentityToken", status: 400, claims: with(eksToken, map[string]any{
				"exp": iat + 86400 + 3600})},
		},
	})

	// Microsoft Entra ID, v1.0 access tokens (an Azure managed identity's,
	// for an application ID URI): the issuer ends with a slash, which
	// stays in the provider's ARN and condition keys.
	tenant := "3fa85f64-5717-4562-b3fc-2c963f66afa6"
	entraV1 := "sts.windows.net/" + tenant + "/"
	miObjectID, miClientID := randomUUID(), randomUUID()
	entraV1Token := map[string]any{
		"aud": "api://aws-federation", "iss": "https://" + entraV1, "iat": iat, "nbf": iat, "exp": iat + 86399,
		"aio": "E2ZgYJg1" + randomHex(8), "appid": miClientID, "appidacr": "2", "idp": "https://" + entraV1, "idtyp": "app",
		"oid": miObjectID, "rh": "0.AXgA" + randomHex(16), "sub": miObjectID, "tid": tenant, "uti": randomHex(11), "ver": "1.0",
		"xms_mirid": "/subscriptions/" + randomUUID() + "/resourcegroups/workloads/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aws-caller",
	}
	cases = append(cases, issuerCase{
		name:     "EntraIDv1",
		provider: wiConfigProvider{URL: "https://" + entraV1, ClientIDs: []string{"api://aws-federation"}},
		prefix:   entraV1,
		header:   map[string]any{"typ": "JWT", "x5t": "$kid"},
		roles: []wiConfigRole{
			{"AzureWorkload", federatedTrust(oidcProviderARN(entraV1), map[string]map[string]any{
				"StringEquals": {entraV1 + ":aud": "api://aws-federation", entraV1 + ":sub": miObjectID}})},
		},
		tokens: []issuerToken{
			{name: "managed identity", role: "AzureWorkload", claims: entraV1Token, aws: "AWS names this provider " +
				oidcProviderARN(entraV1) + " and its condition keys " + entraV1 + ":aud and :sub, trailing slash included, as the trust policies written for Entra ID v1 tokens do"},
			{name: "another managed identity", role: "AzureWorkload", code: "AccessDenied", status: 403, claims: with(entraV1Token, map[string]any{
				"oid": randomUUID(), "sub": randomUUID(), "appid": randomUUID()})},
			{name: "a key the tenant does not publish", role: "AzureWorkload", foreignKey: true, code: "InvalidIdentityToken", status: 400, claims: entraV1Token},
		},
	})

	// Microsoft Entra ID, v2.0 access tokens of an application that asked
	// for itself (aud and azp its client id).
	entraV2 := "login.microsoftonline.com/" + tenant + "/v2.0"
	appClientID, spObjectID := randomUUID(), randomUUID()
	entraV2Token := map[string]any{
		"aud": appClientID, "iss": "https://" + entraV2, "iat": iat, "nbf": iat, "exp": iat + 3599,
		"aio": "k2BgYHj" + randomHex(8), "azp": appClientID, "azpacr": "1", "idtyp": "app", "oid": spObjectID,
		"rh": "0.AXgA" + randomHex(16), "sub": spObjectID, "tid": tenant, "uti": randomHex(11), "ver": "2.0",
	}
	cases = append(cases, issuerCase{
		name:     "EntraIDv2",
		provider: wiConfigProvider{URL: "https://" + entraV2, ClientIDs: []string{appClientID}},
		prefix:   entraV2,
		header:   map[string]any{"typ": "JWT"},
		roles: []wiConfigRole{
			{"EntraApp", federatedTrust(oidcProviderARN(entraV2), map[string]map[string]any{
				"StringEquals": {entraV2 + ":aud": appClientID, entraV2 + ":sub": spObjectID}})},
		},
		tokens: []issuerToken{
			{name: "application", role: "EntraApp", claims: entraV2Token},
			{name: "another application's service principal", role: "EntraApp", code: "AccessDenied", status: 403, claims: with(entraV2Token, map[string]any{
				"oid": randomUUID(), "sub": randomUUID()})},
			// azp names the calling application; outside Google it does not
			// stand for the audience (docs/compatibility.md), so the token
			// is judged by aud and by the trust policy's sub.
			{name: "authorized party another application", role: "EntraApp", claims: with(entraV2Token, map[string]any{
				"azp": randomUUID()})},
			{name: "audience another API, azp our application", role: "EntraApp", code: "InvalidIdentityToken", status: 400, claims: with(entraV2Token, map[string]any{
				"aud": "api://" + randomUUID(), "azp": appClientID})},
		},
	})

	// Google ID tokens (Sign-In for a web client: aud and azp its client
	// id). AWS documents the trust policy with the built-in provider name
	// accounts.google.com; an IAM OIDC provider for the issuer works too.
	const googleClient = "123456789012-k8s7ev2l4cfrd1mjm0ta3hq0q3bnsn8d.apps.googleusercontent.com"
	googleToken := map[string]any{
		"iss": "https://accounts.google.com", "azp": googleClient, "aud": googleClient, "sub": "110169484474386276334",
		"email": "alice@example.com", "email_verified": true, "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q", "name": "Alice Example",
		"given_name": "Alice", "family_name": "Example", "locale": "en", "iat": iat, "exp": iat + 3600,
	}
	googleConditions := map[string]map[string]any{
		"StringEquals": {"accounts.google.com:aud": googleClient, "accounts.google.com:sub": "110169484474386276334"}}
	cases = append(cases, issuerCase{
		name:     "Google",
		provider: wiConfigProvider{URL: "https://accounts.google.com", ClientIDs: []string{googleClient}},
		prefix:   "accounts.google.com",
		header:   map[string]any{"typ": "JWT"},
		roles: []wiConfigRole{
			{"GoogleUser", federatedTrust(oidcProviderARN("accounts.google.com"), googleConditions)},
			// The IAM User Guide's form (reference_policies_elements_principal,
			// "Federated web identity principals").
			{"GoogleUserBuiltIn", federatedTrust("accounts.google.com", googleConditions)},
		},
		tokens: []issuerToken{
			{name: "user", role: "GoogleUser", claims: googleToken},
			{name: "user, built-in provider name", role: "GoogleUserBuiltIn", claims: googleToken, aws: `AWS matches "Federated": "accounts.google.com" ` +
				"to Google's tokens (IAM User Guide, reference_policies_elements_principal); keyless matches it to a registered accounts.google.com provider"},
			{name: "another user", role: "GoogleUser", code: "AccessDenied", status: 403, claims: with(googleToken, map[string]any{
				"sub": "104424309812376498215", "email": "mallory@example.com"})},
			{name: "another client", role: "GoogleUser", code: "InvalidIdentityToken", status: 400, claims: with(googleToken, map[string]any{
				"aud": "407408718192.apps.googleusercontent.com", "azp": "407408718192.apps.googleusercontent.com"})},
			// Google's azp stands for the audience (AWS, condition-keys-wif):
			// our client in aud does not help a token authorized for another.
			{name: "our client in aud, azp another client", role: "GoogleUser", code: "InvalidIdentityToken", status: 400, claims: with(googleToken, map[string]any{
				"azp": "407408718192.apps.googleusercontent.com"})},
		},
	})
	return cases
}

// signWithHeader signs claims with s under the issuer's header parameters
// ("$kid" stands for the key id).
func signWithHeader(s *idtokentest.Signer, extra map[string]any, claims map[string]any) string {
	h := map[string]any{"alg": s.Alg, "kid": s.KID}
	for k, v := range extra {
		if v == "$kid" {
			v = s.KID
		}
		h[k] = v
	}
	hb, _ := json.Marshal(h)
	pb, _ := json.Marshal(claims)
	return s.Raw(hb, pb)
}

// TestWebIdentityIssuers runs tokens shaped like each issuer's through
// boto3 and aws-sdk-go-v2 against one server that registers them all with
// static key sets.
func TestWebIdentityIssuers(t *testing.T) {
	cases := issuerCases(time.Now())
	var roles []wiConfigRole
	var providers []wiConfigProvider
	type call struct {
		wiCall
		issuer issuerCase
		token  issuerToken
	}
	var calls []call
	for _, c := range cases {
		// Two published keys (a rotation), tokens signed with the second.
		old, current := idtokentest.NewRSA(c.name+"-1"), idtokentest.NewRSA(c.name+"-2")
		unpublished := idtokentest.NewRSA(c.name + "-2") // same kid, other key
		p := c.provider
		p.JWKS = string(idtokentest.JWKS(old, current))
		providers = append(providers, p)
		roles = append(roles, c.roles...)
		for i, tok := range c.tokens {
			signer := current
			if tok.foreignKey {
				signer = unpublished
			}
			calls = append(calls, call{
				wiCall: wiCall{Name: c.name + "/" + tok.name, RoleARN: roleARN(tok.role), Session: fmt.Sprintf("%s-%d", strings.ToLower(c.name), i),
					Token: signWithHeader(signer, c.header, tok.claims)},
				issuer: c, token: tok,
			})
		}
	}
	s, _ := startWith(t, writeWebIdentityConfig(t, roles, providers))

	check := func(t *testing.T, client string, report map[string]step, calls []call) {
		t.Helper()
		for _, c := range calls {
			got := report[c.Name]
			if c.token.code != "" {
				if got.Error != c.token.code || got.Status != c.token.status {
					t.Errorf("%s, %s: got %q %d (%s), want %s %d", client, c.Name, got.Error, got.Status, got.Message, c.token.code, c.token.status)
				}
				continue
			}
			if got.OK == nil {
				t.Errorf("%s, %s: refused with %s %d: %s", client, c.Name, got.Error, got.Status, got.Message)
				if c.token.aws != "" {
					t.Logf("%s: %s", c.Name, c.token.aws)
				}
				continue
			}
			aud := c.token.claims["aud"]
			if a, isList := aud.([]string); isList {
				aud = a[0]
			}
			checkWebIdentity(t, client+", "+c.Name, got.OK, wiWant{Role: strings.TrimPrefix(c.RoleARN, roleARN("")), Session: c.Session,
				Subject: str(c.token.claims["sub"]), Audience: str(aud), Provider: oidcProviderARN(c.issuer.prefix)})
		}
	}
	t.Run("GoSDK", func(t *testing.T) {
		report := map[string]step{}
		for _, c := range calls {
			report[c.Name] = goWebIdentity(t, s, c.wiCall)
		}
		check(t, "aws-sdk-go-v2", report, calls)
	})
	t.Run("boto3", func(t *testing.T) {
		py := requireTool(t, "python3")
		if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
			missing(t, "boto3 is not importable by python3")
		}
		in := wiInput{Endpoint: s.endpoint}
		for _, c := range calls {
			in.Calls = append(in.Calls, c.wiCall)
		}
		cmd := exec.Command(py, "clients/web_identity_boto3.py")
		cmd.Env = cleanEnv(t)
		check(t, "boto3", runWebIdentityScript(t, in, cmd), calls)
	})
	t.Run("AWSCLIv1", func(t *testing.T) {
		// One token per issuer through the CLI too.
		bin := requireTool(t, "aws")
		for _, c := range cases {
			for _, cl := range calls {
				if cl.issuer.name != c.name || cl.token.code != "" {
					continue
				}
				doc, code, msg := cliWebIdentity(t, bin, s.endpoint, cl.wiCall)
				check(t, "aws cli", map[string]step{cl.Name: {OK: doc, Error: code, Message: msg}}, []call{cl})
				break
			}
		}
	})
}

// The demo identity provider of examples/tenant-isolation.
const (
	tenantExample   = "../../examples/tenant-isolation"
	tenantIssuer    = "https://demo-idp.example"
	tenantAudience  = "tenant-workers"
	tenantKeyID     = "tenant-demo-1"
	tenantWorker    = "arn:aws:iam::111122223333:role/TenantWorker"
	tenantFilesKey  = "AKIATENANTFILES00001"
	tenantFilesCode = "tenantFilesDemoSecretNotForProduction1"
)

// demoKey is the example's published private key.
func demoKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(tenantExample + "/demo-idp-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("demo-idp-key.pem holds no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

// signRS256 makes a compact RS256 JWS, as any IdP holding key would.
func signRS256(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": kid, "typ": "JWT"})
	p, _ := json.Marshal(claims)
	input := enc(h) + "." + enc(p)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc(sig)
}

// startExampleServer runs a resource server binary that logs
// "listening on ADDR" and returns its base URL.
func startExampleServer(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, a, ok := strings.Cut(sc.Text(), "listening on "); ok {
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start", bin)
	}
	return ""
}

// TestTenantIsolation runs examples/tenant-isolation as its README does:
// keyless with the example's configuration, the demo IdP's tokens for
// tenants A and B (mint-token), sessions of the one role TenantWorker, and
// the example's resource server (tenant-files), which asks keyless's
// authorization API about each request: a session reads its own tenant's
// folder of the shared bucket and not the other's.
func TestTenantIsolation(t *testing.T) {
	ctx := context.Background()
	s, _ := startWith(t, tenantExample+"/keyless.yaml")
	bins := t.TempDir()
	for _, p := range []string{"mint-token", "tenant-files"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(bins, p), tenantExample+"/"+p).CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", p, err, out)
		}
	}
	mint := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(filepath.Join(bins, "mint-token"), append([]string{"-key", tenantExample + "/demo-idp-key.pem"}, args...)...).Output()
		if err != nil {
			t.Fatalf("mint-token %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	// The key set keyless.yaml names is the demo key's public half.
	var printed, committed any
	committedRaw, err := os.ReadFile(tenantExample + "/demo-idp-jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	if json.Unmarshal([]byte(mint("-jwks")), &printed) != nil || json.Unmarshal(committedRaw, &committed) != nil || !reflect.DeepEqual(printed, committed) {
		t.Fatalf("demo-idp-jwks.json is not the key set of demo-idp-key.pem (mint-token -jwks):\n%s", mint("-jwks"))
	}
	files := startExampleServer(t, filepath.Join(bins, "tenant-files"),
		[]string{"KEYLESS_AUTHZ_ACCESS_KEY_ID=" + tenantFilesKey, "KEYLESS_AUTHZ_SECRET_ACCESS_KEY=" + tenantFilesCode},
		"-keyless", s.endpoint, "-addr", "127.0.0.1:0")

	assume := func(token, session string) (*aws.Credentials, error) {
		out, err := anonymousSTS(s).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(tenantWorker), RoleSessionName: aws.String(session), WebIdentityToken: aws.String(token)})
		if err != nil {
			return nil, err
		}
		c := out.Credentials
		return &aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken)}, nil
	}
	sessions := map[string]*aws.Credentials{}
	for _, tenant := range []string{"A", "B"} {
		creds, err := assume(mint("-tenant", tenant), "worker-"+strings.ToLower(tenant))
		if err != nil {
			t.Fatalf("tenant %s: %v", tenant, err)
		}
		sessions[tenant] = creds
	}
	for own, other := range map[string]string{"A": "B", "B": "A"} {
		creds, arn := sessions[own], assumedRoleARN("TenantWorker", "worker-"+strings.ToLower(own))
		if r := get(t, files+"/bucket/"+own+"/report.txt", creds); r.status != 200 || r.body != "tenant "+own+"'s report\n" || r.principal != arn {
			t.Errorf("tenant %s, its own report: %+v", own, r)
		}
		r := get(t, files+"/bucket/"+other+"/report.txt", creds)
		want := "User: " + arn + " is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::bucket/" + other +
			"/report.txt because no identity-based policy allows the s3:GetObject action Encoded authorization failure message: "
		if r.status != 403 || r.code != "AccessDenied" || !strings.HasPrefix(r.message, want) {
			t.Errorf("tenant %s, tenant %s's report: %+v", own, other, r)
		}
		// Authorization comes first: what the other tenant has or has
		// not is not for this one to learn.
		if r := get(t, files+"/bucket/"+own+"/missing.txt", creds); r.status != 404 {
			t.Errorf("tenant %s, a missing file of its own: %+v", own, r)
		}
		if r := get(t, files+"/bucket/"+other+"/missing.txt", creds); r.status != 403 || r.code != "AccessDenied" {
			t.Errorf("tenant %s, a missing file of tenant %s: %+v", own, other, r)
		}
	}

	// The authorization API as a resource server calls it: the decision,
	// and the principal it names, for each tenant's forwarded request.
	api := &authz.Client{Endpoint: s.endpoint, AccessKeyID: tenantFilesKey, SecretAccessKey: tenantFilesCode}
	for _, tc := range []struct {
		tenant, object string
		allowed        bool
	}{{"A", "bucket/A/data/2026.csv", true}, {"A", "bucket/B/data/2026.csv", false}, {"B", "bucket/B/data/2026.csv", true},
		{"B", "bucket/A/data/2026.csv", false}, {"A", "bucket/AB/x", false}, {"A", "bucket/A", false}} {
		req, _ := http.NewRequest("GET", "http://files.example/"+tc.object, nil)
		if err := v4.NewSigner().SignHTTP(ctx, *sessions[tc.tenant], req, emptySHA256, "files", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		d, err := api.Check(ctx, req, nil, authz.Question{Service: "files", Action: "s3:GetObject", Resource: "arn:aws:s3:::" + tc.object})
		if err != nil {
			t.Fatalf("authorize: %v", err)
		}
		if d.Allowed != tc.allowed {
			t.Errorf("tenant %s, %s: allowed %v, want %v (%+v)", tc.tenant, tc.object, d.Allowed, tc.allowed, d.Error)
		}
		if arn := assumedRoleARN("TenantWorker", "worker-"+strings.ToLower(tc.tenant)); d.Allowed && (d.Principal == nil || d.Principal.ARN != arn) {
			t.Errorf("tenant %s, %s: principal %+v, want %s", tc.tenant, tc.object, d.Principal, arn)
		}
	}

	// The README's client: curl signs for the session.
	if curl, err := exec.LookPath("curl"); err == nil {
		c := sessions["A"]
		out, err := exec.Command(curl, "-s", "--aws-sigv4", "aws:amz:us-east-1:files", "--user", c.AccessKeyID+":"+c.SecretAccessKey,
			"-H", "x-amz-security-token: "+c.SessionToken, files+"/bucket/A/report.txt").CombinedOutput()
		if err != nil || string(out) != "tenant A's report\n" {
			t.Errorf("curl --aws-sigv4, as the README shows: %v %s", err, out)
		}
	} else {
		t.Log("no curl on PATH: the README's curl step is not run")
	}

	// The trust policy's rules about tags: a token must name a tenant,
	// and only that tag; and the claim must be well formed.
	key := demoKey(t)
	now := time.Now()
	claims := func(sub string, tags any) map[string]any {
		c := map[string]any{"iss": tenantIssuer, "aud": tenantAudience, "sub": sub, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
		if tags != nil {
			c["https://aws.amazon.com/tags"] = tags
		}
		return c
	}
	tenantTags := func(tags map[string][]string) map[string]any {
		return map[string]any{"principal_tags": tags, "transitive_tag_keys": []string{"TenantID"}}
	}
	for _, tc := range []struct {
		name   string
		claims map[string]any
		code   string
		status int
	}{
		{"no tenant", claims("tenant-A/worker-1", nil), "AccessDenied", 403},
		{"a tag besides the tenant", claims("tenant-A/worker-1", tenantTags(map[string][]string{"TenantID": {"A"}, "Admin": {"true"}})), "AccessDenied", 403},
		{"not a worker", claims("admin", tenantTags(map[string][]string{"TenantID": {"A"}})), "AccessDenied", 403},
		{"two values for the tenant", claims("tenant-A/worker-1", tenantTags(map[string][]string{"TenantID": {"A", "B"}})), "IDPRejectedClaim", 403},
		{"another audience", with(claims("tenant-A/worker-1", tenantTags(map[string][]string{"TenantID": {"A"}})), map[string]any{"aud": "sts.amazonaws.com"}), "InvalidIdentityToken", 400},
	} {
		_, err := assume(signRS256(t, key, tenantKeyID, tc.claims), "refused")
		if code, status := proc.APICode(err); code != tc.code || status != tc.status {
			t.Errorf("%s: %v, want %s %d", tc.name, err, tc.code, tc.status)
		}
	}
	// The same token signed by the demo key but not by the key the
	// example publishes is no token at all.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, err = assume(signRS256(t, other, tenantKeyID, claims("tenant-A/worker-1", tenantTags(map[string][]string{"TenantID": {"A"}}))), "refused")
	if code, status := proc.APICode(err); code != "InvalidIdentityToken" || status != 400 {
		t.Errorf("another key: %v", err)
	}
}
