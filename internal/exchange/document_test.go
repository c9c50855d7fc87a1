package exchange

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeDocument(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Document
		wantErr bool
	}{
		{name: "flat", in: `{"sub":"repo:o/a:ref:refs/heads/main","aud":"sts"}`,
			want: Document{"sub": "repo:o/a:ref:refs/heads/main", "aud": "sts"}},
		{name: "numbers keep their text", in: `{"n":1.0,"big":12345678901234567890,"neg":-3e2}`,
			want: Document{"n": json.Number("1.0"), "big": json.Number("12345678901234567890"), "neg": json.Number("-3e2")}},
		{name: "nested and arrays", in: `{"aws_claims":{"account":"123456789012"},"groups":["a",true,null],"x":null}`,
			want: Document{"aws_claims": map[string]any{"account": "123456789012"}, "groups": []any{"a", true, nil}, "x": nil}},
		{name: "empty object", in: `{}`, want: Document{}},
		{name: "null", in: `null`, wantErr: true},
		{name: "array", in: `["a"]`, wantErr: true},
		{name: "string", in: `"a"`, wantErr: true},
		{name: "trailing value", in: `{"a":1} {"b":2}`, wantErr: true},
		{name: "truncated", in: `{"a":`, wantErr: true},
		{name: "empty input", in: ``, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeDocument([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("DecodeDocument(%s) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeDocument(%s): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DecodeDocument(%s) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDocumentLookup(t *testing.T) {
	d, err := DecodeDocument([]byte(`{
		"sub": "arn:aws:sts::123456789012:assumed-role/Deploy/s1",
		"aws_claims": {"account": "123456789012", "arn": "arn:aws:sts::123456789012:assumed-role/Deploy/s1"},
		"a": {"b": {"c": 7}},
		"list": [{"x": "y"}],
		"nul": null,
		"kubernetes.io": {"namespace": "prod"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	// A Document nested as its own type, as a caller building one in Go might.
	d["typed"] = Document{"k": "v"}
	tests := []struct {
		path   string
		want   any
		wantOK bool
	}{
		{"sub", "arn:aws:sts::123456789012:assumed-role/Deploy/s1", true},
		{"aws_claims.account", "123456789012", true},
		{"a.b.c", json.Number("7"), true},
		{"a.b", map[string]any{"c": json.Number("7")}, true},
		{"nul", nil, true},
		{"typed.k", "v", true},
		{"missing", nil, false},
		{"a.missing", nil, false},
		{"a.b.c.d", nil, false},       // through a number
		{"sub.x", nil, false},         // through a string
		{"list.x", nil, false},        // arrays are not indexed
		{"list.0", nil, false},        // not even by number
		{"nul.x", nil, false},         // through null
		{"", nil, false},              // empty path
		{".sub", nil, false},          // empty segment
		{"sub.", nil, false},          // empty segment
		{"a..b", nil, false},          // empty segment
		{"kubernetes.io", nil, false}, // dots always separate
	}
	for _, tt := range tests {
		got, ok := d.Lookup(tt.path)
		if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Lookup(%q) = %#v, %v; want %#v, %v", tt.path, got, ok, tt.want, tt.wantOK)
		}
	}
	var nilDoc Document
	if v, ok := nilDoc.Lookup("sub"); ok {
		t.Errorf("nil Document Lookup = %v, true", v)
	}
}

func TestScalar(t *testing.T) {
	tests := []struct {
		in     any
		want   string
		wantOK bool
	}{
		{"text", "text", true},
		{"", "", true},
		{json.Number("42"), "42", true},
		{json.Number("1.50"), "1.50", true},
		{true, "true", true},
		{false, "false", true},
		{nil, "", false},
		{[]any{"a"}, "", false},
		{map[string]any{"a": "b"}, "", false},
		{Document{"a": "b"}, "", false},
		{float64(1), "", false}, // not what UseNumber decoding produces
		{42, "", false},
	}
	for _, tt := range tests {
		got, ok := Scalar(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Scalar(%#v) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestValidPath(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"sub", true},
		{"aws_claims.account", true},
		{"a.b.c", true},
		{"https://example.com/claims", true},
		{"x-y_z:1~!", true},
		{strings.Repeat("a", 256), true},
		{strings.Repeat("a", 257), false},
		{"", false},
		{".", false},
		{".a", false},
		{"a.", false},
		{"a..b", false},
		{"a b", false},
		{"a\tb", false},
		{"a\x00", false},
		{"a\x7f", false},
		{"é", false},
	}
	for _, tt := range tests {
		if got := ValidPath(tt.path); got != tt.want {
			t.Errorf("ValidPath(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}
