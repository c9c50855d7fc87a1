package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/internal/awsproof/awsprooftest"
	"github.com/keyless-dev/keyless/test/internal/proc"
)

// The token exchange end to end ("Real end to end"): a workload proves who
// it is, with AWS credentials (a signed GetCallerIdentity request that an
// upstream STS executes: another keyless, or moto_server) or with an OIDC
// ID token (Dex), and gets a role session of the exchange keyless, which
// real clients then use.

// The exchange keyless's own account and identities (writeExchangeConfig).
const (
	xAccount = "444455556666"
	// xAdmin may call ExplainExchange (keyless:ExplainExchange).
	xAdminKey    = "AKIAEXCHANGEADMIN001"
	xAdminSecret = "exchangeAdminSecretOfTheE2eTests00000001"
	// xWorkload is the role the identity providers grant.
	xWorkload = "Workload"
	// xReader trusts sessions of Workload carrying one session tag value
	// (xcSetup.ReaderTag); xWrongTag wants a value no session has.
	xReader   = "Reader"
	xWrongTag = "WrongTag"
)

// The exchange's wire constants (black box: not imported from the
// handler).
const (
	awsIssuer            = "https://sts.amazonaws.com"
	pathExchange         = "/SecureTokenService/ExchangeExternalToken"
	pathToken            = "/v1/token"
	pathExplain          = "/SecureTokenService/ExplainExchange"
	grantTokenExchange   = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	tokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	tokenTypeAWS         = "urn:ietf:params:aws:token-type:aws4_request"
	tokenTypeCredentials = "urn:keyless:params:oauth:token-type:aws-credentials"
	gciBody              = "Action=GetCallerIdentity&Version=2011-06-15"
)

func xRoleARN(name string) string { return "arn:aws:iam::" + xAccount + ":role/" + name }

func xSessionARN(role, session string) string {
	return "arn:aws:sts::" + xAccount + ":assumed-role/" + role + "/" + session
}

func xProviderARN(name string) string {
	return "arn:aws:iam::" + xAccount + ":identity-provider/" + name
}

// xcSetup is what differs between the exchange keyless configurations.
type xcSetup struct {
	Upstreams []map[string]any // exchange.aws.upstreams
	OIDC      []map[string]any // the account's oidc_providers
	Providers []map[string]any // the account's identity_providers
	// ReaderTag is the session tag (key, value) Reader's trust policy
	// requires of a Workload session.
	ReaderTag [2]string
}

// loopbackUpstream is an upstream STS on a loopback http:// address.
func loopbackUpstream(endpoint string) map[string]any {
	return map[string]any{"url": endpoint, "region": "us-east-1", "allow_http_loopback": true}
}

// writeExchangeConfig writes the exchange keyless's configuration (JSON is
// YAML) and checks it with `keyless config validate`.
func writeExchangeConfig(t *testing.T, x xcSetup) string {
	t.Helper()
	trust := func(principal map[string]any, action string, cond map[string]any) string {
		st := map[string]any{"Effect": "Allow", "Principal": principal, "Action": action}
		if cond != nil {
			st["Condition"] = cond
		}
		b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{st}})
		return string(b)
	}
	workload := map[string]any{"AWS": xRoleARN(xWorkload)}
	tagged := func(value string) map[string]any {
		return map[string]any{"StringEquals": map[string]any{"aws:PrincipalTag/" + x.ReaderTag[0]: value}}
	}
	acct := map[string]any{
		"id": xAccount, "alias": "exchange-e2e",
		"users": []any{map[string]any{
			"name":        "exchange-admin",
			"access_keys": []any{map[string]any{"id": xAdminKey, "secret": xAdminSecret}},
			"policies": []any{map[string]any{"name": "Explain",
				"document": `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "keyless:ExplainExchange", "Resource": "*"}}`}},
		}},
		"roles": []any{
			map[string]any{"name": xWorkload, "description": "granted by the identity providers",
				"trust_policy": trust(map[string]any{"AWS": "arn:aws:iam::" + xAccount + ":user/exchange-admin"}, "sts:AssumeRole", nil)},
			map[string]any{"name": xReader, "trust_policy": trust(workload, "sts:AssumeRole", tagged(x.ReaderTag[1]))},
			map[string]any{"name": xWrongTag, "trust_policy": trust(workload, "sts:AssumeRole", tagged("not-"+x.ReaderTag[1]))},
		},
		"identity_providers": x.Providers,
	}
	if x.OIDC != nil {
		acct["oidc_providers"] = x.OIDC
	}
	// Debug logging: whatever keyless logs, no secret may be in it.
	doc := map[string]any{"server": map[string]any{"log_level": "debug"}, "accounts": []any{acct}}
	if x.Upstreams != nil {
		doc["exchange"] = map[string]any{"aws": map[string]any{"upstreams": x.Upstreams}}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "exchange.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := keyless(t, nil, "config", "validate", path); code != 0 {
		t.Fatalf("keyless config validate: %s%s\n%s", out, errOut, b)
	}
	return path
}

