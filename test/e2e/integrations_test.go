package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/keyless-dev/keyless/test/internal/proc"
)

// Integrations end to end: keyless A reaches a role in account
// 210987654321, whose STS is a second keyless, B, that trusts A's issuer
// (found by discovery over loopback) for the integration's WIF subject
// only. The whole lifecycle, and every kind of consumer.

const (
	targetAccount = "210987654321"
	scannerARN    = "arn:aws:iam::210987654321:role/Scanner"
	daveKey       = "AKIADAVE000000000001"
	daveSecret    = "daveSecretForIntegrations000000000000001"
	erinKey       = "AKIAERIN000000000001"
	erinSecret    = "erinSecretForIntegrations000000000000001"
	scanARN       = "arn:aws:keyless::111122223333:integration/acme/scan"
)

func sourceConfig(targetAddr string, withIntegration bool) string {
	spaces := ""
	if withIntegration {
		spaces = fmt.Sprintf(`
    spaces:
      - id: acme
        integrations:
          - name: scan
            role_arn: %[1]s
            sts_endpoint: http://%[2]s
            allow_http_loopback: true
            session_duration: 15m
          # other: the same role, but its own subject, which the role's
          # trust policy does not name; wrongaud: a token for an audience
          # the target's provider does not list.
          - name: other
            role_arn: %[1]s
            sts_endpoint: http://%[2]s
            allow_http_loopback: true
          - name: wrongaud
            audience: partner
            role_arn: %[1]s
            sts_endpoint: http://%[2]s
            allow_http_loopback: true`, scannerARN, targetAddr)
	}
	return `
integrations:
  check_every: 10s
  missing_after: 20s
accounts:
  - id: "111122223333"` + spaces + `
    users:
      - name: dave
        access_keys: [{id: ` + daveKey + `, secret: ` + daveSecret + `}]
        policies:
          - name: UseIntegrations
            document: '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "keyless:*Integration*", "Resource": "arn:aws:keyless::111122223333:integration/*"}}'
      - name: erin
        access_keys: [{id: ` + erinKey + `, secret: ` + erinSecret + `}]
        policies:
          - name: ListOnly
            document: '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "keyless:ListIntegrations", "Resource": "*"}}'
`
}

func targetConfig(sourceAddr, subject string) string {
	prefix := sourceAddr
	return `
accounts:
  - id: "` + targetAccount + `"
    oidc_providers:
      - url: http://` + sourceAddr + `
        client_ids: [keyless]
        allow_http_loopback: true
    roles:
      - name: Scanner
        trust_policy: '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::` + targetAccount +
		`:oidc-provider/` + prefix + `"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {"` + prefix +
		`:sub": "` + subject + `", "` + prefix + `:aud": "keyless"}}}}'
`
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// hangup reloads a server and waits for it.
func hangup(t *testing.T, s *server) {
	t.Helper()
	n := strings.Count(s.Logs.String(), "configuration reloaded")
	if err := s.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, s, "configuration reloaded", n+1)
}

// integ runs a keyless integrations command as key/secret.
func integ(t *testing.T, endpoint, key, secret string, args ...string) (string, string, int) {
	t.Helper()
	env := cleanEnv(t, "AWS_ACCESS_KEY_ID="+key, "AWS_SECRET_ACCESS_KEY="+secret, "KEYLESS_ENDPOINT_URL="+endpoint)
	return runIn(t, env, append([]string{"integrations"}, args...)...)
}

type integrationDoc struct {
	Status, Failure, Diagnosis string
	Subject                    string `json:"wif_subject"`
	AssumedARN                 string `json:"assumed_arn"`
	Setup                      struct {
		TrustPolicy string `json:"trust_policy"`
		ProviderURL string `json:"provider_url"`
	}
}

func showScan(t *testing.T, a *server, cmd string) (integrationDoc, int) {
	t.Helper()
	return showOne(t, a, cmd, "scan")
}

func showOne(t *testing.T, a *server, cmd, name string) (integrationDoc, int) {
	t.Helper()
	out, errOut, code := integ(t, a.endpoint, daveKey, daveSecret, cmd, name, "--output", "json")
	var d integrationDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("integrations %s: %v\n%s\n%s", cmd, err, out, errOut)
	}
	return d, code
}

