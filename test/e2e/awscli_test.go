package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
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
	runCLI(t, cli)
}

func TestAWSCLIv2(t *testing.T) {
	const cli = "/usr/bin/aws"
	if _, err := os.Stat(cli); err != nil {
		missing(t, "Debian's awscli (v2) is not installed at /usr/bin/aws")
	}
	if out, _ := exec.Command(cli, "--version").CombinedOutput(); !strings.HasPrefix(string(out), "aws-cli/2.") {
		t.Fatalf("/usr/bin/aws is not the AWS CLI v2: %s", out)
	}
	runCLI(t, cli)
}

var cliError = regexp.MustCompile(`An error occurred \((\w+)\) when calling the (\w+) operation`)

type cliRunner struct {
	t        *testing.T
	cli      string
	endpoint string
}

// run executes `aws sts ARGS` with the credentials c and returns the
// parsed JSON output, or the error code.
func (r cliRunner) run(c tempCreds, args ...string) (map[string]any, string) {
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
			return nil, m[1]
		}
		r.t.Fatalf("aws %v: %v\n%s", args, err, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		r.t.Fatalf("aws %v printed %s", args, out)
	}
	return doc, ""
}

func runCLI(t *testing.T, cli string) {
	_, in := newScenario(t)
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
