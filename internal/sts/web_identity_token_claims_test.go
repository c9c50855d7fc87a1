package sts

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/credential"
)

// The claims are appended without reflection; they decode to what
// encoding/json writes for the same claims (aud a string or an array,
// tags in objects with the last value of a repeated key, empty ones
// left out), for any strings a caller or a configuration can put there.
func FuzzIdentityTokenClaims(f *testing.F) {
	f.Add("https://keyless.example/tokens/x", "arn:aws:iam::111122223333:role/R", "bench", "us-east-1", "team=a;team=b;env=prod", "k=v")
	f.Add("i", "s", "a1\x00a2\x00a3", "", "", "")
	f.Add("\u2028<&>\"\\", "\xff\xfe", "\u202e", "r", "=;\n=\t", "é=漢;🙂=x")
	f.Fuzz(func(t *testing.T, iss, sub, auds, region, ptags, rtags string) {
		aud := strings.Split(auds, "\x00")
		tags := func(s string) []credential.Tag {
			var out []credential.Tag
			for kv := range strings.SplitSeq(s, ";") {
				if k, v, ok := strings.Cut(kv, "="); ok {
					out = append(out, credential.Tag{Key: k, Value: v})
				}
			}
			return out
		}
		c := identityTokenClaims{Issuer: iss, Subject: sub, Audience: aud, IssuedAt: 1765148400, Expires: 1765148700, ID: "jti",
			Account: "111122223333", SourceRegion: region, PrincipalTags: tags(ptags), RequestTags: tags(rtags)}
		var got, want map[string]any
		if err := json.Unmarshal(c.appendJSON(nil), &got); err != nil {
			t.Fatalf("not JSON: %v: %q", err, c.appendJSON(nil))
		}
		tagMap := func(ts []credential.Tag) map[string]string {
			if len(ts) == 0 {
				return nil
			}
			m := map[string]string{}
			for _, t := range ts {
				m[t.Key] = t.Value
			}
			return m
		}
		var audClaim any = aud
		if len(aud) == 1 {
			audClaim = aud[0]
		}
		type awsPart struct {
			Account string            `json:"aws_account"`
			Region  string            `json:"source_region,omitempty"`
			PTags   map[string]string `json:"principal_tags,omitempty"`
			RTags   map[string]string `json:"request_tags,omitempty"`
		}
		raw, err := json.Marshal(struct {
			Iss string  `json:"iss"`
			Aud any     `json:"aud"`
			Sub string  `json:"sub"`
			Iat int64   `json:"iat"`
			Exp int64   `json:"exp"`
			Jti string  `json:"jti"`
			AWS awsPart `json:"https://sts.amazonaws.com/"`
		}{iss, audClaim, sub, c.IssuedAt, c.Expires, c.ID, awsPart{c.Account, region, tagMap(c.PrincipalTags), tagMap(c.RequestTags)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("claims decode to %v, want %v", got, want)
		}
	})
}
