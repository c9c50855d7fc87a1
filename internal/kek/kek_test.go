package kek_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/secret"
)

func TestSealOpen(t *testing.T) {
	a, textA, err := kek.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := kek.Generate(rand.Reader)
	parsed, err := kek.Parse(secret.NewString("  " + textA.Reveal() + "\n"))
	if err != nil || parsed.ID() != a.ID() {
		t.Fatalf("parse: %v %v", parsed, err)
	}
	set := &kek.Set{Current: a}
	plain := bytes.Repeat([]byte{5}, 32)
	blob, err := set.Seal(rand.Reader, plain, []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, plain) {
		t.Fatal("the sealed form contains the key")
	}
	if got, st, err := set.Open(blob, []byte("aad")); err != nil || st != kek.Current || !bytes.Equal(got, plain) {
		t.Fatalf("open: %v %v %v", got, st, err)
	}
	rotated := &kek.Set{Current: b, Previous: []kek.Wrapper{parsed}}
	if _, st, err := rotated.Open(blob, []byte("aad")); err != nil || st != kek.SealedPrevious {
		t.Fatalf("open with the key as previous: %v %v", st, err)
	}
	if _, _, err := (&kek.Set{Current: b}).Open(blob, []byte("aad")); !errors.Is(err, kek.ErrUnknownKEK) {
		t.Errorf("another key: %v", err)
	}
	if _, _, err := set.Open(blob, []byte("other aad")); err == nil {
		t.Error("opened with another aad")
	}
	for i := range blob {
		bad := bytes.Clone(blob)
		bad[i] ^= 0x01
		if _, _, err := set.Open(bad, []byte("aad")); err == nil {
			t.Fatalf("opened with byte %d flipped", i)
		}
	}
	// A header renamed to another configured key does not open.
	id, body, _ := kek.SealedWith(blob)
	renamed := append(append([]byte("KLS1"), byte(len(b.ID()))), b.ID()...)
	renamed = append(renamed, body...)
	if _, _, err := (&kek.Set{Current: b, Previous: []kek.Wrapper{a}}).Open(renamed, []byte("aad")); err == nil || id == b.ID() {
		t.Error("a renamed header opened")
	}
	if _, _, err := set.Open(plain, nil); !errors.Is(err, kek.ErrNotSealed) {
		t.Errorf("clear bytes: %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, text := range []string{"", "not base64!", "c2hvcnQ=", strings.Repeat("A", 88)} {
		if _, err := kek.Parse(secret.NewString(text)); err == nil {
			t.Errorf("%q parsed", text)
		}
	}
}
