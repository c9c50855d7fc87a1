package credential_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/accesskey"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

var ctx = context.Background()

type fixture struct {
	ring  *keyring.Ring
	clock *clock.Fake
	store *memory.Store
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	store := memory.New()
	c := clock.NewFake(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC))
	kekSet, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r, err := keyring.Open(ctx, keyring.Options{KEK: kekSet, Store: store, Clock: c, Random: rand.Reader,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Retain: 37 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{r, c, store}
}

func sampleSession(now time.Time) credential.Session {
	return credential.Session{
		IssuedAt:   now,
		Expiration: now.Add(12 * time.Hour),
		Issuer:     credential.IssuerGetSessionToken,
		Principal: iam.Principal{Type: iam.User, Account: "111122223333", Name: "bob", Path: "/engineering/",
			UniqueID: "AIDAJQABLZS4A3QDU576Q"},
		MFAAuthenticatedAt: now,
	}
}

func TestIssueOpen(t *testing.T) {
	f := newFixture(t)
	s := credential.NewTokenSealer(f.ring, "deployment-1", rand.Reader)
	in := sampleSession(f.clock.Now())
	tok, err := s.Issue(&in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(in.AccessKeyID, "ASIA") || len(in.AccessKeyID) != 20 {
		t.Errorf("access key id %q", in.AccessKeyID)
	}
	if acct, err := accesskey.Account(in.AccessKeyID); err != nil || acct != "111122223333" {
		t.Errorf("account in key id: %q %v", acct, err)
	}
	if len(in.Secret.Reveal()) != 40 {
		t.Errorf("secret length %d", len(in.Secret.Reveal()))
	}
	out, err := s.Open(ctx, in.AccessKeyID, tok.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if !out.Secret.Equal(in.Secret) || out.Principal != in.Principal || !out.IssuedAt.Equal(in.IssuedAt) ||
		!out.Expiration.Equal(in.Expiration) || !out.MFAAuthenticatedAt.Equal(in.MFAAuthenticatedAt) || out.Issuer != in.Issuer {
		t.Errorf("round trip:\n in %+v\nout %+v", in, out)
	}
	noMFA := sampleSession(f.clock.Now())
	noMFA.MFAAuthenticatedAt = time.Time{}
	tok2, _ := s.Issue(&noMFA)
	if out, err := s.Open(ctx, noMFA.AccessKeyID, tok2.Reveal()); err != nil || out.MFA() {
		t.Errorf("no-MFA session: %v %v", out.MFA(), err)
	}
}

// The issue asks for plain session tokens under 1 KiB; a principal with the
// longest name and a long path must still fit.
func TestTokenSize(t *testing.T) {
	f := newFixture(t)
	s := credential.NewTokenSealer(f.ring, "0123456789abcdef0123456789abcdef", rand.Reader)
	in := sampleSession(f.clock.Now())
	in.Principal.Name = strings.Repeat("n", 64)
	in.Principal.Path = "/" + strings.Repeat("p", 200) + "/"
	tok, err := s.Issue(&in)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tok.Reveal()); n >= 1024 {
		t.Fatalf("token is %d bytes", n)
	}
	typical := sampleSession(f.clock.Now())
	tok, _ = s.Issue(&typical)
	t.Logf("typical token: %d bytes", len(tok.Reveal()))
}

func TestRejections(t *testing.T) {
	f := newFixture(t)
	s := credential.NewTokenSealer(f.ring, "deployment-1", rand.Reader)
	in := sampleSession(f.clock.Now())
	tokS, err := s.Issue(&in)
	if err != nil {
		t.Fatal(err)
	}
	tok := tokS.Reveal()
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	enc := base64.RawURLEncoding.EncodeToString
	other, _ := accesskey.New("ASIA", "111122223333", rand.Reader)
	cases := map[string]struct{ akid, token string }{
		"other access key id":   {other, tok},
		"AKIA with token":       {"AKIA" + in.AccessKeyID[4:], tok},
		"empty":                 {in.AccessKeyID, ""},
		"too long":              {in.AccessKeyID, strings.Repeat("A", credential.MaxTokenLen+1)},
		"not base64":            {in.AccessKeyID, "!!!!" + tok[4:]},
		"padded base64":         {in.AccessKeyID, tok + "=="},
		"line-broken":           {in.AccessKeyID, tok[:40] + "\n" + tok[40:]}, // the decoder alone would skip it
		"unknown version":       {in.AccessKeyID, enc(append([]byte{2}, raw[1:]...))},
		"unknown key id":        {in.AccessKeyID, enc(append([]byte{1, 0, 0, 0, 99}, raw[5:]...))},
		"truncated nonce":       {in.AccessKeyID, enc(raw[:10])},
		"empty ciphertext":      {in.AccessKeyID, enc(raw[:17])},
		"truncated tag":         {in.AccessKeyID, enc(raw[:len(raw)-1])},
		"other deployment seal": {in.AccessKeyID, ""},
	}
	s2 := credential.NewTokenSealer(f.ring, "deployment-2", rand.Reader)
	in2 := in
	t2, _ := s2.Issue(&in2)
	cases["other deployment seal"] = struct{ akid, token string }{in2.AccessKeyID, t2.Reveal()}
	for name, c := range cases {
		if _, err := s.Open(ctx, c.akid, c.token); !errors.Is(err, credential.ErrInvalidToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Every single-bit flip of the sealed bytes is refused (AEAD tag).
	for i := range raw {
		for bit := range 8 {
			m := append([]byte(nil), raw...)
			m[i] ^= 1 << bit
			if _, err := s.Open(ctx, in.AccessKeyID, enc(m)); err == nil {
				t.Fatalf("bit %d of byte %d flipped and accepted", bit, i)
			}
		}
	}
}

// GCI-03: a token under a retired but retained key is accepted; once the key
// is deleted after its retention, the token is refused.
func TestRetiredKeys(t *testing.T) {
	f := newFixture(t)
	s := credential.NewTokenSealer(f.ring, "d", rand.Reader)
	in := sampleSession(f.clock.Now())
	tok, _ := s.Issue(&in)
	if _, err := f.ring.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, in.AccessKeyID, tok.Reveal()); err != nil {
		t.Fatalf("retained key: %v", err)
	}
	f.clock.Advance(38 * time.Hour)
	if err := f.ring.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, in.AccessKeyID, tok.Reveal()); !errors.Is(err, credential.ErrInvalidToken) {
		t.Fatalf("deleted key: %v", err)
	}
}
