package accesskey_test

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/accesskey"
)

func TestRoundTrip(t *testing.T) {
	for _, acct := range []string{"000000000000", "000000000001", "111122223333", "123456789012", "999999999999"} {
		for range 200 {
			id, err := accesskey.New(accesskey.TemporaryPrefix, acct, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if len(id) != 20 || !strings.HasPrefix(id, "ASIA") || strings.Trim(id[4:], "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
				t.Fatalf("bad id %q", id)
			}
			got, err := accesskey.Account(id)
			if err != nil || got != acct {
				t.Fatalf("Account(%s) = %q, %v; want %s", id, got, err, acct)
			}
		}
	}
}

// Vectors computed independently with Python's base64.b32decode and the
// published formula; AKIAIOSFODNN7EXAMPLE -> 581039954779 is also the value
// quoted for AWS's documentation key in public write-ups of the encoding.
func TestKnownVectors(t *testing.T) {
	for id, want := range map[string]string{
		"AKIAIOSFODNN7EXAMPLE": "581039954779",
		"AKIAQYLPMN5HHHFPZAM2": "052310077262",
	} {
		got, err := accesskey.Account(id)
		if err != nil || got != want {
			t.Errorf("Account(%s) = %q, %v; want %s", id, got, err, want)
		}
	}
}

func TestNotDecodable(t *testing.T) {
	for _, id := range []string{"", "AKIA", "AKIA000000000000000A", "akiaQYLPMN5HHHFPZAM2", "AKIAQYLPMN5HHHFPZAM", "AKIAQYLPMN5HHHFPZAM22", "AKIAQYLPMN5HHHFPZAM="} {
		if _, err := accesskey.Account(id); err == nil {
			t.Errorf("Account(%q) succeeded", id)
		}
	}
	if _, err := accesskey.New("ASIA", "12345", rand.Reader); err == nil {
		t.Error("short account accepted")
	}
}
