package password

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/secret"
)

var fast = Params{Memory: minMemory, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	enc, err := Hash(secret.NewString("correct horse"), fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Fatalf("encoded %q", enc)
	}
	s, err := Parse(enc)
	if err != nil {
		t.Fatal(err)
	}
	c := NewChecker(2, time.Second)
	for pw, want := range map[string]bool{"correct horse": true, "correct hors": false, "": false, "correct horse ": false} {
		if ok, err := c.Verify(context.Background(), &s, secret.NewString(pw)); err != nil || ok != want {
			t.Errorf("%q: %v %v", pw, ok, err)
		}
	}
	if ok, err := c.Verify(context.Background(), nil, secret.NewString("correct horse")); ok || err != nil {
		t.Errorf("no stored hash verified: %v %v", ok, err)
	}
	other, _ := Hash(secret.NewString("correct horse"), fast)
	o, _ := Parse(other)
	if o.Stamp() == s.Stamp() || strings.Contains(enc, s.Stamp()) {
		t.Error("stamps equal for two salts, or the stamp shows the hash")
	}
}

// A bcrypt hash made elsewhere: Dex's development example,
// bcrypt("password") (test-bench.md).
func TestBcryptFromDex(t *testing.T) {
	s, err := Parse("$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W")
	if err != nil {
		t.Fatal(err)
	}
	c := NewChecker(1, time.Second)
	if ok, _ := c.Verify(context.Background(), &s, secret.NewString("password")); !ok {
		t.Error("Dex's bcrypt hash of password did not verify")
	}
	if ok, _ := c.Verify(context.Background(), &s, secret.NewString("Password")); ok {
		t.Error("another password verified")
	}
}

func TestParseRefusals(t *testing.T) {
	for _, enc := range []string{
		"", "password", "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"$argon2id$v=16$m=65536,t=2,p=4$c29tZXNhbHRzYWx0$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8",
		"$argon2id$v=19$m=4194304,t=2,p=4$c29tZXNhbHRzYWx0$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8", // 4 GiB
		"$argon2id$v=19$m=65536,t=0,p=4$c29tZXNhbHRzYWx0$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8",
		"$argon2id$v=19$m=65536,t=100,p=4$c29tZXNhbHRzYWx0$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8",
		"$argon2id$v=19$m=65536,t=2,p=4,x=1$c29tZXNhbHRzYWx0$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8",
		"$argon2id$v=19$m=65536,t=2,p=4$c2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8", // 4-byte salt
		"$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHRzYWx0$!!!",
		"$2a$31$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W", // cost 31
		"$1$md5crypt$x", strings.Repeat("$", 600),
	} {
		if _, err := Parse(enc); err == nil {
			t.Errorf("%q parsed", enc[:min(len(enc), 40)])
		}
	}
	if _, err := Hash(secret.NewString("x"), Params{Memory: 1, Time: 1, Threads: 1}); err == nil {
		t.Error("hashing with 1 KiB accepted")
	}
}

// A flood of sign-ins cannot run more than n verifications at once: the
// rest wait at most the Checker's wait, then are turned away.
func TestCheckerBound(t *testing.T) {
	enc, _ := Hash(secret.NewString("pw"), Default)
	s, _ := Parse(enc)
	c := NewChecker(1, 20*time.Millisecond)
	var wg sync.WaitGroup
	wg.Go(func() {
		if ok, err := c.Verify(context.Background(), &s, secret.NewString("pw")); !ok || err != nil {
			t.Errorf("the first: %v %v", ok, err)
		}
	})
	for len(c.slots) == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := c.Verify(context.Background(), &s, secret.NewString("pw")); err != ErrBusy {
		t.Errorf("a second verification while the only slot is taken: %v", err)
	}
	wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c.slots <- struct{}{} // taken
	if _, err := c.Verify(ctx, &s, secret.NewString("pw")); err == nil {
		t.Error("a cancelled request waited for a slot")
	}
}

// BenchmarkVerify is one sign-in's password check at the default cost
// (docs/benchmarks.md): `go test -bench Verify -benchtime 20x ./internal/password`.
func BenchmarkVerify(b *testing.B) {
	enc, err := Hash(secret.NewString("correct horse battery staple"), Default)
	if err != nil {
		b.Fatal(err)
	}
	stored, err := Parse(enc)
	if err != nil {
		b.Fatal(err)
	}
	c := NewChecker(1, time.Minute)
	pw := secret.NewString("correct horse battery staple")
	for b.Loop() {
		if ok, err := c.Verify(context.Background(), &stored, pw); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