// xcCredential is the credential document of base64_credential and of RFC
// 8693's access_token.
type xcCredential struct {
	Version         int    `json:"version"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	SessionToken    string `json:"session_token"`
	Expiration      string `json:"expiration"`
	Account         string `json:"account"`
	ARN             string `json:"arn"`
	Endpoint        string `json:"endpoint"`
	Region          string `json:"region"`
}

func (c xcCredential) creds() tempCreds {
	return tempCreds{c.AccessKeyID, c.SecretAccessKey, c.SessionToken}
}

// decodeCredential decodes a base64 credential document strictly.
func decodeCredential(t *testing.T, name, b64 string) xcCredential {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("%s: the credential is not standard base64 (%v): %q", name, err, b64)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c xcCredential
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: the credential document: %v: %s", name, err, raw)
	}
	return c
}

// checkIssued checks a credential document the exchange keyless s issued
// for a session of role, and that the credentials work there.
func checkIssued(t *testing.T, name string, s *server, c xcCredential, role, session string, duration time.Duration) {
	t.Helper()
	if c.Version != 1 || !strings.HasPrefix(c.AccessKeyID, "ASIA") || len(c.AccessKeyID) != 20 || len(c.SecretAccessKey) != 40 ||
		c.SessionToken == "" || c.Account != xAccount || c.ARN != xSessionARN(role, session) || c.Region != "us-east-1" {
		t.Errorf("%s: credential document %+v; want a session %s in region us-east-1", name, redact(c), xSessionARN(role, session))
	}
	if exp, err := time.Parse(time.RFC3339, c.Expiration); err != nil || time.Until(exp) < duration-2*time.Minute || time.Until(exp) > duration+time.Minute {
		t.Errorf("%s: expiration %q, want about %s from now", name, c.Expiration, duration)
	}
	// The document tells `keyless credentials` (and users) where keyless is.
	if c.Endpoint != s.endpoint {
		t.Errorf("%s: the credential document names endpoint %q; keyless serves on %s", name, c.Endpoint, s.endpoint)
	}
	id := goIdentity(t, s, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	if id.ARN != xSessionARN(role, session) || id.Account != xAccount || !strings.HasPrefix(id.UserID, "AROA") || !strings.HasSuffix(id.UserID, ":"+session) {
		t.Errorf("%s: GetCallerIdentity with the issued credentials: %+v, want %s", name, id, xSessionARN(role, session))
	}
}

func redact(c xcCredential) xcCredential {
	if c.SecretAccessKey != "" {
		c.SecretAccessKey = "(" + fmt.Sprint(len(c.SecretAccessKey)) + " characters)"
	}
	if c.SessionToken != "" {
		c.SessionToken = "(set)"
	}
	return c
}

// xcPost posts a body to the exchange keyless and returns the status, the
// headers and the JSON answer.
func xcPost(t *testing.T, s *server, path, contentType, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.endpoint+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return xcDo(t, req)
}

func xcDo(t *testing.T, req *http.Request) (int, http.Header, map[string]any) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", req.URL.Path, ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store (RFC 6749 section 5.1)", req.URL.Path, cc)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s answered %s: %s", req.URL.Path, resp.Status, raw)
	}
	return resp.StatusCode, resp.Header, doc
}

// exchangeExternal calls ExchangeExternalToken.
func exchangeExternal(t *testing.T, s *server, audience, issuer, token string) (int, http.Header, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"audience": audience, "issuer_uri": issuer, "jwt_token": token})
	return xcPost(t, s, pathExchange, "application/json", string(b))
}

// exchangeToken calls the RFC 8693 token endpoint.
func exchangeToken(t *testing.T, s *server, audience, tokenType, token string) (int, http.Header, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {grantTokenExchange}, "audience": {audience}, "subject_token_type": {tokenType}, "subject_token": {token}}
	return xcPost(t, s, pathToken, "application/x-www-form-urlencoded", form.Encode())
}

// granted returns the credential of a successful ExchangeExternalToken.
func granted(t *testing.T, name string, status int, doc map[string]any) xcCredential {
	t.Helper()
	if status != http.StatusOK || len(doc) != 1 || str(doc["base64_credential"]) == "" {
		t.Fatalf("%s: %d %v, want 200 and only base64_credential", name, status, doc)
	}
	return decodeCredential(t, name, str(doc["base64_credential"]))
}

// grantedToken returns the credential of a successful RFC 8693 exchange,
// after checking the response's members (RFC 8693 section 2.2.1).
func grantedToken(t *testing.T, name string, status int, doc map[string]any, duration time.Duration) xcCredential {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("%s: %d %v", name, status, doc)
	}
	exp, _ := doc["expires_in"].(float64)
	if doc["issued_token_type"] != tokenTypeCredentials || doc["token_type"] != "N_A" || len(doc) != 4 ||
		exp < (duration-time.Minute).Seconds() || exp > duration.Seconds() {
		t.Errorf("%s: issued_token_type %v, token_type %v, expires_in %v, members %d; want %s, N_A, about %.0f, 4",
			name, doc["issued_token_type"], doc["token_type"], doc["expires_in"], len(doc), tokenTypeCredentials, duration.Seconds())
	}
	return decodeCredential(t, name, str(doc["access_token"]))
}

// refused checks an exchange's refusal: the status and RFC 6749 code, and
// nothing more than a request id (no hint of which check failed). It
// returns the request id.
func refused(t *testing.T, name string, status int, hdr http.Header, doc map[string]any, wantStatus int, wantCode string) string {
	t.Helper()
	id := str(doc["request_id"])
	if status != wantStatus || doc["error"] != wantCode {
		t.Errorf("%s: %d %v, want %d %s", name, status, doc, wantStatus, wantCode)
	}
	if id == "" || hdr.Get("x-amzn-RequestId") != id || !strings.Contains(str(doc["error_description"]), id) || len(doc) != 3 {
		t.Errorf("%s: the refusal %v (x-amzn-RequestId %q) should be error, error_description and request_id, naming the request id",
			name, doc, hdr.Get("x-amzn-RequestId"))
	}
	return id
}

// auditEvent is the audit event of a request id.
func auditEvent(t *testing.T, s *server, eventName, requestID string) map[string]any {
	t.Helper()
	for _, e := range s.audit(t, "--event-name", eventName) {
		if e["requestID"] == requestID {
			return e
		}
	}
	t.Fatalf("no %s event with request id %s", eventName, requestID)
	return nil
}

// exchangeEvents are the ExchangeExternalToken and ExchangeToken events
// that issued a key.
func exchangeEvents(t *testing.T, s *server, issuedKey string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range s.audit(t, "--access-key-id", issuedKey) {
		if n := e["eventName"]; n == "ExchangeExternalToken" || n == "ExchangeToken" {
			out = append(out, e)
		}
	}
	return out
}

func extra(e map[string]any) map[string]any {
	m, _ := e["additionalEventData"].(map[string]any)
	return m
}

// countEvents counts a server's audit events of an action by an access key.
func countEvents(t *testing.T, s *server, eventName, key string) int {
	t.Helper()
	return len(s.audit(t, "--event-name", eventName, "--access-key-id", key))
}

// awsEnvelope signs sts:GetCallerIdentity for stsEndpoint with
// aws-sdk-go-v2's SigV4 signer (the audience in X-Keyless-Audience, the
// session token, if any, in X-Amz-Security-Token, all signed) and
// serializes it. It returns the envelope and the request's signature.
func awsEnvelope(t *testing.T, stsEndpoint, audience string, c tempCreds, bodyForm bool) (string, string) {
	t.Helper()
	e, err := awsprooftest.Sign(awsprooftest.SignSpec{Endpoint: stsEndpoint, BodyForm: bodyForm,
		Headers:     map[string]string{"X-Keyless-Audience": audience},
		Credentials: aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken},
		At:          time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return string(e.Bytes()), signatureOf(t, e.Get("authorization"))
}

var signatureRE = regexp.MustCompile(`Signature=([0-9a-f]{64})$`)

func signatureOf(t *testing.T, authorization string) string {
	t.Helper()
	m := signatureRE.FindStringSubmatch(authorization)
	if m == nil {
		t.Fatalf("no signature in %q", authorization)
	}
	return m[1]
}

// envelopeHeaders returns an envelope's headers, checking its shape: every
// header but authorization is signed.
func envelopeHeaders(t *testing.T, env string) (url, body string, headers map[string]string) {
	t.Helper()
	var e struct {
		URL     string `json:"url"`
		Method  string `json:"method"`
		Body    string `json:"body"`
		Headers []struct{ Key, Value string }
	}
	if err := json.Unmarshal([]byte(env), &e); err != nil || e.Method != http.MethodPost {
		t.Fatalf("envelope %s: %v", env, err)
	}
	headers = map[string]string{}
	for _, h := range e.Headers {
		headers[h.Key] = h.Value
	}
	m := regexp.MustCompile(`SignedHeaders=([a-z0-9;-]+),`).FindStringSubmatch(headers["authorization"])
	if m == nil {
		t.Fatalf("envelope without a SigV4 authorization: %s", env)
	}
	signed := strings.Split(m[1], ";")
	for k := range headers {
		if k != "authorization" && !slices.Contains(signed, k) {
			t.Errorf("envelope header %s is not signed (%s)", k, m[1])
		}
	}
	return e.URL, e.Body, headers
}

// explain calls ExplainExchange signed (SigV4, service keyless) with a
// keyless access key; an empty key sends it unsigned.
func explain(t *testing.T, s *server, c tempCreds, body map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, s.endpoint+pathExplain, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.AccessKeyID != "" {
		sum := sha256.Sum256(b)
		err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
			SessionToken: c.SessionToken}, req, hex.EncodeToString(sum[:]), "keyless", "us-east-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.ContentLength = int64(len(b))
	return xcDo(t, req)
}

// traceStep finds the step of a provider and check in an explain trace.
func traceStep(doc map[string]any, provider, check string) map[string]any {
	steps, _ := doc["trace"].([]any)
	for _, s := range steps {
		if m, _ := s.(map[string]any); str(m["provider"]) == provider && m["check"] == check {
			return m
		}
	}
	return nil
}

// noSecrets checks that none of the secrets is in a text.
func noSecrets(t *testing.T, where, text string, secrets map[string]string) {
	t.Helper()
	for name, secret := range secrets {
		if secret == "" {
			t.Fatalf("secret %s is empty: nothing to look for", name)
		}
		if strings.Contains(text, secret) {
			t.Errorf("%s is in %s", name, where)
		}
	}
}

// serverRecords is everything a stopped server wrote: its log, its audit
// file, and its audit events as `keyless audit` prints them.
func serverRecords(t *testing.T, s *server, logs string) map[string]string {
	t.Helper()
	events, _ := json.Marshal(s.audit(t))
	return map[string]string{"the log": logs, "the audit files": auditText(t, s.dataDir), "keyless audit": string(events)}
}

// assumeRole has the session c assume a role of the exchange keyless with
// aws-sdk-go-v2, and returns the new session's credentials, or the error
// code and status.
func assumeRole(t *testing.T, s *server, c tempCreds, role, session string) (tempCreds, string, int) {
	t.Helper()
	return assumeRoleARN(t, s, c, xRoleARN(role), session)
}

// assumeRoleARN assumes a role with the Go SDK; it returns the AWS error
// code and status of a refusal.
func assumeRoleARN(t *testing.T, s *server, c tempCreds, roleARN, session string) (tempCreds, string, int) {
	t.Helper()
	out, err := goClient(s, c.AccessKeyID, c.SecretAccessKey, c.SessionToken).AssumeRole(context.Background(),
		&sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(session)})
	if err != nil {
		code, status := proc.APICode(err)
		if code == "" {
			t.Fatalf("AssumeRole %s: %v", roleARN, err)
		}
		return tempCreds{}, code, status
	}
	k := out.Credentials
	return tempCreds{aws.ToString(k.AccessKeyId), aws.ToString(k.SecretAccessKey), aws.ToString(k.SessionToken)}, "", 0
}

// checkChain checks that an issued session carries its session tag: Reader
// (whose trust wants the tag's value) can be assumed with it, WrongTag
// (another value) cannot.
func checkChain(t *testing.T, s *server, c tempCreds, session string) tempCreds {
	t.Helper()
	chained, code, _ := assumeRole(t, s, c, xReader, session)
	if code != "" {
		t.Fatalf("AssumeRole %s with the issued session: %s", xReader, code)
	}
	if id := goIdentity(t, s, chained.AccessKeyID, chained.SecretAccessKey, chained.SessionToken); id.ARN != xSessionARN(xReader, session) {
		t.Errorf("the chained session is %+v, want %s", id, xSessionARN(xReader, session))
	}
	if _, code, status := assumeRole(t, s, c, xWrongTag, session); code != "AccessDenied" || status != 403 {
		t.Errorf("AssumeRole %s (whose trust wants another tag value): %s %d, want AccessDenied 403", xWrongTag, code, status)
	}
	return chained
}

// quickExit makes the keyless commands the test runs from now on (keyless
// audit, exchange, credentials) exit at once when built with -race: the
// race runtime otherwise waits a second at exit (GORACE atexit_sleep_ms,
// default 1000). Servers started before keep the default.
func quickExit(t *testing.T) {
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

// TestExchangeAWSKeylessUpstream: alice proves her AWS identity to an
// exchange keyless with a GetCallerIdentity request signed for another
// keyless (the quickstart's, as her STS), and gets a Workload session,
// which aws-sdk-go-v2 uses. A replayed request is refused; the body form
// works; nothing secret is logged or audited.
func TestExchangeAWSKeylessUpstream(t *testing.T) {
	upstream, upstreamStopped := startWith(t, quickstart)
	const aud = "e2e-exchange"
	ex, exStopped := startWith(t, writeExchangeConfig(t, xcSetup{
		Upstreams: []map[string]any{loopbackUpstream(upstream.endpoint)},
		Providers: []map[string]any{{
			"name": "alice-aws", "issuer": awsIssuer, "subject": aliceARN, "audiences": []string{aud},
			"sts_endpoints": []string{upstream.endpoint}, "role": xWorkload, "session_name": "alice-{{ aws_claims.account }}",
			"session_tags": map[string]string{"aws-account": "{{ aws_claims.account }}"},
		}},
		ReaderTag: [2]string{"aws-account", account},
	}))
	quickExit(t)
	const session = "alice-" + account
	alice := tempCreds{AccessKeyID: aliceKey, SecretAccessKey: aliceSecret}
	upstreamCalls := countEvents(t, upstream, "GetCallerIdentity", aliceKey)

	env, sig := awsEnvelope(t, upstream.endpoint, aud, alice, false)
	u, body, headers := envelopeHeaders(t, env)
	if u != upstream.endpoint+"/?"+gciBody || body != "" || headers["x-keyless-audience"] != aud || headers["host"] != strings.TrimPrefix(upstream.endpoint, "http://") {
		t.Fatalf("envelope %s", env)
	}
	status, _, doc := exchangeExternal(t, ex, aud, awsIssuer, env)
	cred := granted(t, "alice's signed request", status, doc)
	b64 := str(doc["base64_credential"])
	checkIssued(t, "alice's signed request", ex, cred, xWorkload, session, time.Hour)
	if n := countEvents(t, upstream, "GetCallerIdentity", aliceKey) - upstreamCalls; n != 1 {
		t.Errorf("the upstream keyless executed %d GetCallerIdentity requests of alice, want 1", n)
	}

	// The issued session with a real client: AssumeRole of a second role
	// whose trust policy wants the session tag from aws_claims.account.
	chained := checkChain(t, ex, cred.creds(), "chained")

	// Exactly one exchange issued the key, recorded with who proved what.
	events := exchangeEvents(t, ex, cred.AccessKeyID)
	if len(events) != 1 {
		t.Fatalf("%d exchange events issued %s, want 1: %v", len(events), cred.AccessKeyID, events)
	}
	e := events[0]
	x := extra(e)
	user, _ := e["userIdentity"].(map[string]any)
	params, _ := e["requestParameters"].(map[string]any)
	resp, _ := e["responseElements"].(map[string]any)
	respCreds, _ := resp["credentials"].(map[string]any)
	respUser, _ := resp["assumedRoleUser"].(map[string]any)
	switch {
	case e["eventName"] != "ExchangeExternalToken" || e["errorCode"] != nil || e["recipientAccountId"] != xAccount:
		t.Errorf("the exchange event: %v", e)
	case x["identityProvider"] != xProviderARN("alice-aws") || x["subject"] != aliceARN || x["awsAccessKeyId"] != aliceKey ||
		x["roleArn"] != xRoleARN(xWorkload) || x["upstream"] != strings.TrimPrefix(upstream.endpoint, "http://"):
		t.Errorf("the exchange event's additionalEventData: %v", x)
	case user["type"] != "AWSAccount" || user["arn"] != aliceARN || user["accountId"] != account || user["accessKeyId"] != aliceKey:
		t.Errorf("the exchange event's userIdentity: %v", user)
	case params["audience"] != aud || params["issuerUri"] != awsIssuer:
		t.Errorf("the exchange event's requestParameters: %v", params)
	case respCreds["accessKeyId"] != cred.AccessKeyID || respUser["arn"] != cred.ARN || resp["provider"] != xProviderARN("alice-aws"):
		t.Errorf("the exchange event's responseElements: %v", resp)
	}
	for _, name := range []string{"GetCallerIdentity", "AssumeRole"} {
		if n := countEvents(t, ex, name, cred.AccessKeyID); n < 1 {
			t.Errorf("no %s event of the issued key", name)
		}
	}

	// The same signed request again: refused before the upstream is asked.
	status, hdr, doc := exchangeExternal(t, ex, aud, awsIssuer, env)
	rid := refused(t, "the replayed request", status, hdr, doc, http.StatusBadRequest, "invalid_request")
	if e := auditEvent(t, ex, "ExchangeExternalToken", rid); e["errorCode"] != "invalid_request" || extra(e)["reason"] != "aws_replayed" {
		t.Errorf("the replay's audit event: %v", e)
	}
	if n := countEvents(t, upstream, "GetCallerIdentity", aliceKey) - upstreamCalls; n != 1 {
		t.Errorf("after the replay, the upstream executed %d requests of alice, want still 1", n)
	}

	// The body form: POST / with Action=GetCallerIdentity in the body.
	bodyEnv, bodySig := awsEnvelope(t, upstream.endpoint, aud, alice, true)
	if u, body, h := envelopeHeaders(t, bodyEnv); u != upstream.endpoint+"/" || body != gciBody || h["content-type"] == "" {
		t.Fatalf("body-form envelope %s", bodyEnv)
	}
	status, _, doc = exchangeExternal(t, ex, aud, awsIssuer, bodyEnv)
	bodyCred := granted(t, "the body form", status, doc)
	checkIssued(t, "the body form", ex, bodyCred, xWorkload, session, time.Hour)
	if bodyCred.AccessKeyID == cred.AccessKeyID {
		t.Error("two exchanges issued the same key")
	}
	if n := countEvents(t, upstream, "GetCallerIdentity", aliceKey) - upstreamCalls; n != 2 {
		t.Errorf("the upstream executed %d requests of alice, want 2", n)
	}

	// Two `keyless exchange --aws` at once with alice's key, so in the same
	// second as a rule: each signs its own X-Keyless-Nonce, so they are two
	// signatures (not one replayed), and the upstream keyless verifies each.
	cmds := make([]*exec.Cmd, 2)
	outs := make([]strings.Builder, 2)
	for i := range cmds {
		cmds[i] = exec.Command(binary, "exchange", "--aws", "--sts-endpoint", upstream.endpoint, "--audience", aud,
			"--endpoint", ex.endpoint, "--output", "json")
		cmds[i].Env = append(cleanEnv(t, "AWS_ACCESS_KEY_ID="+aliceKey, "AWS_SECRET_ACCESS_KEY="+aliceSecret), "GORACE="+os.Getenv("GORACE"))
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	var sameSecond []xcCredential
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("keyless exchange %d of 2 at once: %v\n%s", i+1, err, outs[i].String())
			continue
		}
		sameSecond = append(sameSecond, exchangeOutput(t, outs[i].String()))
	}
	if len(sameSecond) == 2 && sameSecond[0].AccessKeyID == sameSecond[1].AccessKeyID {
		t.Error("two exchanges issued the same key")
	}
	if n := countEvents(t, upstream, "GetCallerIdentity", aliceKey) - upstreamCalls; n != 4 {
		t.Errorf("the upstream executed %d requests of alice, want 4", n)
	}

	secrets := map[string]string{
		"alice's secret key": aliceSecret, "the first request's signature": sig, "the body form's signature": bodySig,
		"the issued secret key": cred.SecretAccessKey, "the issued session token": cred.SessionToken,
		"the base64 credential": b64, "the second issued secret key": bodyCred.SecretAccessKey,
		"the second issued session token": bodyCred.SessionToken, "the chained secret key": chained.SecretAccessKey,
		"the chained session token": chained.SessionToken,
	}
	for name, s := range map[string]struct {
		s       *server
		stopped func() string
	}{"the upstream": {upstream, upstreamStopped}, "the exchange": {ex, exStopped}} {
		for where, text := range serverRecords(t, s.s, s.stopped()) {
			noSecrets(t, name+"'s "+where, text, secrets)
		}
	}
}

// TestExchangeAWSSelfUpstream: a keyless that is its own upstream STS
// (exchange.aws.upstreams names its own URL) exchanges the sessions it
// issued. The credentials end with the session that proved them, and
// exchanging them again never moves that end, on either endpoint: a
// session cannot be renewed forever by re-exchanging it
// (docs/token-exchange.md). A session from another keyless is not capped
// (TestExchangeAWSTemporaryCredentials): its end cannot be seen.
func TestExchangeAWSSelfUpstream(t *testing.T) {
	const aud = "e2e-self"
	var ex *server
	for attempt := 1; ; attempt++ {
		addr := freePort(t) // before the configuration, which names it
		self := "http://" + addr
		cfg := writeExchangeConfig(t, xcSetup{
			Upstreams: []map[string]any{loopbackUpstream(self)},
			Providers: []map[string]any{{
				"name": "own-sessions", "issuer": awsIssuer, "subject": "arn:aws:sts::" + xAccount + ":assumed-role/" + xWorkload + "/*",
				"audiences": []string{aud}, "sts_endpoints": []string{self}, "role": xWorkload, "session_name": "renewed", "session_duration": "1h",
			}},
			ReaderTag: [2]string{"team", "self"},
		})
		var err error
		if ex, err = launchAt(t, cfg, addr); err == nil {
			break
		}
		if !strings.Contains(err.Error(), "address already in use") || attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("%v; trying another port", err)
	}
	out, err := goClient(ex, xAdminKey, xAdminSecret, "").AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(xRoleARN(xWorkload)), RoleSessionName: aws.String("source"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatalf("AssumeRole %s for 15 minutes: %v", xWorkload, err)
	}
	end := aws.ToTime(out.Credentials.Expiration).UTC()
	c := tempCreds{aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken)}
	for i := range 3 {
		name := fmt.Sprintf("exchange %d", i+1)
		env, _ := awsEnvelope(t, ex.endpoint, aud, c, i%2 == 1)
		status, _, doc := exchangeExternal(t, ex, aud, awsIssuer, env)
		cred := granted(t, name, status, doc)
		if exp, err := time.Parse(time.RFC3339, cred.Expiration); err != nil || !exp.Equal(end) {
			t.Errorf("%s: expiration %q, want the first session's end %s (the provider grants an hour)", name, cred.Expiration, end.Format(time.RFC3339))
		}
		if id := goIdentity(t, ex, cred.AccessKeyID, cred.SecretAccessKey, cred.SessionToken); id.ARN != xSessionARN(xWorkload, "renewed") {
			t.Errorf("%s: the credentials are %+v", name, id)
		}
		c = cred.creds()
	}
	env, _ := awsEnvelope(t, ex.endpoint, aud, c, false)
	status, _, doc := exchangeToken(t, ex, aud, tokenTypeAWS, env)
	if in, _ := doc["expires_in"].(float64); status != http.StatusOK || in <= 0 || in > time.Until(end).Seconds()+1 {
		t.Errorf("RFC 8693 exchange: %d, expires_in %v, want at most the %.0f s left", status, doc["expires_in"], time.Until(end).Seconds())
	}
	if cred := decodeCredential(t, "RFC 8693 exchange", str(doc["access_token"])); cred.Expiration != end.Format(time.RFC3339) {
		t.Errorf("RFC 8693 exchange: expiration %q, want %s", cred.Expiration, end.Format(time.RFC3339))
	}
}

// TestExchangeAWSTemporaryCredentials: temporary credentials (the AWS CLI
// v1 and v2's and boto3's GetSessionToken from the upstream keyless) sign
// the proof, so X-Amz-Security-Token goes with it: once with `keyless
// exchange`, once signed in Python with botocore's SigV4Auth and sent to
// the RFC 8693 endpoint. The issued credentials then reach the AWS CLI
// through credential_process and `keyless credentials`.
func TestExchangeAWSTemporaryCredentials(t *testing.T) {
	upstream := startServer(t)
	const aud = "e2e-temporary"
	ex := startConfig(t, writeExchangeConfig(t, xcSetup{
		Upstreams: []map[string]any{loopbackUpstream(upstream.endpoint)},
		Providers: []map[string]any{{
			// GetCallerIdentity of a GetSessionToken session names the user.
			"name": "alice-session", "issuer": awsIssuer, "subject": aliceARN, "audiences": []string{aud},
			"sts_endpoints": []string{upstream.endpoint}, "role": xWorkload, "session_name": "temp-alice", "session_duration": "30m",
			"session_tags": map[string]string{"aws-account": "{{ aws_claims.account }}"},
		}},
		ReaderTag: [2]string{"aws-account", account},
	}))
	quickExit(t)
	const session = "temp-alice"
	alice := tempCreds{AccessKeyID: aliceKey, SecretAccessKey: aliceSecret}
	py := requireTool(t, "python3")
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		missing(t, "boto3 is not importable by python3")
	}

	// Temporary credentials of alice from each client.
	type source struct {
		name  string
		creds func(t *testing.T) tempCreds
	}
	cli := func(bin string) func(t *testing.T) tempCreds {
		return func(t *testing.T) tempCreds {
			doc, code := cliRunner{t, bin, upstream.endpoint}.run(alice, "get-session-token", "--duration-seconds", "900")
			if code != "" {
				t.Fatalf("get-session-token: %s", code)
			}
			c, _ := doc["Credentials"].(map[string]any)
			return tempCreds{str(c["AccessKeyId"]), str(c["SecretAccessKey"]), str(c["SessionToken"])}
		}
	}
	sources := []source{
		{"AWSCLIv1", func(t *testing.T) tempCreds {
			bin := requireTool(t, "aws")
			if out, _ := exec.Command(bin, "--version").CombinedOutput(); !strings.HasPrefix(string(out), "aws-cli/1.") {
				missing(t, "aws on PATH is not the AWS CLI v1: "+string(out))
			}
			return cli(bin)(t)
		}},
		{"AWSCLIv2", func(t *testing.T) tempCreds {
			const bin = "/usr/bin/aws"
			if _, err := os.Stat(bin); err != nil {
				missing(t, "Debian's awscli (v2) is not installed at /usr/bin/aws")
			}
			if out, _ := exec.Command(bin, "--version").CombinedOutput(); !strings.HasPrefix(string(out), "aws-cli/2.") {
				t.Fatalf("/usr/bin/aws is not the AWS CLI v2: %s", out)
			}
			return cli(bin)(t)
		}},
		{"boto3", func(t *testing.T) tempCreds {
			cmd := exec.Command(py, "-c", boto3SessionToken)
			cmd.Env = cleanEnv(t, "KEYLESS_STS="+upstream.endpoint, "AWS_ACCESS_KEY_ID="+aliceKey, "AWS_SECRET_ACCESS_KEY="+aliceSecret)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("boto3 get_session_token: %v %s", err, stderrOf(err))
			}
			var c struct {
				AccessKeyID                   string `json:"AccessKeyId"`
				SecretAccessKey, SessionToken string
			}
			if err := json.Unmarshal(out, &c); err != nil {
				t.Fatalf("boto3 get_session_token printed %s", out)
			}
			return tempCreds{c.AccessKeyID, c.SecretAccessKey, c.SessionToken}
		}},
	}

	var issued []string // base64 credential documents
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			c := src.creds(t)
			if !strings.HasPrefix(c.AccessKeyID, "ASIA") || c.SessionToken == "" {
				t.Fatalf("%s's session: %+v", src.name, c)
			}
			if id := goIdentity(t, upstream, c.AccessKeyID, c.SecretAccessKey, c.SessionToken); id.ARN != aliceARN {
				t.Fatalf("the session is %+v, want alice", id)
			}
			// Every proof the session signed reached the upstream keyless
			// and came back as alice, the key being the session's.
			checkEvent := func(t *testing.T, cred xcCredential) {
				t.Helper()
				events := exchangeEvents(t, ex, cred.AccessKeyID)
				if len(events) != 1 {
					t.Fatalf("%d exchange events issued %s", len(events), cred.AccessKeyID)
				}
				if x := extra(events[0]); x["awsAccessKeyId"] != c.AccessKeyID || x["subject"] != aliceARN || x["identityProvider"] != xProviderARN("alice-session") {
					t.Errorf("the exchange event: %v", x)
				}
			}

			t.Run("KeylessExchange", func(t *testing.T) {
				out, errOut, code := runKeyless(t, cleanEnv(t, "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey,
					"AWS_SESSION_TOKEN="+c.SessionToken),
					"exchange", "--aws", "--sts-endpoint", upstream.endpoint, "--audience", aud, "--endpoint", ex.endpoint, "--output", "json")
				if code != 0 {
					t.Fatalf("keyless exchange: exit %d\n%s%s", code, out, errOut)
				}
				cred := exchangeOutput(t, out)
				checkIssued(t, "keyless exchange", ex, cred, xWorkload, session, 30*time.Minute)
				checkEvent(t, cred)
				noSecrets(t, "keyless exchange's standard error", errOut, map[string]string{"the session's secret": c.SecretAccessKey,
					"the session token": c.SessionToken, "the issued secret": cred.SecretAccessKey})
			})
			t.Run("botocore", func(t *testing.T) {
				cmd := exec.Command(py, "-c", botocoreEnvelope)
				cmd.Env = cleanEnv(t, "KEYLESS_STS="+upstream.endpoint, "KEYLESS_EXCHANGE="+ex.endpoint, "KEYLESS_AUDIENCE="+aud,
					"AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey, "AWS_SESSION_TOKEN="+c.SessionToken)
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("botocore: %v %s", err, stderrOf(err))
				}
				var r struct {
					Envelope string         `json:"envelope"`
					Status   int            `json:"status"`
					Response map[string]any `json:"response"`
				}
				if err := json.Unmarshal(out, &r); err != nil {
					t.Fatalf("the botocore script printed %s", out)
				}
				_, _, headers := envelopeHeaders(t, r.Envelope)
				if headers["x-amz-security-token"] != c.SessionToken || headers["x-keyless-audience"] != aud {
					t.Errorf("botocore's envelope does not carry the session token and audience: %s", r.Envelope)
				}
				cred := grantedToken(t, "botocore's request at /v1/token", r.Status, r.Response, 30*time.Minute)
				checkIssued(t, "botocore's request", ex, cred, xWorkload, session, 30*time.Minute)
				checkEvent(t, cred)
				issued = append(issued, str(r.Response["access_token"]))
			})
		})
	}
	if len(issued) == 0 {
		t.Fatal("no credentials were issued")
	}

	// The issued credentials in the AWS CLI: credential_process runs
	// `keyless credentials`, which reads KEYLESS_CONFIG_BASE64.
	doc := issued[0]
	cred := decodeCredential(t, "the issued credential", doc)
	for _, c := range []struct{ name, bin, version string }{{"AWSCLIv1", "aws", "aws-cli/1."}, {"AWSCLIv2", "/usr/bin/aws", "aws-cli/2."}} {
		t.Run("CredentialProcess"+c.name, func(t *testing.T) {
			bin := requireTool(t, c.bin)
			if out, _ := exec.Command(bin, "--version").CombinedOutput(); !strings.HasPrefix(string(out), c.version) {
				missing(t, bin+" is not "+c.version+": "+string(out))
			}
			env := cleanEnv(t, "KEYLESS_CONFIG_BASE64="+doc, "GORACE="+os.Getenv("GORACE"))
			for _, kv := range env {
				if path, ok := strings.CutPrefix(kv, "AWS_CONFIG_FILE="); ok {
					profile := "[profile exchanged]\ncredential_process = " + binary + " credentials\nregion = us-east-1\n"
					if err := os.WriteFile(path, []byte(profile), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			cmd := exec.Command(bin, "sts", "get-caller-identity", "--endpoint-url", ex.endpoint, "--profile", "exchanged", "--output", "json")
			cmd.Env = env
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("aws sts get-caller-identity --profile exchanged: %v\n%s", err, stderrOf(err))
			}
			var id map[string]any
			if err := json.Unmarshal(out, &id); err != nil || id["Arn"] != cred.ARN || id["Account"] != xAccount {
				t.Errorf("get-caller-identity through credential_process: %s, want %s", out, cred.ARN)
			}
			if n := countEvents(t, ex, "GetCallerIdentity", cred.AccessKeyID); n < 1 {
				t.Errorf("no GetCallerIdentity event of %s", cred.AccessKeyID)
			}
		})
	}
}

// boto3SessionToken prints alice's GetSessionToken credentials from
// $KEYLESS_STS, keys from the environment.
const boto3SessionToken = `
import json, os, boto3
c = boto3.client("sts", endpoint_url=os.environ["KEYLESS_STS"], region_name="us-east-1")
creds = c.get_session_token(DurationSeconds=900)["Credentials"]
print(json.dumps({k: creds[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}))
`

// botocoreEnvelope signs GetCallerIdentity for $KEYLESS_STS with botocore's
// SigV4Auth and the environment's credentials (a session token included),
// in the body form, serializes it, and exchanges it at
// $KEYLESS_EXCHANGE/v1/token as Google's STS takes it (the JSON URL-encoded
// once more inside the form). It prints the envelope, the status and the
// JSON response.
//
// The body form also keeps the request apart from the one `keyless
// exchange` signed just before: SigV4 is deterministic, so the same
// request signed with the same credentials in the same second is the same
// signature, which the exchange accepts once.
const botocoreEnvelope = `
import json, os, urllib.error, urllib.parse, urllib.request
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

sts = os.environ["KEYLESS_STS"]
creds = botocore.session.get_session().get_credentials().get_frozen_credentials()
body = "Action=GetCallerIdentity&Version=2011-06-15"
req = AWSRequest(method="POST", url=sts + "/", data=body, headers={
    "X-Keyless-Audience": os.environ["KEYLESS_AUDIENCE"],
    "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(creds, "sts", "us-east-1").add_auth(req)
headers = [{"key": k.lower(), "value": v} for k, v in req.headers.items()]
headers.append({"key": "host", "value": urllib.parse.urlsplit(sts).netloc})
envelope = json.dumps({"url": req.url, "method": "POST", "headers": headers, "body": body})
form = urllib.parse.urlencode({
    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
    "audience": os.environ["KEYLESS_AUDIENCE"],
    "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
    "subject_token": urllib.parse.quote(envelope, safe=""),
}).encode()
r = urllib.request.Request(os.environ["KEYLESS_EXCHANGE"] + "/v1/token", data=form,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
try:
    with urllib.request.urlopen(r, timeout=30) as resp:
        status, body = resp.status, resp.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
print(json.dumps({"envelope": envelope, "status": status, "response": json.loads(body)}))
`

// runKeyless runs the keyless binary with exactly the environment env.
func runKeyless(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	return runIn(t, append(env, "GORACE="+os.Getenv("GORACE")), args...)
}

// exchangeOutput reads `keyless exchange --output json`.
func exchangeOutput(t *testing.T, out string) xcCredential {
	t.Helper()
	var c xcCredential
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("keyless exchange --output json printed %q: %v", out, err)
	}
	return c
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// startMoto runs moto_server on a free loopback port until the test ends,
// and returns its endpoint once it answers GetCallerIdentity.
func startMoto(t *testing.T) string {
	t.Helper()
	bin := requireTool(t, "moto_server")
	for attempt := 1; ; attempt++ {
		addr := freePort(t)
		_, port, _ := net.SplitHostPort(addr)
		logPath := filepath.Join(t.TempDir(), "moto.log")
		logFile, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", port)
		cmd.Env = cleanEnv(t)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		// Its own process group: pyenv's shim may leave a parent between
		// us and the server.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		logFile.Close()
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			}
		}
		t.Cleanup(stop)
		if endpoint, ok := motoAnswers(t, "http://"+addr, exited, logPath); ok {
			return endpoint
		}
		if attempt == 3 {
			t.Fatalf("moto_server could not bind a free port in 3 attempts")
		}
		t.Logf("moto_server could not bind %s; trying another port", addr)
	}
}

