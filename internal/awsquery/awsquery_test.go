package awsquery_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/awsquery"
)

var update = flag.Bool("update", false, "rewrite golden files")

func isAuth(k string) bool { return strings.HasPrefix(k, "X-Amz-") }

func parseErr(t *testing.T, err error) *awsquery.ParseError {
	t.Helper()
	var pe *awsquery.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("want *ParseError, got %T %v", err, err)
	}
	return pe
}

func TestParseRequest(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	ok := []struct {
		name, ct, body, query string
	}{
		{"botocore", form + "; charset=utf-8", "Action=GetCallerIdentity&Version=2011-06-15", ""},
		{"go sdk", form, "Action=GetCallerIdentity&Version=2011-06-15", ""},
		{"charset upper", form + "; charset=UTF-8", "Action=GetCallerIdentity&Version=2011-06-15", ""},
		{"query only GET", "", "", "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Signature=x&X-Amz-Date=1"},
		{"split", form, "Version=2011-06-15", "Action=GetCallerIdentity"},
	}
	for _, c := range ok {
		q, _ := url.ParseQuery(c.query)
		p, err := awsquery.ParseRequest(q, isAuth, c.ct, []byte(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if a, err := p.Action("2011-06-15"); err != nil || a != "GetCallerIdentity" {
			t.Fatalf("%s: action %q %v", c.name, a, err)
		}
	}
	bad := []struct {
		name, ct, body, query, code string
	}{
		{"json content type", "application/json", `{"Action":"GetCallerIdentity"}`, "", "ValidationError"},
		{"multipart", "multipart/form-data; boundary=x", "--x", "", "ValidationError"},
		{"text/plain", "text/plain", "Action=GetCallerIdentity", "", "ValidationError"},
		{"latin1", form + "; charset=iso-8859-1", "Action=GetCallerIdentity", "", "ValidationError"},
		{"no content type", "", "Action=GetCallerIdentity", "", "ValidationError"},
		{"bad escape", form, "Action=Get%zzCallerIdentity", "", "ValidationError"},
		{"lone percent", form, "Action=%", "", "ValidationError"},
		{"semicolon separator", form, "Action=GetCallerIdentity;Version=2011-06-15", "", "ValidationError"},
		{"duplicate in body", form, "Action=A&Action=A&Version=2011-06-15", "", "ValidationError"},
		{"action in query and body", form, "Action=GetSessionToken&Version=2011-06-15", "Action=GetCallerIdentity", "ValidationError"},
		{"invalid utf-8", form, "Action=GetCallerIdentity&Version=2011-06-15&X=%ff%fe", "", "ValidationError"},
	}
	for _, c := range bad {
		q, _ := url.ParseQuery(c.query)
		_, err := awsquery.ParseRequest(q, isAuth, c.ct, []byte(c.body))
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if pe := parseErr(t, err); pe.Code != c.code {
			t.Errorf("%s: code %s want %s", c.name, pe.Code, c.code)
		}
	}
	many := url.Values{}
	for i := range awsquery.MaxParams + 1 {
		many.Set("P"+strings.Repeat("x", i), "1")
	}
	if _, err := awsquery.ParseRequest(many, nil, "", nil); err == nil {
		t.Error("too many parameters accepted")
	}
}

func TestAction(t *testing.T) {
	cases := map[string]string{
		"Version=2011-06-15":                          "MissingAction",
		"Action=&Version=2011-06-15":                  "MissingAction",
		"Action=GetCallerIdentity":                    "MissingParameter",
		"Action=GetCallerIdentity&Version=2011-06-16": "InvalidAction",
	}
	for body, code := range cases {
		p, err := awsquery.ParseRequest(nil, nil, "application/x-www-form-urlencoded", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Action("2011-06-15")
		if pe := parseErr(t, err); pe.Code != code {
			t.Errorf("%s: %s want %s", body, pe.Code, code)
		}
	}
}

func decoderFor(t *testing.T, body string) *awsquery.Decoder {
	t.Helper()
	p, err := awsquery.ParseRequest(nil, nil, "application/x-www-form-urlencoded", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Action("2011-06-15"); err != nil {
		t.Fatal(err)
	}
	return awsquery.NewDecoder(p)
}

var (
	digits      = func(s string) bool { return strings.Trim(s, "0123456789") == "" }
	tokenCode   = awsquery.String{Name: "TokenCode", Min: 6, Max: 6, Pattern: digits, PatternRE: `[\d]*`, Sensitive: true}
	duration    = awsquery.Int{Name: "DurationSeconds", Min: 900, Max: 129600}
	accessKeyID = awsquery.String{Name: "AccessKeyId", Required: true, Min: 16, Max: 128}
)

func TestDecoderMessages(t *testing.T) {
	cases := []struct {
		body, want string
	}{
		{"DurationSeconds=899", "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"DurationSeconds=129601", "1 validation error detected: Value '129601' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600"},
		{"DurationSeconds=1e3", "1 validation error detected: Value '1e3' at 'durationSeconds' failed to satisfy constraint: Member must be an integer"},
		{"DurationSeconds=0x384", "1 validation error detected: Value '0x384' at 'durationSeconds' failed to satisfy constraint: Member must be an integer"},
		{"DurationSeconds=%2B900", "1 validation error detected: Value '+900' at 'durationSeconds' failed to satisfy constraint: Member must be an integer"},
		{"DurationSeconds=%20900", "1 validation error detected: Value ' 900' at 'durationSeconds' failed to satisfy constraint: Member must be an integer"},
		{"TokenCode=12345", "1 validation error detected: Value '*** Sensitive Data Redacted ***' at 'tokenCode' failed to satisfy constraint: Member must have length greater than or equal to 6"},
		{"TokenCode=12a456", "1 validation error detected: Value '*** Sensitive Data Redacted ***' at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]*"},
		{"TokenCode=123456&DurationSeconds=1&Bogus=1", "2 validation errors detected: Value '1' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900; The parameter 'Bogus' is not recognized"},
		{"tokencode=123456", "1 validation error detected: The parameter 'tokencode' is not recognized"},
	}
	for _, c := range cases {
		d := decoderFor(t, "Action=X&Version=2011-06-15&"+c.body)
		d.String(tokenCode)
		d.Int(duration)
		err := d.Finish()
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.body, err, c.want)
		}
		if strings.Contains(c.body, "TokenCode=12") && strings.Contains(err.Error(), "12") {
			t.Errorf("token code echoed: %v", err)
		}
	}
	d := decoderFor(t, "Action=X&Version=2011-06-15")
	d.String(accessKeyID)
	if err := d.Finish(); err == nil || err.Error() != "1 validation error detected: Value null at 'accessKeyId' failed to satisfy constraint: Member must not be null" {
		t.Errorf("missing required: %v", err)
	}
	d = decoderFor(t, "Action=X&Version=2011-06-15&TokenCode=123456&DurationSeconds=900")
	code, _ := d.String(tokenCode)
	dur, present, ok := d.Int(duration)
	if err := d.Finish(); err != nil || code != "123456" || dur != 900 || !present || !ok {
		t.Errorf("valid input: %v %q %d", err, code, dur)
	}
}

func TestStringList(t *testing.T) {
	elem := awsquery.String{Min: 1, Max: 5}
	ok := map[string][]string{
		"":                           nil,
		"&L=":                        {},
		"&L.member.1=a":              {"a"},
		"&L.member.2=b&L.member.1=a": {"a", "b"},
		"&L.member.10=j&L.member.1=a&L.member.2=b&L.member.3=c&L.member.4=d&L.member.5=e&L.member.6=f&L.member.7=g&L.member.8=h&L.member.9=i": {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"},
	}
	for q, want := range ok {
		d := decoderFor(t, "Action=X&Version=2011-06-15"+q)
		got, present, good := d.StringList("L", 10, elem)
		if err := d.Finish(); err != nil || !good || present != (want != nil) || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%q: got %v %v %v %v", q, got, present, good, err)
		}
	}
	for _, q := range []string{"&L.member.0=a", "&L.member.2=b", "&L.member.01=a", "&L.member.x=a", "&L=x", "&L.member.1=toolong"} {
		d := decoderFor(t, "Action=X&Version=2011-06-15"+q)
		_, _, good := d.StringList("L", 10, elem)
		if d.Finish() == nil || good {
			t.Errorf("%q accepted", q)
		}
	}
	var eleven strings.Builder
	for i := 1; i <= 11; i++ {
		eleven.WriteString("&L.member." + strings.Repeat("", 0) + itoa(i) + "=a")
	}
	d := decoderFor(t, "Action=X&Version=2011-06-15"+eleven.String())
	if _, _, good := d.StringList("L", 10, elem); good || d.Finish() == nil {
		t.Error("11 members accepted for max 10")
	}
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

func TestGoldenResponses(t *testing.T) {
	exp := time.Date(2011, 7, 11, 19, 55, 29, 0, time.UTC)
	result := []awsquery.Field{
		awsquery.Struct("Credentials",
			awsquery.Str("AccessKeyId", "ASIAIOSFODNN7EXAMPLE"),
			awsquery.Str("SecretAccessKey", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"),
			awsquery.Str("SessionToken", "AQoE<&>\"'"),
			awsquery.Time("Expiration", exp)),
		awsquery.IntField("PackedPolicySize", 6),
	}
	var x, j, ex, ej bytes.Buffer
	awsquery.WriteXML(&x, "GetSessionToken", result, "58c5dbae-abef-11e0-8cfe-09039844ac7d")
	awsquery.WriteJSON(&j, "GetSessionToken", result, "58c5dbae-abef-11e0-8cfe-09039844ac7d")
	awsquery.WriteErrorXML(&ex, "AccessDenied", "User: <x> & \x00 is not authorized", true, "rid")
	awsquery.WriteErrorJSON(&ej, "InternalFailure", "oops", false, "rid")
	golden(t, "testdata/get_session_token.xml", x.Bytes())
	golden(t, "testdata/get_session_token.json", j.Bytes())
	golden(t, "testdata/error.xml", ex.Bytes())
	golden(t, "testdata/error.json", ej.Bytes())

	// The XML is well-formed and namespaced, whatever the strings held.
	for _, b := range [][]byte{x.Bytes(), ex.Bytes()} {
		dec := xml.NewDecoder(bytes.NewReader(b))
		for {
			tok, err := dec.Token()
			if err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("not well-formed: %v\n%s", err, b)
				}
				break
			}
			if se, ok := tok.(xml.StartElement); ok && se.Name.Space != awsquery.Namespace {
				t.Fatalf("element %s outside namespace", se.Name.Local)
			}
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(j.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got %s\nwant %s", path, got, want)
	}
}
