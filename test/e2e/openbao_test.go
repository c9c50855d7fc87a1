package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// OpenBao, a real relying party built from source (scripts/test-deps.sh):
// its JWT auth method finds keyless's account issuer by discovery and
// logs alice in with tokens from GetWebIdentityToken, RS256 and ES384;
// a token for another audience, or for another subject, is refused.

const baoVersion = "v2.4.0"

func baoBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("KEYLESS_OPENBAO")
	if path == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				missing(t, "there is no home directory to find OpenBao in: "+err.Error())
			}
			cache = filepath.Join(home, ".cache")
		}
		path = filepath.Join(cache, "keyless", "openbao-"+baoVersion, "bao")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, path, "version").CombinedOutput(); err != nil {
		missing(t, fmt.Sprintf("OpenBao %s does not run at %s (%v: %s); scripts/test-deps.sh builds it", baoVersion, path, err, strings.TrimSpace(string(out))))
	}
	return path
}

// bao is a dev-mode OpenBao server.
type bao struct {
	addr string
	t    *testing.T
}

func startBao(t *testing.T) *bao {
	t.Helper()
	bin := baoBinary(t)
	addr := freePort(t)
	cluster := freePort(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "server", "-dev", "-dev-listen-address="+addr, "-dev-root-token-id=root", "-dev-no-store-token")
	cmd.Env = append(cleanEnv(t), "BAO_CLUSTER_ADDR=https://"+cluster, "VAULT_CLUSTER_ADDR=https://"+cluster)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("OpenBao's log:\n%s", logs.String())
		}
	})
	b := &bao{addr: addr, t: t}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, _ := b.call("GET", "/v1/sys/health", nil); code == 200 {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("OpenBao did not become ready:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// call sends a request to OpenBao's API as root.
func (b *bao) call(method, path string, body any) (int, map[string]any) {
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, "http://"+b.addr+path, rd)
	req.Header.Set("X-Vault-Token", "root")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (b *bao) must(method, path string, body any) map[string]any {
	b.t.Helper()
	code, out := b.call(method, path, body)
	if code/100 != 2 {
		b.t.Fatalf("OpenBao %s %s: %d %v", method, path, code, out)
	}
	return out
}

func TestOpenBaoTrustsTheAccountIssuer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyless.yaml")
	writeFile(t, path, witConfig)
	s := startConfig(t, path)
	issuers := logIssuers(t, s)
	issuer := issuers[account]
	if issuer == "" {
		t.Fatalf("no account issuer logged: %v", issuers)
	}
	b := startBao(t)
	b.must("POST", "/v1/sys/auth/jwt", map[string]any{"type": "jwt"})
	b.must("POST", "/v1/auth/jwt/config", map[string]any{"oidc_discovery_url": issuer, "bound_issuer": issuer,
		"jwt_supported_algs": []string{"RS256", "ES384"}})
	b.must("POST", "/v1/auth/jwt/role/alice", map[string]any{"role_type": "jwt", "bound_audiences": []string{"svc-openbao"},
		"user_claim": "sub", "bound_subject": aliceARN, "token_policies": []string{"default"}, "token_ttl": "15m"})

	token := func(aud, alg string, key, secret string) string {
		t.Helper()
		out, err := goClient(s, key, secret, "").GetWebIdentityToken(context.Background(), &sts.GetWebIdentityTokenInput{
			Audience: []string{aud}, SigningAlgorithm: aws.String(alg)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.WebIdentityToken)
	}
	login := func(jwt string) (int, map[string]any) {
		return b.call("POST", "/v1/auth/jwt/login", map[string]any{"role": "alice", "jwt": jwt})
	}
	for _, alg := range []string{"RS256", "ES384"} {
		code, out := login(token("svc-openbao", alg, aliceKey, aliceSecret))
		auth, _ := out["auth"].(map[string]any)
		meta, _ := auth["metadata"].(map[string]any)
		if code != 200 || str(auth["client_token"]) == "" || meta["role"] != "alice" {
			t.Errorf("%s: OpenBao login: %d %v", alg, code, out)
		}
	}
	// A token for another audience, and bert's token from another
	// account's issuer (and another subject), are refused.
	if code, out := login(token("svc-a", "RS256", aliceKey, aliceSecret)); code == 200 {
		t.Errorf("a token for another audience logged in: %v", out)
	}
	if code, out := login(token("svc-openbao", "RS256", bertKey, bertSecret)); code == 200 {
		t.Errorf("another account's token logged in: %v", out)
	}
}