// motoAnswers waits until moto_server answers GetCallerIdentity at
// endpoint; false means it exited because the port was taken.
func motoAnswers(t *testing.T, endpoint string, exited <-chan struct{}, logPath string) (string, bool) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			if strings.Contains(string(log), "in use") {
				return "", false
			}
			t.Fatalf("moto_server exited:\n%s", log)
		default:
		}
		resp, err := client.Post(endpoint+"/?"+gciBody, "", nil)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return endpoint, true
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("moto_server did not answer on %s: %v\n%s", endpoint, err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestExchangeAWSMotoUpstream: moto_server as the upstream STS (it answers
// every signature with its own user). A provider for moto's caller admits
// it; a provider for another ARN refuses it, and the operator's explain
// says which check failed.
func TestExchangeAWSMotoUpstream(t *testing.T) {
	moto := startMoto(t)
	const motoARN = "arn:aws:sts::123456789012:user/moto"
	ex := startConfig(t, writeExchangeConfig(t, xcSetup{
		Upstreams: []map[string]any{loopbackUpstream(moto)},
		Providers: []map[string]any{{
			// moto's ARN is not a real IAM or STS caller ARN (sts with
			// user/...), which the scoping lint cannot judge.
			"name": "moto", "issuer": awsIssuer, "subject": motoARN, "broad_trust_intended": true, "sts_endpoints": []string{moto},
			"audiences": []string{"e2e-moto"}, "role": xWorkload, "session_name": "moto-{{ aws_claims.userid }}",
			"session_tags": map[string]string{"aws-account": "{{ aws_claims.account }}"},
		}, {
			"name": "someone-else", "issuer": awsIssuer, "subject": "arn:aws:iam::123456789012:user/someone-else", "sts_endpoints": []string{moto},
			"audiences": []string{"e2e-moto-other"}, "role": xWorkload,
		}},
		ReaderTag: [2]string{"aws-account", "123456789012"},
	}))
	quickExit(t)
	// moto checks no signature, and answers every key it does not know
	// with its default user, whose UserId is the documentation's key id.
	caller := tempCreds{AccessKeyID: "AKIAMOTOCALLER000001", SecretAccessKey: "motoChecksNoSignatureSoAnySecretWillDo0"}
	const session = "moto-AKIAIOSFODNN7EXAMPLE"
	admin := tempCreds{AccessKeyID: xAdminKey, SecretAccessKey: xAdminSecret}

	env, _ := awsEnvelope(t, moto, "e2e-moto", caller, false)
	// The operator's explain first: a dry run, which must not consume
	// the signature.
	status, _, doc := explain(t, ex, admin, map[string]string{"audience": "e2e-moto", "issuer_uri": awsIssuer, "jwt_token": env})
	if status != http.StatusOK || doc["granted"] != true || doc["provider"] != xProviderARN("moto") || doc["role_arn"] != xRoleARN(xWorkload) || doc["subject"] != motoARN {
		t.Errorf("explain of moto's caller: %d %v", status, doc)
	}
	status, _, doc = exchangeExternal(t, ex, "e2e-moto", awsIssuer, env)
	cred := granted(t, "moto's caller", status, doc)
	checkIssued(t, "moto's caller", ex, cred, xWorkload, session, time.Hour)
	checkChain(t, ex, cred.creds(), "chained")
	if x := extra(exchangeEvents(t, ex, cred.AccessKeyID)[0]); x["subject"] != motoARN || x["awsAccessKeyId"] != caller.AccessKeyID || x["identityProvider"] != xProviderARN("moto") {
		t.Errorf("the exchange event: %v", x)
	}

	// The provider of another ARN: refused, and the caller learns nothing
	// but a request id.
	other, _ := awsEnvelope(t, moto, "e2e-moto-other", caller, false)
	status, hdr, doc := exchangeExternal(t, ex, "e2e-moto-other", awsIssuer, other)
	rid := refused(t, "moto's caller for another ARN's provider", status, hdr, doc, http.StatusBadRequest, "invalid_request")
	if e := auditEvent(t, ex, "ExchangeExternalToken", rid); e["errorCode"] != "invalid_request" || extra(e)["reason"] != "no_provider_matched" || extra(e)["subject"] != motoARN {
		t.Errorf("the refusal's audit event: %v", e)
	}

	// The operator's explain says why: the subject did not match. It
	// explains a request signed anew (with another secret, which moto does
	// not check: the same one in the same second signs the same request):
	// the refused one's signature was used up when it went upstream, and a
	// dry run that checks single use calls it replayed.
	again, _ := awsEnvelope(t, moto, "e2e-moto-other", tempCreds{AccessKeyID: caller.AccessKeyID, SecretAccessKey: caller.SecretAccessKey + "2"}, false)
	req := map[string]string{"audience": "e2e-moto-other", "issuer_uri": awsIssuer, "jwt_token": again, "subject_token_type": tokenTypeAWS}
	status, _, doc = explain(t, ex, admin, req)
	subjectStep := traceStep(doc, xAccount+"/someone-else", "subject")
	if status != http.StatusOK || doc["granted"] != false || doc["reason"] != "no_provider_matched" || doc["subject"] != motoARN ||
		subjectStep == nil || subjectStep["passed"] != false || !strings.Contains(str(subjectStep["detail"]), motoARN) {
		t.Errorf("explain of the refusal: %d %v", status, doc)
	}
	if s := traceStep(doc, "", "aws_request"); s == nil || s["passed"] != true {
		t.Errorf("explain: the AWS request's verification is not a passed step: %v", doc["trace"])
	}
	// Explain is for the operator: refused unsigned, and to a session
	// without keyless:ExplainExchange.
	status, _, doc = explain(t, ex, tempCreds{}, req)
	if status != http.StatusForbidden || doc["error"] != "access_denied" || doc["trace"] != nil {
		t.Errorf("unsigned explain: %d %v", status, doc)
	}
	status, _, doc = explain(t, ex, cred.creds(), req)
	if status != http.StatusForbidden || doc["error"] != "access_denied" || doc["trace"] != nil {
		t.Errorf("explain by the Workload session: %d %v", status, doc)
	}

	t.Run("KeylessExchangeExplain", func(t *testing.T) { keylessExplain(t, moto, ex) })
}

// keylessExplain runs `keyless exchange --explain` with the admin's
// profile for a caller of moto that no provider of audience e2e-moto-other
// admits.
func keylessExplain(t *testing.T, moto string, ex *server) {
	env := cleanEnv(t, "AWS_ACCESS_KEY_ID=AKIAMOTOCALLER000002", "AWS_SECRET_ACCESS_KEY=motoChecksNoSignatureSoAnySecretWillDo0")
	for _, kv := range env {
		if path, ok := strings.CutPrefix(kv, "AWS_SHARED_CREDENTIALS_FILE="); ok {
			creds := "[keyless-admin]\naws_access_key_id = " + xAdminKey + "\naws_secret_access_key = " + xAdminSecret + "\n"
			if err := os.WriteFile(path, []byte(creds), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	out, errOut, code := runKeyless(t, env, "exchange", "--aws", "--sts-endpoint", moto, "--audience", "e2e-moto-other",
		"--endpoint", ex.endpoint, "--explain", "--explain-profile", "keyless-admin", "--output", "json")
	// Exit 1: the exchange would be refused; the trace says why.
	want := []string{"✓ aws_request upstream " + strings.TrimPrefix(moto, "http://") + " answered arn:aws:sts::123456789012:user/moto",
		"✗ " + xAccount + "/someone-else subject ", "refused: no_provider_matched"}
	if code != 1 || slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(out, w) }) {
		t.Errorf("keyless exchange --explain: exit %d, want 1 and lines with %q:\n%s%s", code, want, out, errOut)
	}
	noSecrets(t, "keyless exchange --explain's output", out+errOut, map[string]string{"the admin's secret": xAdminSecret})

	// --explain-profile alone: the exchange is refused, then explained
	// (with a request signed anew) on standard error; nothing on standard
	// output. Without it, a hint names the request id.
	out, errOut, code = runKeyless(t, env, "exchange", "--aws", "--sts-endpoint", moto, "--audience", "e2e-moto-other",
		"--endpoint", ex.endpoint, "--explain-profile", "keyless-admin", "--output", "env")
	want = append([]string{"keyless exchange: refused (invalid_request): The token exchange was refused. Request id: ",
		"proof: a newly signed AWS GetCallerIdentity request"}, want...)
	if code != 1 || out != "" || slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(errOut, w) }) {
		t.Errorf("keyless exchange --explain-profile, refused: exit %d, want 1 and lines with %q; stdout %q, stderr:\n%s", code, want, out, errOut)
	}
	out, errOut, code = runKeyless(t, env, "exchange", "--aws", "--sts-endpoint", moto, "--audience", "e2e-moto-other",
		"--endpoint", ex.endpoint)
	if m := regexp.MustCompile(`Request id: (\S+)\.\n`).FindStringSubmatch(errOut); code != 1 || out != "" || m == nil ||
		!strings.Contains(errOut, "request id "+m[1]+": an operator allowed keyless:ExplainExchange can see the reason") {
		t.Errorf("keyless exchange, refused: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}

// TestExchangeOIDCDex: alice's Dex ID token, through ExchangeExternalToken
// and the RFC 8693 endpoint; each token once; bob's token refused by the
// claim condition; the issued credentials in boto3 and the JavaScript SDK.
func TestExchangeOIDCDex(t *testing.T) {
	d := startDex(t)
	aliceSub := dexSubject(dexUsers[0].UserID, dexConnector)
	bobSub := dexSubject(dexUsers[1].UserID, dexConnector)
	email := dexUsers[0].Email
	ex, stopped := startWith(t, writeExchangeConfig(t, xcSetup{
		OIDC: []map[string]any{{"url": d.Issuer, "client_ids": []string{}, "allow_http_loopback": true}},
		Providers: []map[string]any{{
			"name": "dex-alice", "issuer": d.Issuer, "subject": aliceSub, "audiences": []string{d.ClientID},
			"conditions": []any{map[string]any{"claim": "email", "equals": []string{email}}},
			"role":       xWorkload, "session_name": "dex-{{ name }}",
			"session_tags": map[string]string{"email": "{{ email }}"},
		}, {
			// bob's subject, but the condition wants another address.
			"name": "dex-bob", "issuer": d.Issuer, "subject": bobSub, "audiences": []string{d.ClientID},
			"conditions": []any{map[string]any{"claim": "email", "equals": []string{"bob@example.org"}}},
			"role":       xWorkload,
		}},
		ReaderTag: [2]string{"email", email},
	}))
	quickExit(t)
	const session = "dex-alice"
	admin := tempCreds{AccessKeyID: xAdminKey, SecretAccessKey: xAdminSecret}

	// ExchangeExternalToken, then the same token again.
	first := d.idToken(t, email)
	status, _, doc := exchangeExternal(t, ex, d.ClientID, d.Issuer, first)
	cred := granted(t, "alice's token", status, doc)
	checkIssued(t, "alice's token", ex, cred, xWorkload, session, time.Hour)
	chained := checkChain(t, ex, cred.creds(), "chained")
	events := exchangeEvents(t, ex, cred.AccessKeyID)
	if len(events) != 1 {
		t.Fatalf("%d exchange events issued %s", len(events), cred.AccessKeyID)
	}
	user, _ := events[0]["userIdentity"].(map[string]any)
	if x := extra(events[0]); x["identityProvider"] != xProviderARN("dex-alice") || x["subject"] != aliceSub ||
		user["type"] != "WebIdentityUser" || user["userName"] != aliceSub || user["identityProvider"] != d.Issuer {
		t.Errorf("the exchange event: userIdentity %v, additionalEventData %v", user, x)
	}
	status, hdr, doc := exchangeExternal(t, ex, d.ClientID, d.Issuer, first)
	rid := refused(t, "alice's token again", status, hdr, doc, http.StatusBadRequest, "invalid_request")
	if e := auditEvent(t, ex, "ExchangeExternalToken", rid); extra(e)["reason"] != "token_replayed" {
		t.Errorf("the replay's audit event: %v", e)
	}

	// RFC 8693, then the same token again (as an id_token this time).
	second := d.idToken(t, email)
	status, _, doc = exchangeToken(t, ex, d.ClientID, tokenTypeJWT, second)
	tokenCred := grantedToken(t, "alice's token at /v1/token", status, doc, time.Hour)
	checkIssued(t, "alice's token at /v1/token", ex, tokenCred, xWorkload, session, time.Hour)
	if n := len(exchangeEvents(t, ex, tokenCred.AccessKeyID)); n != 1 {
		t.Errorf("%d exchange events issued %s", n, tokenCred.AccessKeyID)
	}
	status, hdr, doc = exchangeToken(t, ex, d.ClientID, tokenTypeIDToken, second)
	refused(t, "the /v1/token token again", status, hdr, doc, http.StatusBadRequest, "invalid_request")
	status, hdr, doc = exchangeExternal(t, ex, d.ClientID, d.Issuer, second)
	refused(t, "the /v1/token token at ExchangeExternalToken", status, hdr, doc, http.StatusBadRequest, "invalid_request")

	// bob: dex-alice's subject does not match, dex-bob's condition fails.
	bob := d.idToken(t, dexUsers[1].Email)
	status, hdr, doc = exchangeExternal(t, ex, d.ClientID, d.Issuer, bob)
	rid = refused(t, "bob's token", status, hdr, doc, http.StatusBadRequest, "invalid_request")
	if e := auditEvent(t, ex, "ExchangeExternalToken", rid); extra(e)["reason"] != "no_provider_matched" || extra(e)["subject"] != bobSub {
		t.Errorf("bob's refusal's audit event: %v", e)
	}
	status, _, doc = explain(t, ex, admin, map[string]string{"audience": d.ClientID, "issuer_uri": d.Issuer, "jwt_token": bob})
	aliceStep := traceStep(doc, xAccount+"/dex-alice", "subject")
	bobSubject := traceStep(doc, xAccount+"/dex-bob", "subject")
	bobCondition := traceStep(doc, xAccount+"/dex-bob", "condition email")
	if status != http.StatusOK || doc["granted"] != false || aliceStep == nil || aliceStep["passed"] != false ||
		bobSubject == nil || bobSubject["passed"] != true || bobCondition == nil || bobCondition["passed"] != false {
		t.Errorf("explain of bob's token: %d %v", status, doc)
	}

	// The issued credentials in other SDKs.
	credsEnv := func(c xcCredential) string {
		b, _ := json.Marshal(map[string]string{"endpoint": ex.endpoint, "accessKeyId": c.AccessKeyID,
			"secretAccessKey": c.SecretAccessKey, "sessionToken": c.SessionToken})
		return "KEYLESS_CREDENTIALS=" + string(b)
	}
	checkIdentity := func(t *testing.T, name string, out []byte, c xcCredential) {
		t.Helper()
		var id map[string]any
		if err := json.Unmarshal(out, &id); err != nil || id["Arn"] != c.ARN || id["Account"] != xAccount ||
			!strings.HasSuffix(str(id["UserId"]), ":"+session) {
			t.Errorf("%s GetCallerIdentity: %s, want %s", name, out, c.ARN)
		}
	}
	t.Run("boto3", func(t *testing.T) {
		py := requireTool(t, "python3")
		if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
			missing(t, "boto3 is not importable by python3")
		}
		cmd := exec.Command(py, "-c", `
import json, os, boto3
c = json.loads(os.environ["KEYLESS_CREDENTIALS"])
r = boto3.client("sts", endpoint_url=c["endpoint"], region_name="us-east-1", aws_access_key_id=c["accessKeyId"],
                 aws_secret_access_key=c["secretAccessKey"], aws_session_token=c["sessionToken"]).get_caller_identity()
r.pop("ResponseMetadata", None)
print(json.dumps(r))
`)
		cmd.Env = cleanEnv(t, credsEnv(cred))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("boto3: %v\n%s", err, stderrOf(err))
		}
		checkIdentity(t, "boto3", out, cred)
	})
	t.Run("JavaScript", func(t *testing.T) {
		node := requireTool(t, "node")
		if _, err := os.Stat("js/node_modules/@aws-sdk/client-sts/package.json"); err != nil {
			missing(t, "@aws-sdk/client-sts is not installed (npm ci --prefix test/e2e/js)")
		}
		cmd := exec.Command(node, "--input-type=module", "-e", `
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
const c = JSON.parse(process.env.KEYLESS_CREDENTIALS);
const client = new STSClient({ region: "us-east-1", endpoint: c.endpoint,
  credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken } });
const { $metadata, ...id } = await client.send(new GetCallerIdentityCommand({}));
console.log(JSON.stringify(id));
`)
		cmd.Dir = "js"
		cmd.Env = cleanEnv(t, credsEnv(tokenCred))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("@aws-sdk/client-sts: %v\n%s", err, stderrOf(err))
		}
		checkIdentity(t, "@aws-sdk/client-sts", out, tokenCred)
	})

	// No token, and nothing issued, in the log or the audit trail.
	secrets := map[string]string{"the issued secret key": cred.SecretAccessKey, "the issued session token": cred.SessionToken,
		"the second issued secret key": tokenCred.SecretAccessKey, "the chained secret key": chained.SecretAccessKey}
	for name, tok := range map[string]string{"alice's first": first, "alice's second": second, "bob's": bob} {
		secrets[name+" token's signature"] = tok[strings.LastIndexByte(tok, '.')+1:]
	}
	for where, text := range serverRecords(t, ex, stopped()) {
		noSecrets(t, "the exchange's "+where, text, secrets)
	}
}
