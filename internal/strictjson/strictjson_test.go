package strictjson

import (
	"errors"
	"testing"
)

func TestParseObject(t *testing.T) {
	deep := ""
	for range 20 {
		deep += `{"a":`
	}
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"object", `{"a":1,"b":[true,null,"x"],"c":{"d":-1.5e3}}`, true},
		{"whitespace around", " \n{\"a\":\"b\"}\t", true},
		{"duplicate name", `{"a":1,"a":2}`, false},
		{"case variant", `{"sub":1,"Sub":2}`, false},
		{"folding variant", `{"sub":1,"ſub":2}`, false},
		{"escaped duplicate", `{"a":1,"\u0061":2}`, false},
		{"nested duplicate", `{"a":{"b":1,"B":2}}`, false},
		{"trailing data", `{"a":1}{}`, false},
		{"array at top", `[1]`, false},
		{"control character", "{\"a\":\"x\ny\"}", false},
		{"bad escape", `{"a":"\x"}`, false},
		{"leading zero", `{"a":01}`, false},
		{"invalid UTF-8 name", "{\"\xff\":1}", false},
		{"too deep", deep, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseObject([]byte(tc.in))
			if tc.ok && err != nil {
				t.Fatalf("ParseObject(%q) = %v, want success", tc.in, err)
			}
			if !tc.ok && !errors.Is(err, ErrStrict) {
				t.Fatalf("ParseObject(%q) = %v, want ErrStrict", tc.in, err)
			}
		})
	}
}

func TestUnquote(t *testing.T) {
	m, err := ParseObject([]byte(`{"a":"x\u00e9","b":2}`))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := Unquote(m["a"]); !ok || v != "xé" {
		t.Fatalf("Unquote(a) = %q, %v", v, ok)
	}
	if _, ok := Unquote(m["b"]); ok {
		t.Fatal("Unquote accepted a number")
	}
}
