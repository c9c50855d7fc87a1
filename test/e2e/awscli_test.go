package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The AWS CLI v1 (from the image's Python) and v2 (Debian's awscli, at
// /usr/bin/aws). Errors are read from the CLI's own message:
// "An error occurred (Code) when calling the Op operation: ...".
func TestAWSCLIv1(t *testing.T) {
	cli := requireTool(t, "aws")
	if out, _ := exec.Command(cli, "--version").CombinedOutput(); !strings.HasPrefix(string(out), "aws-cli/1.") {
		missing(t, "aws on PATH is not the AWS CLI v1: "+string(out))
	}
	s := runCLI(t, cli)
	// endpoint_url in each profile, as the README shows (CLI v1 >= 1.29).
	// (boto3, the same botocore, runs the chain with AWS_ENDPOINT_URL_STS.)
	cliProfileChain(t, s, cli, s.endpoint)
}

func TestAWSCLIv2(t *testing.T) {
	const cli = "/usr/bin/aws"
	if _, err := os.Stat(cli); err != nil {
		missing(t, "Debian's awscli (v2) is not installed at /usr/bin/aws")
	}
	if out, _ := exec.Command(cli, "--version").CombinedOutput(); !strings.HasPrefix(string(out), "aws-cli/2.") {
		t.Fatalf("/usr/bin/aws is not the AWS CLI v2: %s", out)
	}
	s := runCLI(t, cli)
	// Debian's v2.9 predates AWS_ENDPOINT_URL_STS and the endpoint_url
	// setting (2.13), and --endpoint-url does not reach the client its
	// assume-role credential provider creates, which would call
	// sts.us-east-1.amazonaws.com. Its botocore's data path
	// ($AWS_DATA_PATH) can still replace the STS endpoint rule set, for
	// every STS client of the process.
	cliProfileChain(t, s, cli, "", "AWS_DATA_PATH="+stsEndpointRules(t, s.endpoint))
}

// stsEndpointRules writes a botocore data directory whose STS endpoint
// rule set resolves every request to endpoint, and returns its path.
func stsEndpointRules(t *testing.T, endpoint string) string {
	dir := t.TempDir()
	rules, _ := json.Marshal(map[string]any{
		"version":    "1.0",
		"parameters": map[string]any{"Region": map[string]any{"builtIn": "AWS::Region", "required": false, "type": "String"}},
		"rules": []any{map[string]any{"conditions": []any{}, "type": "endpoint",
			"endpoint": map[string]any{"url": endpoint, "properties": map[string]any{}, "headers": map[string]any{}}}},
	})
	path := filepath.Join(dir, "sts", "2011-06-15", "endpoint-rule-set-1.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, rules, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

var cliError = regexp.MustCompile(`An error occurred \((\w+)\) when calling the (\w+) operation(?:: (.*))?`)

type cliRunner struct {
	t        *testing.T
	cli      string
	endpoint string
}

// run executes `aws sts ARGS` with the credentials c and returns the
// parsed JSON output, or the error code.
func (r cliRunner) run(c tempCreds, args ...string) (map[string]any, string) {
	r.t.Helper()
	doc, code, _ := r.call(c, args...)
	return doc, code
}

// call is run that also returns the error message.
func (r cliRunner) call(c tempCreds, args ...string) (map[string]any, string, string) {
	r.t.Helper()
	cmd := exec.Command(r.cli, append([]string{"sts", "--endpoint-url", r.endpoint, "--output", "json"}, args...)...)
	cmd.Env = cleanEnv(r.t, "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey)
	if c.SessionToken != "" {
		cmd.Env = append(cmd.Env, "AWS_SESSION_TOKEN="+c.SessionToken)
	}
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		if m := cliError.FindStringSubmatch(stderr); m != nil {
			return nil, m[1], m[3]
		}
		r.t.Fatalf("aws %v: %v\n%s", args, err, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		r.t.Fatalf("aws %v printed %s", args, out)
	}
	return doc, "", ""
}

func runCLI(t *testing.T, cli string) *server {
	s, in := newScenario(t)
	r := cliRunner{t, cli, in.Endpoint}
	ok := func(doc map[string]any, code string) map[string]any {
		t.Helper()
		if code != "" {
			t.Fatalf("refused with %s", code)
		}
		return doc
	}
	refused := func(name, want string, _ map[string]any, got string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: got %q, want %s", name, got, want)
		}
	}

	if id := ok(r.run(in.Alice, "get-caller-identity")); id["Arn"] != aliceARN || id["Account"] != account {
		t.Errorf("get-caller-identity: %v", id)
	}
	gst := ok(r.run(in.Alice, "get-session-token", "--duration-seconds", "900"))
	c := gst["Credentials"].(map[string]any)
	sess := tempCreds{str(c["AccessKeyId"]), str(c["SecretAccessKey"]), str(c["SessionToken"])}
	if id := ok(r.run(sess, "get-caller-identity")); id["Arn"] != aliceARN {
		t.Errorf("session identity: %v", id)
	}
	doc, code := r.run(sess, "get-session-token")
	refused("get-session-token with session credentials", "AccessDenied", doc, code)

	mfa := ok(r.run(in.Bob, "get-session-token", "--serial-number", in.Serial, "--token-code", in.Code))
	mc := mfa["Credentials"].(map[string]any)
	if id := ok(r.run(tempCreds{str(mc["AccessKeyId"]), str(mc["SecretAccessKey"]), str(mc["SessionToken"])}, "get-caller-identity")); id["Arn"] != bobARN {
		t.Errorf("bob's MFA session: %v", id)
	}
	doc, code = r.run(in.Bob, "get-session-token", "--serial-number", in.Serial, "--token-code", in.Code)
	refused("replayed MFA code", "AccessDenied", doc, code)

	if info := ok(r.run(in.Alice, "get-access-key-info", "--access-key-id", bobKey)); info["Account"] != account {
		t.Errorf("get-access-key-info: %v", info)
	}
	doc, code = r.run(tempCreds{aliceKey, "not-the-secret", ""}, "get-caller-identity")
	refused("wrong secret", "SignatureDoesNotMatch", doc, code)
	doc, code = r.run(in.Expired, "get-caller-identity")
	refused("expired session", "ExpiredToken", doc, code)
	doc, code = r.run(in.Tampered, "get-caller-identity")
	refused("tampered token", "InvalidClientTokenId", doc, code)

	cliRoles(t, r, in)
	return s
}

// cliRoles runs the role steps of the scripted clients' scenario as CLI
// commands and checks them with checkRoles.
func cliRoles(t *testing.T, r cliRunner, in scenarioInput) {
	report := map[string]step{}
	do := func(name string, c tempCreds, args ...string) tempCreds {
		t.Helper()
		doc, code, msg := r.call(c, args...)
		report[name] = step{OK: doc, Error: code, Message: msg}
		creds, _ := doc["Credentials"].(map[string]any)
		return tempCreds{str(creds["AccessKeyId"]), str(creds["SecretAccessKey"]), str(creds["SessionToken"])}
	}
	requireOK := func(name string) {
		t.Helper()
		if s := report[name]; s.OK == nil {
			t.Fatalf("%s: refused with %s: %s", name, s.Error, s.Message)
		}
	}

	do("gci_alice", in.Alice, "get-caller-identity")
	args := []string{"assume-role", "--role-arn", roles.Demo, "--role-session-name", roles.DemoSession,
		"--transitive-tag-keys", strings.Join(roles.TransitiveKeys, ","), "--source-identity", roles.SourceIdentity,
		"--policy", roles.Policy, "--tags"}
	for _, tag := range roles.Tags {
		args = append(args, "Key="+tag.Key+",Value="+tag.Value)
	}
	demo := do("ar_demo", in.Alice, args...)
	requireOK("ar_demo")
	do("gci_demo", demo, "get-caller-identity")
	do("gaki_demo", demo, "get-access-key-info", "--access-key-id", bobKey)
	hop2 := do("ar_hop2", demo, "assume-role", "--role-arn", roles.Auditor, "--role-session-name", roles.Hop2Session)
	requireOK("ar_hop2")
	do("gci_hop2", hop2, "get-caller-identity")
	do("ar_hop2_transitive_clash", demo, "assume-role", "--role-arn", roles.Auditor, "--role-session-name", roles.Hop2Session,
		"--tags", "Key="+roles.TransitiveKeys[0]+",Value=other")

	partner := []string{"assume-role", "--role-arn", roles.Partner, "--role-session-name", roles.PartnerSession}
	do("ar_partner", in.Alice, append(partner, "--external-id", roles.ExternalID)...)
	do("ar_partner_no_external_id", in.Alice, partner...)
	do("ar_partner_wrong_external_id", in.Alice, append(partner, "--external-id", "not-the-external-id")...)

	federated := do("gft", in.Alice, "get-federation-token", "--name", roles.FederatedName, "--policy", roles.Policy)
	requireOK("gft")
	do("gci_federated", federated, "get-caller-identity")
	do("gaki_federated", federated, "get-access-key-info", "--access-key-id", bobKey)

	do("ar_admin", in.Alice, "assume-role", "--role-arn", roles.Admin, "--role-session-name", roles.AdminSession)
	encoded := "no-encoded-message"
	if m := encodedMessage.FindStringSubmatch(report["ar_admin"].Message); m != nil {
		encoded = m[1]
	}
	do("decode", in.Alice, "decode-authorization-message", "--encoded-message", encoded)
	do("decode_demo", demo, "decode-authorization-message", "--encoded-message", encoded)

	checkRoles(t, report, false)
}

// cliProfileChain runs `aws sts get-caller-identity --profile hop2` on the
// chained profiles of the shared config file (endpoint as for
// chainConfig), twice: the second run is served from the CLI's credential
// cache (~/.aws/cli/cache), without calling AssumeRole again.
func cliProfileChain(t *testing.T, s *server, cli, endpoint string, extraEnv ...string) {
	env := cleanEnv(t, extraEnv...)
	writeProfiles(t, env, endpoint)
	before := len(s.audit(t, "--event-name", "AssumeRole"))
	for run := 1; run <= 2; run++ {
		cmd := exec.Command(cli, "sts", "get-caller-identity", "--profile", chainProfile, "--output", "json")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		var id map[string]any
		if err != nil || json.Unmarshal(out, &id) != nil {
			t.Fatalf("run %d: %v\n%s", run, err, out)
		}
		if id["Arn"] != assumedRoleARN("Auditor", chainSession) || id["Account"] != account || !strings.HasSuffix(str(id["UserId"]), ":"+chainSession) {
			t.Errorf("run %d: %v", run, id)
		}
	}
	events := s.audit(t, "--event-name", "AssumeRole")[before:]
	if len(events) != 2 {
		t.Fatalf("%d AssumeRole events for two runs, want 2 (Demo, then Auditor)", len(events))
	}
	for i, want := range []struct{ role, caller string }{{roles.Demo, aliceARN}, {roles.Auditor, "arn:aws:sts::" + account + ":assumed-role/Demo/"}} {
		params, _ := events[i]["requestParameters"].(map[string]any)
		caller, _ := events[i]["userIdentity"].(map[string]any)
		if params["roleArn"] != want.role || !strings.HasPrefix(str(caller["arn"]), want.caller) || events[i]["errorCode"] != nil {
			t.Errorf("AssumeRole event %d: %v by %v (%v)", i, params, caller, events[i]["errorCode"])
		}
	}
}

// Pointing a client at keyless with the environment alone, as the README
// shows: AWS_ENDPOINT_URL_STS (AWS CLI >= 1.29; Debian's v2.9 predates it).
func TestEndpointFromEnvironment(t *testing.T) {
	cli := requireTool(t, "aws")
	py := requireTool(t, "python3")
	s := startServer(t)
	env := cleanEnv(t, "AWS_ENDPOINT_URL_STS="+s.endpoint, "AWS_ACCESS_KEY_ID="+aliceKey, "AWS_SECRET_ACCESS_KEY="+aliceSecret)
	for name, cmd := range map[string]*exec.Cmd{
		"aws cli": exec.Command(cli, "sts", "get-caller-identity", "--query", "Arn", "--output", "text"),
		"boto3":   exec.Command(py, "-c", `import boto3; print(boto3.client("sts").get_caller_identity()["Arn"])`),
	} {
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != aliceARN {
			t.Errorf("%s: %v %s", name, err, out)
		}
	}
}
