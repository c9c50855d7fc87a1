package integrationapi_test

import (
	"encoding/json"
	"testing"

	"github.com/keyless-dev/keyless/internal/integrationapi"
)

// AppendJSON writes what encoding/json writes for the same value, for
// what any target could send back (the fields come from its answer).
func FuzzProcessCredentialsAppendJSON(f *testing.F) {
	f.Add("ASIAEXAMPLE", "wJalr/+XUtn=", "IQoJb3JpZ2lu//ZXIQ==", "2026-12-07T23:00:00Z")
	f.Add("AKIA", "s", "", "2026-12-07T23:00:00Z")
	f.Add("\"<&>", "\n\u2028\x00", "\xff\xfe", "\u202e")
	f.Fuzz(func(t *testing.T, id, secret, token, exp string) {
		p := integrationapi.ProcessCredentials{Version: 1, AccessKeyID: id, SecretAccessKey: secret, SessionToken: token, Expiration: exp}
		var got, want integrationapi.ProcessCredentials
		if err := json.Unmarshal(p.AppendJSON(nil), &got); err != nil {
			t.Fatalf("not JSON: %v: %q", err, p.AppendJSON(nil))
		}
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("AppendJSON decodes to %+v, encoding/json's to %+v", got, want)
		}
	})
}

// A plain answer (what real targets send) is byte for byte encoding/json's.
func TestProcessCredentialsAppendJSONBytes(t *testing.T) {
	for _, p := range []integrationapi.ProcessCredentials{
		{Version: 1, AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "wJalr/+XUtn=", SessionToken: "IQoJb3JpZ2lu//ZXIQ==", Expiration: "2026-12-07T23:00:00Z"},
		{Version: 1, AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "s", Expiration: "2026-12-07T23:00:00Z"},
	} {
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("AppendJSON wrote %s, want %s", got, want)
		}
	}
}
