package exchange

import (
	"reflect"
	"strings"
	"testing"
)

func TestCompileTemplateErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"", "empty"},
		{strings.Repeat("a", 513), "longer than 512"},
		{"gh-{{ repository", `"{{" at offset 3 has no matching "}}"`},
		{"{{a}} {{b", `"{{" at offset 6 has no matching "}}"`},
		{"gh-{{}}", "invalid claim path"},
		{"gh-{{   }}", "invalid claim path"},
		{"{{a..b}}", "invalid claim path"},
		{"{{a b}}", "invalid claim path"},
		{"{{{a}}}", "invalid claim path"},
		{"{{a}b}}", "invalid claim path"},
		{"{{\tsub}}", "unprintable"},
		{"a\nb", "unprintable"},
		{"a\xffb", "invalid UTF-8"},
		{strings.Repeat("{{a}}", 17), "more than 16 placeholders"},
	}
	for _, tt := range tests {
		_, err := CompileTemplate(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("CompileTemplate(%.40q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
		}
	}
	for _, ok := range []string{strings.Repeat("a", 512), strings.Repeat("{{a}}", 16), "plain", "}} alone", "{ {a} }", "é-{{sub}}"} {
		if _, err := CompileTemplate(ok); err != nil {
			t.Errorf("CompileTemplate(%.40q): %v", ok, err)
		}
	}
}

func TestTemplateExecute(t *testing.T) {
	doc, err := DecodeDocument([]byte(`{
		"sub": "repo:octo-org/app:ref:refs/heads/main",
		"repository": "octo-org/app",
		"run_id": 12345678901,
		"private": false,
		"groups": ["a"],
		"nothing": null,
		"obj": {"k": "v"},
		"aws_claims": {"account": "123456789012", "userid": "AROAEXAMPLE:s1"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tmpl    string
		want    string
		wantErr string
	}{
		{"gh-{{repository}}", "gh-octo-org/app", ""},
		{"gh-{{ repository }}-{{run_id}}", "gh-octo-org/app-12345678901", ""},
		{"{{  repository}}{{repository   }}", "octo-org/appocto-org/app", ""},
		{"{{aws_claims.account}}/{{aws_claims.userid}}", "123456789012/AROAEXAMPLE:s1", ""},
		{"private={{private}}", "private=false", ""},
		{"static", "static", ""},
		{"}}{{sub}}}}", "}}repo:octo-org/app:ref:refs/heads/main}}", ""},
		{"x-{{missing}}", "", `claim "missing" is missing`},
		{"x-{{aws_claims.region}}", "", `claim "aws_claims.region" is missing`},
		{"x-{{groups}}", "", `claim "groups" is not a string`},
		{"x-{{nothing}}", "", `claim "nothing" is not a string`},
		{"x-{{obj}}", "", `claim "obj" is not a string`},
		{"{{obj.k}}", "v", ""},
	}
	for _, tt := range tests {
		tmpl, err := CompileTemplate(tt.tmpl)
		if err != nil {
			t.Fatalf("CompileTemplate(%q): %v", tt.tmpl, err)
		}
		if tmpl.String() != tt.tmpl {
			t.Errorf("String() = %q, want %q", tmpl.String(), tt.tmpl)
		}
		got, err := tmpl.Execute(doc)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Execute(%q) = %q, %v; want an error containing %q", tt.tmpl, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Execute(%q) = %q, %v; want %q", tt.tmpl, got, err, tt.want)
		}
	}
}

func TestTemplatePaths(t *testing.T) {
	tests := []struct {
		tmpl string
		want []string
	}{
		{"static", nil},
		{"{{sub}}", []string{"sub"}},
		{"{{ b }}-{{a}}-{{b}}-{{aws_claims.arn}}", []string{"b", "a", "aws_claims.arn"}},
	}
	for _, tt := range tests {
		tmpl, err := CompileTemplate(tt.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if got := tmpl.Paths(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Paths(%q) = %q, want %q", tt.tmpl, got, tt.want)
		}
	}
}

func TestSessionName(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"alice", "alice"},
		{"a+b=c,d.e@f_g-h", "a+b=c,d.e@f_g-h"},
		{"repo:octo-org/app:ref:refs/heads/main", "repo-octo-org-app-ref-refs-heads-main"},
		{"arn:aws:sts::123456789012:assumed-role/R/s", "arn-aws-sts--123456789012-assumed-role-R-s"},
		{"héllo wörld", "h-llo-w-rld"}, // one '-' per character, not per byte
		{"a\xffb", "a-b"},
		{"tab\there", "tab-here"},
		{"", "--"},
		{"x", "x-"},
		{"é", "--"},
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{strings.Repeat("a", 65), strings.Repeat("a", 64)},
		{strings.Repeat("é", 100), strings.Repeat("-", 64)},
		{strings.Repeat("ab/", 30), strings.Repeat("ab-", 21) + "a"},
	}
	for _, tt := range tests {
		if got := SessionName(tt.in); got != tt.want {
			t.Errorf("SessionName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
