package loginapi_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/logincreds"
	"github.com/aws/aws-sdk-go-v2/service/signin"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/edge/edgetest"
	"github.com/keyless-dev/keyless/internal/login"
	"github.com/keyless-dev/keyless/internal/loginapi"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage/memory"
	"github.com/keyless-dev/keyless/internal/sts"
)

var alice = login.Principal{ARN: "arn:aws:iam::111122223333:user/alice", ID: "AIDAALICE"}

type macKeys struct{}

func (macKeys) ActiveMACKey() (uint32, []byte, error) {
	return 7, []byte("0123456789abcdef0123456789abcdef"), nil
}
func (macKeys) MACKey(_ context.Context, id uint32) ([]byte, error) {
	if id != 7 {
		return nil, login.ErrUnknownKey
	}
	return []byte("0123456789abcdef0123456789abcdef"), nil
}

// issuer numbers the credentials it issues; refuse, when set, is what
// its check answers.
type issuer struct {
	mu     sync.Mutex
	n      int
	refuse *login.Error
}

func (i *issuer) Check(context.Context, login.Principal, string, time.Time, sts.Origin) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.refuse != nil {
		return i.refuse
	}
	return nil
}

func (i *issuer) Credentials(_ context.Context, _ login.Principal, expires time.Time) (sts.Credentials, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.n++
	return sts.Credentials{AccessKeyID: "ASIAKEYLESSTEST" + string(rune('A'+i.n)), Secret: secret.NewString("secret-" + string(rune('a'+i.n))),
		SessionToken: secret.NewString("token-" + string(rune('a'+i.n))), Expiration: expires}, nil
}

