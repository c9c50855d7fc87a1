package credential

import (
	"bytes"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/iam"
)

func FuzzDecodeClaims(f *testing.F) {
	now := time.UnixMilli(1_800_000_000_123).UTC()
	s := Session{IssuedAt: now, Expiration: now.Add(time.Hour), Issuer: IssuerGetSessionToken,
		Principal: iam.Principal{Type: iam.User, Account: "111122223333", Name: "bob", Path: "/", UniqueID: "AIDAX"}, MFAAuthenticatedAt: now}
	f.Add(encodeClaims(s, bytes.Repeat([]byte{7}, secretLen)))
	f.Add([]byte{})
	f.Add([]byte{1, 30})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, raw, err := decodeClaims(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes: one encoding only.
		if again := encodeClaims(got, raw); !bytes.Equal(again, b) {
			t.Fatalf("non-canonical claims accepted:\n in %x\nout %x", b, again)
		}
	})
}

func TestClaimsRejectUnknownAndUnordered(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000).UTC()
	s := Session{IssuedAt: now, Expiration: now, Issuer: IssuerGetSessionToken,
		Principal: iam.Principal{Type: iam.Root, Account: "111122223333", UniqueID: "111122223333"}}
	good := encodeClaims(s, make([]byte, secretLen))
	if _, _, err := decodeClaims(good); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"unknown trailing field": append(append([]byte(nil), good...), 99, 1, 0),
		"repeated field":         append(append([]byte(nil), good...), tagAccount, 1, 'x'),
		"missing secret":         good[2+secretLen:],
		"short secret":           append([]byte{tagSecret, 29}, append(make([]byte, 29), good[2+secretLen:]...)...),
	} {
		if _, _, err := decodeClaims(b); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
