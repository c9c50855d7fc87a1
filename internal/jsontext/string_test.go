package jsontext_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/jsontext"
)

// AppendString's output is one JSON string that decodes to its input
// (invalid UTF-8 replaced, as encoding/json does), with no byte a
// terminal or a line-based reader would act on.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c", "a\nb\r\t", "\x00\x1b[31m", "\u2028\u2029\u0085", "\u202eevil", "\U000e0001", "\xff\xfe", "é漢🙂"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := jsontext.AppendString([]byte("x"), s)
		if out[0] != 'x' {
			t.Fatal("the prefix was overwritten")
		}
		out = out[1:]
		if bytes.ContainsAny(out, "\n\r\x00\x1b") || bytes.Contains(out, []byte("\u2028")) || bytes.Contains(out, []byte("\u202e")) {
			t.Fatalf("%q: unsafe bytes in %q", s, out)
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q: %q is not a JSON string: %v", s, out, err)
		}
		if want := perByte(s); back != want {
			t.Fatalf("%q decoded as %q, want %q", s, back, want)
		}
	})
}

// perByte replaces each invalid byte with U+FFFD, as encoding/json does.
func perByte(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r) // RuneError for each invalid byte
	}
	return b.String()
}