func (i *issuer) IDToken(context.Context, login.Principal, string) (secret.String, error) {
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"` + alice.ARN + `"}`))
	return secret.NewString("eyJhbGciOiJFUzI1NiJ9." + claims + ".c2ln"), nil
}

type fixture struct {
	srv    *httptest.Server
	login  *login.Service
	iss    *issuer
	events *edgetest.Recorder
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{iss: &issuer{}, events: &edgetest.Recorder{}}
	f.login = login.New(login.Options{Store: memory.New(), Keys: macKeys{}, Issuer: f.iss, Clock: clock.System{}, Random: rand.Reader})
	f.srv = edgetest.Serve(t, f.events, func(url string) *edge.Surface {
		return loginapi.New(loginapi.Options{Login: f.login, PublicURL: url, Region: "us-east-1"}).Surface()
	})
	return f
}

// proof is a DPoP proof by go-jose, as a client other than the SDK makes
// it.
func proof(t *testing.T, k *ecdsa.PrivateKey, url string) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"htm": "POST", "htu": url, "iat": time.Now().Unix(), "jti": rand.Text()})
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const verifier = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-._~"

// post sends a token call.
func (f *fixture) post(t *testing.T, dpopProof string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/v1/token", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if dpopProof != "" {
		req.Header.Set("DPoP", dpopProof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, out
}

// The code call over HTTP, then aws-sdk-go-v2's login credential provider
// (logincreds with the signin client, unmodified) refreshing from a cache
// file as the CLI writes it, and its reading of our refusals.
func TestTokenWithTheGoSDK(t *testing.T) {
	f := newFixture(t)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(verifier))
	redirect := "http://127.0.0.1:53121/oauth/callback"
	code, err := f.login.IssueCode(context.Background(), login.Grant{Client: login.SameDevice, RedirectURI: redirect,
		Challenge: base64.RawURLEncoding.EncodeToString(sum[:]), Principal: alice, SignedInAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	status, _, out := f.post(t, proof(t, k, f.srv.URL+"/v1/token"), map[string]string{"clientId": login.SameDevice, "grantType": "authorization_code",
		"code": code.Reveal(), "redirectUri": redirect, "codeVerifier": verifier})
	if status != 200 || out["tokenType"] != "aws_sigv4" || out["idToken"] == nil || out["refreshToken"] == nil || out["expiresIn"].(float64) > 900 {
		t.Fatalf("code call: %d %v", status, out)
	}
	ev := f.events.Last()
	if ev.EventSource != "signin.amazonaws.com" || ev.EventName != "CreateOAuth2Token" || ev.UserIdentity.ARN != alice.ARN || ev.IssuedKeyID == "" {
		t.Errorf("event: %+v", ev)
	}
	line := string(audit.Encode(ev))
	for _, s := range []string{code.Reveal(), verifier, out["refreshToken"].(string), "secret-", "token-"} {
		if strings.Contains(line, s) {
			t.Errorf("the event holds a secret (%.8s...): %s", s, line)
		}
	}

	// The same code again, proving the same: refused, and the event says
	// whose session it ended (review finding L9).
	status, _, _ = f.post(t, proof(t, k, f.srv.URL+"/v1/token"), map[string]string{"clientId": login.SameDevice, "grantType": "authorization_code",
		"code": code.Reveal(), "redirectUri": redirect, "codeVerifier": verifier})
	if ev := f.events.Last(); status != 400 || ev.UserIdentity.ARN != alice.ARN || ev.AdditionalEventData["family"] == "" ||
		ev.AdditionalEventData["reason"] != "code_reused" {
		t.Errorf("a replayed code: %d %+v", status, ev)
	}
	code, err = f.login.IssueCode(context.Background(), login.Grant{Client: login.SameDevice, RedirectURI: redirect,
		Challenge: base64.RawURLEncoding.EncodeToString(sum[:]), Principal: alice, SignedInAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	status, _, out = f.post(t, proof(t, k, f.srv.URL+"/v1/token"), map[string]string{"clientId": login.SameDevice, "grantType": "authorization_code",
		"code": code.Reveal(), "redirectUri": redirect, "codeVerifier": verifier})
	if status != 200 {
		t.Fatalf("a second sign-in: %d %v", status, out)
	}

	// The cache file the CLI would write, its credentials already expired
	// so that the provider refreshes.
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	acc := out["accessToken"].(map[string]any)
	cache := map[string]any{
		"accessToken": map[string]any{"accessKeyId": acc["accessKeyId"], "secretAccessKey": acc["secretAccessKey"], "sessionToken": acc["sessionToken"],
			"accountId": "111122223333", "expiresAt": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)},
		"tokenType": "aws_sigv4", "clientId": login.SameDevice, "refreshToken": out["refreshToken"], "idToken": out["idToken"],
		"dpopKey": string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})),
	}
	path := filepath.Join(t.TempDir(), "cache.json")
	write := func(m map[string]any) {
		b, _ := json.Marshal(m)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(cache)
	client := signin.New(signin.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.srv.URL)})
	p := logincreds.New(client, path)
	creds, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("the SDK's refresh: %v", err)
	}
	if creds.AccessKeyID == acc["accessKeyId"] || !strings.HasPrefix(creds.AccessKeyID, "ASIAKEYLESSTEST") || time.Until(creds.Expires) > 15*time.Minute {
		t.Fatalf("refreshed credentials: %+v", creds)
	}
	var saved map[string]any
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &saved); err != nil || saved["refreshToken"] == out["refreshToken"] {
		t.Fatalf("the SDK did not save a new refresh token: %v", err)
	}
	if ev := f.events.Last(); ev.AdditionalEventData["generation"] != "2" || ev.IssuedKeyID != creds.AccessKeyID {
		t.Errorf("refresh event: %+v", ev)
	}

	// The SDK's reading of our refusals: expire the cached credentials
	// again and have the issuer refuse.
	for _, tc := range []struct {
		refuse  *login.Error
		refresh string // the cache file's refresh token, if not the saved one
		want    string
	}{
		{&login.Error{Code: login.CredentialsChanged, Reason: "password_changed", Msg: "changed"}, "", "password has changed"},
		{nil, "", "password has changed"}, // the family stays ended, for that reason
		{nil, strings.Repeat("A", 76), "login session has expired"},
	} {
		_ = json.Unmarshal(b, &saved)
		saved["accessToken"].(map[string]any)["expiresAt"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
		if tc.refresh != "" {
			saved["refreshToken"] = tc.refresh
		}
		write(saved)
		f.iss.mu.Lock()
		f.iss.refuse = tc.refuse
		f.iss.mu.Unlock()
		if _, err := p.Retrieve(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want %q from the SDK, got %v", tc.want, err)
		}
	}
}

// The refusals' wire shape: status, x-amzn-errortype, {"error","message"}.
func TestTokenRefusals(t *testing.T) {
	f := newFixture(t)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	url := f.srv.URL + "/v1/token"
	for _, tc := range []struct {
		name   string
		proof  string
		body   any
		status int
		shape  string
		code   string
	}{
		{"no DPoP", "", map[string]string{"clientId": login.SameDevice, "grantType": "refresh_token", "refreshToken": "x"}, 400, "ValidationException", "INVALID_REQUEST"},
		{"DPoP for another URL", proof(t, k, f.srv.URL+"/v1/other"), map[string]string{"clientId": login.SameDevice, "grantType": "refresh_token", "refreshToken": "x"}, 400, "ValidationException", "INVALID_REQUEST"},
		{"unknown client", proof(t, k, url), map[string]string{"clientId": "arn:aws:signin:::devtools/other", "grantType": "refresh_token", "refreshToken": "x"}, 400, "ValidationException", "INVALID_REQUEST"},
		{"password grant", proof(t, k, url), map[string]string{"clientId": login.SameDevice, "grantType": "password"}, 400, "ValidationException", "INVALID_REQUEST"},
		{"unknown refresh token", proof(t, k, url), map[string]string{"clientId": login.SameDevice, "grantType": "refresh_token", "refreshToken": "x"}, 401, "AccessDeniedException", "TOKEN_EXPIRED"},
		{"unknown code", proof(t, k, url), map[string]string{"clientId": login.SameDevice, "grantType": "authorization_code", "code": "x",
			"redirectUri": "http://127.0.0.1:1/oauth/callback", "codeVerifier": verifier}, 401, "AccessDeniedException", "AUTHCODE_EXPIRED"},
		{"a member twice", proof(t, k, url), json.RawMessage(`{"clientId":"` + login.SameDevice + `","clientId":"x"}`), 400, "ValidationException", "INVALID_REQUEST"},
	} {
		status, hdr, out := f.post(t, tc.proof, tc.body)
		if status != tc.status || hdr.Get("x-amzn-errortype") != tc.shape || out["error"] != tc.code || out["message"] == "" {
			t.Errorf("%s: %d %s %v", tc.name, status, hdr.Get("x-amzn-errortype"), out)
		}
		if out["accessToken"] != nil || out["refreshToken"] != nil {
			t.Errorf("%s: credentials in a refusal", tc.name)
		}
		if ev := f.events.Last(); ev.ErrorCode != tc.code {
			t.Errorf("%s: event errorCode %q", tc.name, ev.ErrorCode)
		}
	}
	// No audit, no answer: 503 and no credentials.
	f.events.Fail(errors.New("audit store down"))
	status, hdr, out := f.post(t, proof(t, k, url), map[string]string{"clientId": login.SameDevice, "grantType": "refresh_token", "refreshToken": "x"})
	if status != 503 || hdr.Get("x-amzn-errortype") != "InternalServerException" || out["error"] != "server_error" {
		t.Errorf("with the audit store down: %d %s %v", status, hdr.Get("x-amzn-errortype"), out)
	}
	f.events.Fail(nil)
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
