package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	awslogin "github.com/keyless-dev/keyless/internal/loginapi/loginapitest"
)

// TestReadmeFirstHour runs what a newcomer found broken in the README, as
// written (with the server's address): the regional SAML sign-in page of
// the quickstart, and alice explaining bob's refused exchange with her
// keyless key in a profile made by the AWS CLI. It also checks that the
// tenant-isolation example does not take make run's port.
func TestReadmeFirstHour(t *testing.T) {
	s := quickstartOnFreePort(t)
	if code, body := httpGet(t, s.endpoint+"/us-west-2/saml"); code != 200 || !strings.Contains(body, s.endpoint+"/us-west-2/saml") {
		t.Errorf("GET /us-west-2/saml: %d", code)
	}

	aws := requireTool(t, "aws")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(readme), "aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE --profile keyless-alice")
	end := strings.Index(string(readme)[start:], "\n# keyless exchange: refused")
	if start < 0 || end < 0 {
		t.Fatal("the README's explain example moved; update this test")
	}
	script := strings.ReplaceAll(string(readme)[start:start+end], "http://127.0.0.1:8080", s.endpoint)
	script = strings.ReplaceAll(script, "./bin/keyless", binary)
	script = strings.Replace(script, "aws configure", aws+" configure", 2)
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = cleanEnv(t)
	out, err := cmd.CombinedOutput()
	for _, want := range []string{"refused (invalid_request)", "Request id: ", `subject "arn:aws:iam::111122223333:user/engineering/bob" does not match`,
		"refused: no_provider_matched"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the README's explain example: %v; output lacks %q:\n%s", err, want, out)
		}
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("exit: %v", err)
	}

	addr := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var f struct{ Server struct{ Addr string } }
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		return f.Server.Addr
	}
	if q, ti := addr(quickstart), addr("../../examples/tenant-isolation/keyless.yaml"); q == ti {
		t.Errorf("the quickstart and the tenant-isolation example both listen on %s", q)
	}
}

// TestReadmeIdentityProvider runs the README's "keyless as an identity
// provider" commands as written, against the quickstart on a free port:
// a token from `keyless token` assumes TokenDemo, and the self
// integration is listed, shown, pinged and hands out credentials.
func TestReadmeIdentityProvider(t *testing.T) {
	s := quickstartOnFreePort(t)
	aws := requireTool(t, "aws")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(first, last string) string {
		t.Helper()
		start := strings.Index(string(readme), first)
		end := strings.Index(string(readme)[max(start, 0):], last)
		if start < 0 || end < 0 {
			t.Fatalf("the README's block from %q to %q moved; update this test", first, last)
		}
		script := string(readme)[start : start+end+len(last)]
		script = strings.ReplaceAll(script, "http://127.0.0.1:8080", s.endpoint)
		script = strings.ReplaceAll(script, "bin/keyless", binary)
		return strings.ReplaceAll(script, "\naws ", "\n"+aws+" ")
	}
	script := block("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY", "# arn:aws:sts::111122223333:assumed-role/TokenDemo/demo") +
		"\n" + block("bin/keyless integrations list", "bin/keyless integrations credentials self")
	cmd := exec.Command("bash", "-e", "-c", script)
	cmd.Env = cleanEnv(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's identity provider commands: %v\n%s", err, out)
	}
	for _, want := range []string{`"sub": "arn:aws:iam::111122223333:user/alice"`, "arn:aws:sts::111122223333:assumed-role/TokenDemo/demo",
		"quickstart  self  wif   active", "WIF subject:", "aws iam create-role --role-name SelfIntegration", `"AccessKeyId":"ASIA`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// quickstartOnFreePort serves the quickstart on a free port. It names its
// own address (the exchange's upstream, keyless's issuer for the self
// integration and TokenDemo): everywhere the file says 8080, the copy
// says the port.
func quickstartOnFreePort(t *testing.T) *server {
	t.Helper()
	port := freePort(t)
	src, err := os.ReadFile(quickstart)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "quickstart.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(src), "127.0.0.1:8080", port)), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := launchAt(t, path, port)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReadmeSignIn signs in on the quickstart's pages as the README says:
// alice with her password, bob with his and his MFA code, in one browser,
// whose sessions page then lists both.
func TestReadmeSignIn(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"http://127.0.0.1:8080/signin", "(account `111122223333`, password `correct horse battery staple`)",
		"(`bob quickstart password`)"} {
		if !strings.Contains(string(readme), want) {
			t.Fatalf("the README's sign-in example moved (no %q); update this test", want)
		}
	}
	s := quickstartOnFreePort(t)
	b := awslogin.NewBrowser(s.endpoint)
	if p, err := b.SignIn(account, "alice", "correct horse battery staple", "", ""); err != nil || p.Status != 303 {
		t.Fatalf("alice signs in: %d %v", p.Status, err)
	}
	if p, err := b.SignIn(account, "bob", "bob quickstart password", code(t), ""); err != nil || p.Status != 303 {
		t.Fatalf("bob signs in: %d %v", p.Status, err)
	}
	p, err := b.Get("/signin/sessions")
	if err != nil || p.Status != 200 || !strings.Contains(p.Body, aliceARN) || !strings.Contains(p.Body, bobARN) {
		t.Errorf("the sessions page: %d %v\n%s", p.Status, err, p.Body)
	}
}
