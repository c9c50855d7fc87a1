package exchange

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func mustPattern(t testing.TB, s string) Pattern {
	t.Helper()
	p, err := CompilePattern(s)
	if err != nil {
		t.Fatalf("CompilePattern(%q): %v", s, err)
	}
	return p
}

func TestCompilePatternErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"", "empty"},
		{strings.Repeat("a", 1025), "longer than 1024"},
		{"repo:***", "3 '*' in a row at offset 5"},
		{"a****b", "4 '*' in a row at offset 1"},
		{"a\nb", "unprintable"},
		{"a\x00", "unprintable"},
		{"a\x7f", "unprintable"},
		{"a\u202eb", "unprintable"}, // bidi override
		{"a\u00a0b", "unprintable"}, // no-break space
		{"a\xffb", "invalid UTF-8"},
	}
	for _, tt := range tests {
		_, err := CompilePattern(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("CompilePattern(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
		}
	}
	for _, ok := range []string{strings.Repeat("a", 1024), strings.Repeat("*a", 512), "a b", "é*", "?", "*", "**", "*/**"} {
		if _, err := CompilePattern(ok); err != nil {
			t.Errorf("CompilePattern(%.40q): %v", ok, err)
		}
	}
}

func TestPatternProperties(t *testing.T) {
	tests := []struct {
		in     string
		exact  bool
		prefix string
		double bool
	}{
		{"repo:octo-org/app:ref:refs/heads/main", true, "repo:octo-org/app:ref:refs/heads/main", false},
		{"repo:octo-org/app:*", false, "repo:octo-org/app:", false},
		{"repo:octo-org/**", false, "repo:octo-org/", true},
		{"*", false, "", false},
		{"**", false, "", true},
		{"a*b**c", false, "a", true},
		{"what?", true, "what?", false},
	}
	for _, tt := range tests {
		p := mustPattern(t, tt.in)
		if p.String() != tt.in || p.Exact() != tt.exact || p.LiteralPrefix() != tt.prefix || p.HasDoubleStar() != tt.double {
			t.Errorf("%q: String=%q Exact=%v LiteralPrefix=%q HasDoubleStar=%v; want %v %q %v",
				tt.in, p.String(), p.Exact(), p.LiteralPrefix(), p.HasDoubleStar(), tt.exact, tt.prefix, tt.double)
		}
	}
	var zero Pattern
	if zero.Match("") || zero.Match("x") || zero.Exact() || zero.HasDoubleStar() || zero.LiteralPrefix() != "" || zero.String() != "" {
		t.Error("the zero Pattern must match nothing and report no properties")
	}
}

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern string
		s       string
		want    bool
	}{
		// Literal.
		{"repo:octo-org/app:ref:refs/heads/main", "repo:octo-org/app:ref:refs/heads/main", true},
		{"repo:octo-org/app:ref:refs/heads/main", "repo:octo-org/app:ref:refs/heads/main-evil", false},
		{"repo:octo-org/app:ref:refs/heads/main", "repo:OCTO-ORG/app:ref:refs/heads/main", false},
		{"repo:octo-org/app:ref:refs/heads/main", "repo:octo-org/app:ref:refs/heads/mai", false},
		{"a?c", "abc", false}, // '?' is literal
		{"a?c", "a?c", true},
		{"a.c", "abc", false}, // so is '.'
		// '*' stays within a segment.
		{"repo:octo-org/app:*", "repo:octo-org/app:environment", true},
		{"repo:octo-org/app:*", "repo:octo-org/app:", true}, // empty run
		{"repo:octo-org/app:*", "repo:octo-org/app:ref:refs/heads/main", false},
		{"repo:octo-org/app:*", "repo:octo-org/app:pull_request", true},
		{"repo:octo-org/*", "repo:octo-org/app", true},
		{"repo:octo-org/*", "repo:octo-org/app:ref:refs/heads/main", false},
		{"repo:octo-org/app*", "repo:octo-org/app-evil", true},
		{"repo:octo-org/app*", "repo:octo-org/app/x", false},
		{"repo:octo-org/app:ref:refs/heads/*", "repo:octo-org/app:ref:refs/heads/main", true},
		{"repo:octo-org/app:ref:refs/heads/*", "repo:octo-org/app:ref:refs/heads/feature/x", false},
		{"*", "", true},
		{"*", "anything-without-separators", true},
		{"*", "a/b", false},
		{"*", "a:b", false},
		{"*:*", "a:b", true},
		{"*:*", "a:b:c", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXb/Yc", false},
		{"a*b", "ab", true},
		{"a*b", "abb", true},
		{"a*b", "aba", false},
		// '**' crosses separators.
		{"repo:octo-org/app:**", "repo:octo-org/app:ref:refs/heads/feature/x", true},
		{"repo:octo-org/**", "repo:octo-org/app:ref:refs/heads/main", true},
		{"repo:octo-org/**", "repo:octo-org-evil/app", false},
		{"**", "", true},
		{"**", "a/b:c", true},
		{"**/main", "repo:o/a:ref:refs/heads/main", true},
		{"**/main", "repo:o/a:ref:refs/heads/main2", false},
		{"a**b*c", "a/x:b/c", false}, // the '*' part is "/"
		{"a**b*c", "a/x:bzc", true},
		{"a**b*c", "a/b:bzc", true}, // '**' takes "/b:", not "/"
		{"a**b", "a:b/b", true},
		// UTF-8 literals are matched byte for byte.
		{"é*", "éa", true},
		{"é*", "e", false},
		{"*é", "xé", true},
	}
	for _, tt := range tests {
		p := mustPattern(t, tt.pattern)
		if got := p.Match(tt.s); got != tt.want {
			t.Errorf("%q.Match(%q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestPatternMatchLong(t *testing.T) {
	// More than 64 positions, so state spans several words.
	seg := strings.Repeat("x", 70)
	p := mustPattern(t, seg+"*"+seg+"**"+seg)
	tests := []struct {
		s    string
		want bool
	}{
		{seg + seg + seg, true},
		{seg + "abc" + seg + "a/b:c" + seg, true},
		{seg + "a/c" + seg + seg, false},
		{seg + seg + seg[1:], false},
		{seg + seg + seg + "x", true}, // '*' or '**' absorbs the extra x
		{seg + seg + seg + "/", false},
	}
	for _, tt := range tests {
		if got := p.Match(tt.s); got != tt.want {
			t.Errorf("Match(%d bytes) = %v, want %v", len(tt.s), got, tt.want)
		}
	}
	// Wildcards at positions 63 and 127, the last bits of their words.
	a, c := strings.Repeat("a", 63), strings.Repeat("c", 63)
	edge := mustPattern(t, a+"*"+c+"**d")
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{a + c + "d", true},
		{a + "x" + c + "/:d", true},
		{a + "/" + c + "d", false},
		{a + c, false},
	} {
		if got := edge.Match(tt.s); got != tt.want {
			t.Errorf("word-edge Match(%d bytes) = %v, want %v", len(tt.s), got, tt.want)
		}
	}
	// A pattern of 1024 positions, the largest state.
	big := strings.Repeat("ab", 511) + "*c"
	q := mustPattern(t, big)
	if !q.Match(strings.Repeat("ab", 511) + "zzzc") {
		t.Error("1024-byte pattern did not match")
	}
	if q.Match(strings.Repeat("ab", 511) + "zz/c") {
		t.Error("1024-byte pattern matched across '/'")
	}
}

func TestPatternMatchPathological(t *testing.T) {
	s := strings.Repeat("a", 10<<10)
	tests := []struct {
		pattern string
		want    bool
	}{
		{"*a*a*a*a*a*a*a*b", false},
		{"**a**a**a**a**a**a**a**b", false},
		{"*a*a*a*a*a*a*a*a", true},
		{strings.Repeat("*a", 300) + "b", false},
		{strings.Repeat("**a", 300) + "b", false},
	}
	for _, tt := range tests {
		p := mustPattern(t, tt.pattern)
		start := time.Now()
		got := p.Match(s)
		elapsed := time.Since(start)
		if got != tt.want {
			t.Errorf("%.30q.Match(10 KB of a) = %v, want %v", tt.pattern, got, tt.want)
		}
		if elapsed > time.Second {
			t.Errorf("%.30q.Match(10 KB of a) took %v", tt.pattern, elapsed)
		}
	}
}

func TestAWSSubjects(t *testing.T) {
	tests := []struct {
		arn  string
		want []string
	}{
		{"arn:aws:sts::123456789012:assumed-role/RoleName/SessionName",
			[]string{"arn:aws:sts::123456789012:assumed-role/RoleName/SessionName", "arn:aws:iam::123456789012:role/RoleName"}},
		{"arn:aws-cn:sts::123456789012:assumed-role/R/i-0abc",
			[]string{"arn:aws-cn:sts::123456789012:assumed-role/R/i-0abc", "arn:aws-cn:iam::123456789012:role/R"}},
		{"arn:aws-us-gov:sts::123456789012:assumed-role/R/a@b.c",
			[]string{"arn:aws-us-gov:sts::123456789012:assumed-role/R/a@b.c", "arn:aws-us-gov:iam::123456789012:role/R"}},
		{"arn:aws:iam::123456789012:user/UserName", []string{"arn:aws:iam::123456789012:user/UserName"}},
		{"arn:aws:iam::123456789012:user/team/UserName", []string{"arn:aws:iam::123456789012:user/team/UserName"}},
		{"arn:aws:iam::123456789012:root", []string{"arn:aws:iam::123456789012:root"}},
		{"arn:aws:sts::123456789012:federated-user/Bob", []string{"arn:aws:sts::123456789012:federated-user/Bob"}},
		// Shapes AWS does not produce derive nothing.
		{"arn:aws:sts::123456789012:assumed-role/R/a/b", []string{"arn:aws:sts::123456789012:assumed-role/R/a/b"}},
		{"arn:aws:sts::123456789012:assumed-role/R", []string{"arn:aws:sts::123456789012:assumed-role/R"}},
		{"arn:aws:sts::123456789012:assumed-role//S", []string{"arn:aws:sts::123456789012:assumed-role//S"}},
		{"arn:aws:sts::123456789012:assumed-role/R/", []string{"arn:aws:sts::123456789012:assumed-role/R/"}},
		{"arn:aws:sts::12345:assumed-role/R/S", []string{"arn:aws:sts::12345:assumed-role/R/S"}},
		{"arn:aws:sts:us-east-1:123456789012:assumed-role/R/S", []string{"arn:aws:sts:us-east-1:123456789012:assumed-role/R/S"}},
		{"arn::sts::123456789012:assumed-role/R/S", []string{"arn::sts::123456789012:assumed-role/R/S"}},
		{"", []string{""}},
	}
	for _, tt := range tests {
		if got := AWSSubjects(tt.arn); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("AWSSubjects(%q) = %q, want %q", tt.arn, got, tt.want)
		}
	}
}

// matchAWS reports whether a pattern matches any of a caller's subjects,
// as a provider does.
func matchAWS(p Pattern, callerARN string) bool {
	for _, s := range AWSSubjects(callerARN) {
		if p.Match(s) {
			return true
		}
	}
	return false
}

func TestAWSPatterns(t *testing.T) {
	const (
		user        = "arn:aws:iam::123456789012:user/UserName"
		role        = "arn:aws:iam::123456789012:role/RoleName"
		anySession  = "arn:aws:sts::123456789012:assumed-role/RoleName/*"
		session     = "arn:aws:sts::123456789012:assumed-role/RoleName/SessionName"
		pathUser    = "arn:aws:iam::123456789012:user/team/UserName"
		callerUser  = "arn:aws:iam::123456789012:user/UserName"
		callerSess  = "arn:aws:sts::123456789012:assumed-role/RoleName/SessionName"
		callerSess2 = "arn:aws:sts::123456789012:assumed-role/RoleName/i-0123456789abcdef0"
	)
	tests := []struct {
		pattern string
		caller  string
		want    bool
	}{
		{user, callerUser, true},
		{user, "arn:aws:iam::123456789012:user/UserName2", false},
		{user, "arn:aws:iam::123456789012:user/team/UserName", false},
		{user, "arn:aws:iam::210987654321:user/UserName", false},
		{user, callerSess, false},
		{user, "arn:aws:sts::123456789012:assumed-role/UserName/x", false},

		{role, callerSess, true},
		{role, callerSess2, true},
		{role, "arn:aws:sts::123456789012:assumed-role/RoleNameX/SessionName", false},
		{role, "arn:aws:sts::123456789012:assumed-role/Role/SessionName", false},
		{role, "arn:aws:sts::210987654321:assumed-role/RoleName/SessionName", false},
		{role, "arn:aws-cn:sts::123456789012:assumed-role/RoleName/SessionName", false},
		{role, callerUser, false},
		{role, "arn:aws:iam::123456789012:user/RoleName", false},

		{anySession, callerSess, true},
		{anySession, callerSess2, true},
		{anySession, "arn:aws:sts::123456789012:assumed-role/RoleName/a/b", false},
		{anySession, "arn:aws:sts::123456789012:assumed-role/RoleNameX/SessionName", false},
		{anySession, "arn:aws:sts::123456789012:assumed-role/RoleName/x:y", false},
		{anySession, "arn:aws:sts::210987654321:assumed-role/RoleName/SessionName", false},
		{anySession, callerUser, false},

		{session, callerSess, true},
		{session, callerSess2, false},
		{session, "arn:aws:sts::123456789012:assumed-role/RoleName/SessionNameX", false},
		{session, "arn:aws:sts::123456789012:assumed-role/RoleNameX/SessionName", false},

		{pathUser, "arn:aws:iam::123456789012:user/team/UserName", true},
		{pathUser, callerUser, false},
		{pathUser, "arn:aws:iam::123456789012:user/team/sub/UserName", false},
		{pathUser, "arn:aws:iam::123456789012:user/other/UserName", false},
	}
	for _, tt := range tests {
		if got := matchAWS(mustPattern(t, tt.pattern), tt.caller); got != tt.want {
			t.Errorf("pattern %q against caller %q = %v, want %v", tt.pattern, tt.caller, got, tt.want)
		}
	}
}

// referenceRegexp translates a valid pattern to a regular expression:
// '*' → [^/:]*, '**' → .*, everything else quoted.
func referenceRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for i := 0; i < len(pattern); {
		switch {
		case strings.HasPrefix(pattern[i:], "**"):
			b.WriteString(`.*`)
			i += 2
		case pattern[i] == '*':
			b.WriteString(`[^/:]*`)
			i++
		default:
			j := strings.IndexByte(pattern[i:], '*')
			if j < 0 {
				j = len(pattern) - i
			}
			b.WriteString(regexp.QuoteMeta(pattern[i : i+j]))
			i += j
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

// TestPatternMatchExhaustive compares Match with the reference on every
// pattern of up to 4 characters over {a, /, :, *} and every string of up to
// 5 characters over {a, b, /, :}.
func TestPatternMatchExhaustive(t *testing.T) {
	patterns := allStrings("a/:*", 4)
	subjects := allStrings("ab/:", 5)
	compared := 0
	for _, ps := range patterns {
		p, err := CompilePattern(ps)
		if err != nil {
			continue
		}
		re := referenceRegexp(ps)
		for _, s := range subjects {
			if got, want := p.Match(s), re.MatchString(s); got != want {
				t.Fatalf("%q.Match(%q) = %v, reference says %v", ps, s, got, want)
			}
			compared++
		}
	}
	if compared < 300*len(subjects) {
		t.Fatalf("only %d comparisons", compared)
	}
}

// allStrings returns every string of up to n bytes from alphabet.
func allStrings(alphabet string, n int) []string {
	out := []string{""}
	last := []string{""}
	for range n {
		var next []string
		for _, s := range last {
			for i := 0; i < len(alphabet); i++ {
				next = append(next, s+alphabet[i:i+1])
			}
		}
		out = append(out, next...)
		last = next
	}
	return out
}

func FuzzPatternMatch(f *testing.F) {
	seeds := [][2]string{
		{"repo:octo-org/app:*", "repo:octo-org/app:ref:refs/heads/main"},
		{"repo:octo-org/**", "repo:octo-org/app:ref:refs/heads/main"},
		{"*a*a*b", "aaaaaaab"},
		{"a**b*c", "a/b:bzc"},
		{"arn:aws:sts::123456789012:assumed-role/RoleName/*", "arn:aws:sts::123456789012:assumed-role/RoleName/a/b"},
		{"*é*", "xé/"},
		{"**:*", "a:b:c"},
		{"a?b", "a?b"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		p, err := CompilePattern(pattern)
		if err != nil {
			return
		}
		// Go's regexp reads invalid UTF-8 as U+FFFD, which would match a
		// literal U+FFFD; Match compares bytes. Compare on valid text only.
		if !utf8.ValidString(s) {
			return
		}
		want := referenceRegexp(pattern).MatchString(s)
		if got := p.Match(s); got != want {
			t.Fatalf("%q.Match(%q) = %v, reference says %v", pattern, s, got, want)
		}
	})
}
