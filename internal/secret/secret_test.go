package secret_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/secret"
)

func TestSecretsNeverFormat(t *testing.T) {
	const value = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	s := secret.NewString(value)
	b := secret.NewBytes([]byte(value))
	type holder struct {
		S secret.String
		B secret.Bytes
	}
	h := holder{S: s, B: b}

	var out []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		out = append(out, fmt.Sprintf(f, s), fmt.Sprintf(f, b), fmt.Sprintf(f, h))
	}
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(j))
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "s", s, "b", b, "h", h)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("x", "s", s, "b", b)
	out = append(out, logBuf.String())

	for _, o := range out {
		if strings.Contains(o, value) || strings.Contains(o, "wJalr") {
			t.Errorf("secret leaked: %s", o)
		}
	}
	if !strings.Contains(string(j), secret.Redacted) {
		t.Errorf("json output %s lacks placeholder", j)
	}
	if s.Reveal() != value || string(b.Reveal()) != value {
		t.Error("Reveal must return the value")
	}
}

func TestStringEqual(t *testing.T) {
	a, b, c := secret.NewString("abc"), secret.NewString("abc"), secret.NewString("abd")
	if !a.Equal(b) || a.Equal(c) || a.Equal(secret.NewString("ab")) {
		t.Error("Equal is wrong")
	}
}
