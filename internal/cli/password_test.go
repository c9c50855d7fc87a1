package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/password"
	"github.com/keyless-dev/keyless/internal/secret"
)

func TestPasswordHash(t *testing.T) {
	run := func(stdin string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, LookupEnv: func(string) (string, bool) { return "", false }}
		code := Main(context.Background(), env, append([]string{"password", "hash"}, args...))
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run("s3cret pass\n", "--memory", "8192", "--time", "1", "--threads", "1")
	if code != 0 || !strings.HasPrefix(out, "$argon2id$v=19$m=8192,t=1,p=1$") || strings.Contains(out+errOut, "s3cret") {
		t.Fatalf("%d %q %q", code, out, errOut)
	}
	s, err := password.Parse(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := password.NewChecker(1, 0).Verify(context.Background(), &s, secret.NewString("s3cret pass")); !ok || err != nil {
		t.Errorf("the printed hash does not verify the password: %v %v", ok, err)
	}
	for name, tc := range map[string]struct {
		stdin string
		args  []string
	}{
		"empty":               {"\n", nil},
		"as an argument":      {"x\n", []string{"s3cret"}},
		"too long":            {strings.Repeat("p", 2000), nil},
		"parameters too weak": {"x\n", []string{"--memory", "1"}},
	} {
		if code, out, errOut := run(tc.stdin, tc.args...); code != 2 || out != "" || strings.Contains(errOut, "s3cret") {
			t.Errorf("%s: %d %q %q", name, code, out, errOut)
		}
	}
}