func TestIntegrationsAgainstASecondKeyless(t *testing.T) {
	sourceAddr, targetAddr := freePort(t), freePort(t)
	dir := t.TempDir()
	srcPath, tgtPath := filepath.Join(dir, "source.yaml"), filepath.Join(dir, "target.yaml")
	writeFile(t, tgtPath, targetConfig(sourceAddr, "not-yet-known"))
	writeFile(t, srcPath, sourceConfig(targetAddr, true))
	b, err := launchAt(t, tgtPath, targetAddr)
	if err != nil {
		t.Fatal(err)
	}
	a, err := launchAt(t, srcPath, sourceAddr)
	if err != nil {
		t.Fatal(err)
	}

	// Declared, checked at once: B refuses, since its trust policy does
	// not name the integration yet. show says what B needs.
	d, _ := showScan(t, a, "ping")
	if d.Status != "error" || d.Failure != "trust_policy_denied" || !strings.Contains(d.Diagnosis, d.Subject) {
		t.Fatalf("before the target's set-up: %+v", d)
	}
	d, code := showScan(t, a, "show")
	if code != 0 || !strings.HasSuffix(d.Subject, "@integrations.acme.spaces."+sourceAddr) || d.Setup.ProviderURL != a.endpoint ||
		!strings.Contains(d.Setup.TrustPolicy, d.Subject) {
		t.Fatalf("show: %+v", d)
	}
	human, _, _ := integ(t, a.endpoint, daveKey, daveSecret, "show", "acme/scan")
	for _, want := range []string{"WIF subject:", d.Subject, "aws iam create-open-id-connect-provider --url " + a.endpoint, "aws iam create-role"} {
		if !strings.Contains(human, want) {
			t.Errorf("show's text lacks %q:\n%s", want, human)
		}
	}
	subject := d.Subject

	// B's role is set up as show says, with its exact trust policy.
	var policy map[string]any
	if err := json.Unmarshal([]byte(d.Setup.TrustPolicy), &policy); err != nil {
		t.Fatal(err)
	}
	writeFile(t, tgtPath, targetConfig(sourceAddr, subject))
	hangup(t, b)
	d, code = showScan(t, a, "ping")
	if code != 0 || d.Status != "active" || d.AssumedARN != "arn:aws:sts::"+targetAccount+":assumed-role/Scanner/keyless-scan" {
		t.Fatalf("after the set-up: %d %+v", code, d)
	}
	// A token minted for one integration is useless for another, and an
	// audience the target does not list is refused.
	if d, code := showOne(t, a, "ping", "other"); code != 1 || d.Status != "error" || d.Failure != "trust_policy_denied" ||
		d.Subject == subject || !strings.Contains(d.Diagnosis, d.Subject) {
		t.Errorf("another integration on the same role: %d %+v", code, d)
	}
	if d, code := showOne(t, a, "ping", "wrongaud"); code != 1 || d.Status != "error" || d.Failure != "audience_not_allowed" ||
		!strings.Contains(d.Diagnosis, "partner") {
		t.Errorf("an audience the target does not list: %d %+v", code, d)
	}

	// Consumers. The CLI, as credential_process prints it:
	out, errOut, code := integ(t, a.endpoint, daveKey, daveSecret, "credentials", "scan")
	var cp processCreds
	if code != 0 || json.Unmarshal([]byte(out), &cp) != nil || cp.Version != 1 || !strings.HasPrefix(cp.AccessKeyID, "ASIA") {
		t.Fatalf("credentials: %d %s %s", code, out, errOut)
	}
	if id := goIdentity(t, b, cp.AccessKeyID, cp.SecretAccessKey, cp.SessionToken); id.Account != targetAccount ||
		id.ARN != "arn:aws:sts::"+targetAccount+":assumed-role/Scanner/keyless-scan" {
		t.Errorf("the handed-out credentials are %+v", id)
	}
	// credential_process in the AWS CLI and boto3.
	profileEnv := cleanEnv(t, "AWS_ACCESS_KEY_ID="+daveKey, "AWS_SECRET_ACCESS_KEY="+daveSecret, "KEYLESS_ENDPOINT_URL="+a.endpoint)
	home := strings.TrimPrefix(profileEnv[0], "HOME=")
	writeFile(t, filepath.Join(home, "config"), "[profile scan]\ncredential_process = "+binary+" integrations credentials acme/scan\n")
	for _, run := range []struct {
		name string
		cmd  []string
	}{
		{"aws", []string{"aws", "--profile", "scan", "--endpoint-url", b.endpoint, "sts", "get-caller-identity", "--output", "json"}},
		{"python3", []string{"python3", "-c", `import boto3,json; print(json.dumps(boto3.Session(profile_name="scan").client("sts", endpoint_url="` +
			b.endpoint + `").get_caller_identity()))`}},
	} {
		path := requireTool(t, run.name)
		cmd := exec.Command(path, run.cmd[1:]...)
		// The consumer's own keys are dave's, for credential_process; the
		// profile's are the integration's.
		cmd.Env = profileEnv
		cmd.Env = append(cmd.Env[:len(cmd.Env):len(cmd.Env)], "AWS_PROFILE=scan")
		out, err := cmd.Output()
		var id struct{ Arn, Account string }
		if err != nil || json.Unmarshal(out, &id) != nil || id.Account != targetAccount || !strings.Contains(id.Arn, "assumed-role/Scanner/") {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Errorf("%s with credential_process: %v %s %s", run.name, err, out, stderr)
		}
	}
	// The HTTP API, signed by aws-sdk-go-v2's signer.
	status, body := sdkGet(t, a.endpoint+"/v1/integrations/acme/scan/credentials", daveKey, daveSecret)
	var api processCreds
	if status != 200 || json.Unmarshal([]byte(body), &api) != nil {
		t.Fatalf("HTTP API: %d", status)
	}
	// The cache's credentials: the CLI's, or fresher ones a periodic check
	// put there since.
	if id := goIdentity(t, b, api.AccessKeyID, api.SecretAccessKey, api.SessionToken); id.ARN != "arn:aws:sts::"+targetAccount+":assumed-role/Scanner/keyless-scan" {
		t.Errorf("the HTTP API's credentials are %+v", id)
	}
	// A consumer without the permission: refused, one event.
	_, errOut, code = integ(t, a.endpoint, erinKey, erinSecret, "credentials", "acme/scan")
	if code == 0 || !strings.Contains(errOut, "AccessDenied") {
		t.Errorf("erin: %d %s", code, errOut)
	}
	status, body = sdkGet(t, a.endpoint+"/v1/integrations/acme/nonexistent/credentials", erinKey, erinSecret)
	if status != 403 || !strings.Contains(body, "AccessDenied") {
		t.Errorf("erin, an integration that does not exist: %d %s (must not tell)", status, body)
	}
	if n := countEvents(t, a, "GetIntegrationCredentials", erinKey); n != 2 {
		t.Errorf("%d events for erin's two refusals", n)
	}
	handouts := a.audit(t, "--event-name", "GetIntegrationCredentials", "--access-key-id", daveKey)
	if len(handouts) < 4 {
		t.Errorf("%d hand-outs audited, want at least 4", len(handouts))
	}
	for _, ev := range handouts {
		if ev["errorCode"] == nil && !strings.Contains(fmt.Sprint(ev["responseElements"]), "assumed-role/Scanner/keyless-scan") {
			t.Errorf("hand-out event lacks the target session: %v", ev)
		}
	}

	// B's trust policy broken: error, with the access-denied diagnosis.
	writeFile(t, tgtPath, targetConfig(sourceAddr, "someone-else@integrations.acme.spaces."+sourceAddr))
	hangup(t, b)
	d, code = showScan(t, a, "ping")
	if code != 1 || d.Status != "error" || d.Failure != "trust_policy_denied" || !strings.Contains(d.Diagnosis, sourceAddr+":sub = "+subject) {
		t.Fatalf("trust broken: %d %+v", code, d)
	}
	// B stopped: error, unreachable; then missing once no check succeeded
	// for missing_after (20 s).
	b.stop(t)
	d, _ = showScan(t, a, "ping")
	if d.Status != "error" || d.Failure != "target_unreachable" {
		t.Fatalf("target stopped: %+v", d)
	}
	deadline := time.Now().Add(60 * time.Second)
	for d.Status != "missing" && time.Now().Before(deadline) {
		time.Sleep(time.Second)
		d, _ = showScan(t, a, "show")
	}
	if d.Status != "missing" {
		t.Fatalf("no success for over missing_after: %+v", d)
	}
	// The sweep records it (and audits it) within a second or so.
	for deadline := time.Now().Add(20 * time.Second); !strings.HasSuffix(scanStatuses(t, a), " missing") && time.Now().Before(deadline); {
		time.Sleep(300 * time.Millisecond)
	}
	// Removed from A's configuration: deleted, the record kept.
	writeFile(t, srcPath, sourceConfig(targetAddr, false))
	hangup(t, a)
	deadline = time.Now().Add(30 * time.Second)
	for {
		out, _, _ = integ(t, a.endpoint, daveKey, daveSecret, "list", "--output", "json")
		if strings.Count(out, `"status": "deleted"`) == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(out, scanARN) || strings.Count(out, `"status": "deleted"`) != 3 {
		t.Fatalf("after removal: %s", out)
	}

	// Every status change was audited once, in order (the last by the
	// sweep after the reload).
	const want = "configuring error active error missing deleted"
	got := scanStatuses(t, a)
	for deadline := time.Now().Add(30 * time.Second); got != want && time.Now().Before(deadline); got = scanStatuses(t, a) {
		time.Sleep(500 * time.Millisecond)
	}
	if got != want {
		t.Errorf("audited status changes: %s, want %s", got, want)
	}
	_, metrics := httpGet(t, a.endpoint+"/metrics")
	for _, want := range []string{`keyless_integrations{status="deleted"} 3`, `keyless_integrations{status="active"} 0`,
		`keyless_integration_status{integration="` + scanARN + `",status="deleted"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// No handed-out secret reached A's audit trail or log.
	for _, text := range []string{auditText(t, a.dataDir), a.Logs.String()} {
		if strings.Contains(text, cp.SecretAccessKey) || strings.Contains(text, cp.SessionToken) || strings.Contains(text, "eyJ") {
			t.Error("a target secret or a token reached A's audit trail or log")
		}
	}
}

// processCreds is the credential_process shape.
type processCreds struct {
	Version                                   int
	AccessKeyID                               string `json:"AccessKeyId"`
	SecretAccessKey, SessionToken, Expiration string
}

// scanStatuses is the audited status changes of integration scan, in
// order.
func scanStatuses(t *testing.T, a *server) string {
	t.Helper()
	var seq []string
	for _, ev := range a.audit(t, "--event-name", "IntegrationStatusChanged") {
		r, _ := ev["responseElements"].(map[string]any)
		if p, _ := ev["requestParameters"].(map[string]any); p["integration"] == scanARN {
			seq = append(seq, fmt.Sprint(r["status"]))
		}
	}
	return strings.Join(seq, " ")
}

// sdkGet GETs url signed by aws-sdk-go-v2's SigV4 signer for service
// keyless.
func sdkGet(t *testing.T, url, key, secret string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(nil)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, req,
		hex.EncodeToString(sum[:]), "keyless", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// moto_server as the target account checks that keyless reads AWS-shaped
// answers to AssumeRoleWithWebIdentity, AssumeRole and GetCallerIdentity,
// with both methods. (moto does not verify tokens or keys; the second
// keyless above does.)
func TestIntegrationsAgainstMoto(t *testing.T) {
	moto := startMoto(t)
	host := strings.TrimPrefix(moto, "http://")
	const motoRole = "arn:aws:iam::123456789012:role/Scanner"
	cfg := `
accounts:
  - id: "111122223333"
    spaces:
      - id: acme
        integrations:
          - name: wif
            role_arn: ` + motoRole + `
            sts_endpoint: http://` + host + `
            allow_http_loopback: true
          - name: key
            auth: access_key
            role_arn: ` + motoRole + `
            access_key: {id: AKIAMOTOKEY000000001, secret: motoSecretAnythingGoes0000000000000001}
            sts_endpoint: http://` + host + `
            allow_http_loopback: true
          # nothing listens there
          - name: gone
            role_arn: ` + motoRole + `
            sts_endpoint: http://` + freePort(t) + `
            allow_http_loopback: true
    users:
      # frank may list one integration; gina only another space's.
      - name: frank
        access_keys: [{id: AKIAFRANK00000000001, secret: frankSecretForIntegrations00000000000001}]
        policies:
          - name: ListOne
            document: '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "keyless:ListIntegrations", "Resource": "arn:aws:keyless::111122223333:integration/acme/wif"}}'
      - name: gina
        access_keys: [{id: AKIAGINA000000000001, secret: ginaSecretForIntegrations000000000000001}]
        policies:
          - name: ListOther
            document: '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "keyless:ListIntegrations", "Resource": "arn:aws:keyless::111122223333:integration/other/*"}}'
      - name: dave
        access_keys: [{id: ` + daveKey + `, secret: ` + daveSecret + `}]
        policies:
          - name: UseIntegrations
            document: '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "keyless:*Integration*", "Resource": "*"}}'
`
	path := filepath.Join(t.TempDir(), "keyless.yaml")
	writeFile(t, path, cfg)
	a := startConfig(t, path)
	for _, name := range []string{"wif", "key"} {
		out, errOut, code := integ(t, a.endpoint, daveKey, daveSecret, "ping", "acme/"+name, "--output", "json")
		var d integrationDoc
		if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d.Status != "active" ||
			!strings.HasPrefix(d.AssumedARN, "arn:aws:sts::123456789012:assumed-role/Scanner/") {
			t.Errorf("%s against moto: %d %s %s", name, code, out, errOut)
		}
		out, errOut, code = integ(t, a.endpoint, daveKey, daveSecret, "credentials", "acme/"+name)
		if code != 0 || !strings.Contains(out, `"AccessKeyId":"`) || !strings.Contains(out, `"Expiration":"`) {
			t.Errorf("%s credentials from moto: %d %s %s", name, code, out, errOut)
		}
	}
	// A list shows each caller the integrations it may list; none at all
	// is a refusal.
	out, _, code := integ(t, a.endpoint, "AKIAFRANK00000000001", "frankSecretForIntegrations00000000000001", "list", "--output", "json")
	if code != 0 || !strings.Contains(out, "integration/acme/wif") || strings.Contains(out, "integration/acme/key") {
		t.Errorf("frank's list: %d %s", code, out)
	}
	if _, errOut, code := integ(t, a.endpoint, "AKIAGINA000000000001", "ginaSecretForIntegrations000000000000001", "list"); code == 0 ||
		!strings.Contains(errOut, "AccessDenied") {
		t.Errorf("gina's list: %d %s", code, errOut)
	}
	// A consumer learns a failure's code, not its diagnosis.
	_, errOut, code := integ(t, a.endpoint, daveKey, daveSecret, "credentials", "acme/gone")
	if code == 0 || !strings.Contains(errOut, "TargetUnavailable") || !strings.Contains(errOut, "target_unreachable") ||
		strings.Contains(errOut, "could not be reached") || strings.Contains(errOut, "127.0.0.1") {
		t.Errorf("credentials of an unreachable target: %d %s", code, errOut)
	}
	// The integration's stored access key is used, never shown.
	out, _, _ = integ(t, a.endpoint, daveKey, daveSecret, "show", "acme/key", "--output", "json")
	for what, text := range map[string]string{"show": out, "the audit trail": auditText(t, a.dataDir), "the log": a.Logs.String()} {
		if strings.Contains(text, "motoSecretAnythingGoes") {
			t.Errorf("the access key's secret reached %s", what)
		}
	}
	if !strings.Contains(out, `"access_key_id": "AKIAMOTOKEY000000001"`) || !strings.Contains(out, `"access_key_age_days": 0`) {
		t.Errorf("show of an access_key integration: %s", out)
	}
	// The secret was needed once: keyless keeps it sealed, and after a
	// restart with a configuration that no longer has it, the key works.
	writeFile(t, path, strings.Replace(cfg, ", secret: motoSecretAnythingGoes0000000000000001}", "}", 1))
	addr := a.Addr
	a.stop(t)
	srv, err := proc.Start(binary, "serve", "--config", path, "--addr", addr, "--data-dir", a.dataDir, "--key-encryption-key-file", a.kekFile)
	if err != nil {
		t.Fatal(err)
	}
	again := &server{Server: srv, endpoint: "http://" + srv.Addr, dataDir: a.dataDir, kekFile: a.kekFile}
	t.Cleanup(func() { again.stop(t) })
	out, errOut, code = integ(t, again.endpoint, daveKey, daveSecret, "ping", "acme/key", "--output", "json")
	if code != 0 || !strings.Contains(out, `"status": "active"`) {
		t.Errorf("the stored access key after a restart without its secret: %d %s %s", code, out, errOut)
	}
	if strings.Contains(auditText(t, again.dataDir), "motoSecretAnythingGoes") {
		t.Error("the access key's secret reached the audit trail")
	}
}
