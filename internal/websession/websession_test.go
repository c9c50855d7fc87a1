package websession_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/login"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage/memory"
	"github.com/keyless-dev/keyless/internal/websession"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
)

func who(name string) websession.Session {
	return websession.Session{Principal: login.Principal{ARN: "arn:aws:iam::111122223333:user/" + name, ID: "AIDA" + name}, Method: "password"}
}

func newService() (*websession.Service, *clock.Fake) {
	c := clock.NewFake(t0)
	return websession.New(websession.Options{Store: memory.New(), Clock: c, Random: rand.Reader}), c
}

// Signing in hands the browser a new cookie value and forgets the one it
// presented, so a value planted before the sign-in is worthless
// (session fixation).
func TestSignInRotatesTheCookie(t *testing.T) {
	s, _ := newService()
	first, a, err := s.SignIn(ctx, secret.String{}, who("alice"))
	if err != nil {
		t.Fatal(err)
	}
	second, b, err := s.SignIn(ctx, first, who("bob"))
	if err != nil {
		t.Fatal(err)
	}
	if second.Equal(first) || len(b.Sessions) != 2 || b.Sessions[0].Principal.ARN != who("bob").Principal.ARN {
		t.Fatalf("second sign-in: %+v", b.Sessions)
	}
	// The form secret is new too: whoever planted the old cookie knew
	// the old form tokens.
	if b.CheckForm("sessions", a.FormToken("sessions")) {
		t.Error("a form token from before the sign-in is still good")
	}
	if _, err := s.Load(ctx, first); !errors.Is(err, websession.ErrNone) {
		t.Errorf("the cookie value from before the sign-in still works: %v", err)
	}
	// A planted value that never signed in gets a fresh one too.
	planted := secret.NewString("attacker-chosen-value")
	got, _, err := s.SignIn(ctx, planted, who("carol"))
	if err != nil || got.Equal(planted) {
		t.Fatalf("signing in with a planted value kept it: %v", err)
	}
	if _, err := s.Load(ctx, planted); !errors.Is(err, websession.ErrNone) {
		t.Errorf("the planted value works: %v", err)
	}
}

func TestTimeouts(t *testing.T) {
	s, c := newService()
	cookie, _, err := s.SignIn(ctx, secret.String{}, who("alice"))
	if err != nil {
		t.Fatal(err)
	}
	// In use every 50 minutes: alive until the absolute 12 hours.
	for range 14 {
		c.Advance(50 * time.Minute)
		if _, err := s.Load(ctx, cookie); err != nil {
			t.Fatalf("at %v: %v", c.Now().Sub(t0), err)
		}
	}
	c.Advance(50 * time.Minute) // 12h30
	if _, err := s.Load(ctx, cookie); !errors.Is(err, websession.ErrNone) {
		t.Errorf("past the absolute timeout: %v", err)
	}
	cookie, _, _ = s.SignIn(ctx, secret.String{}, who("alice"))
	c.Advance(61 * time.Minute)
	if _, err := s.Load(ctx, cookie); !errors.Is(err, websession.ErrNone) {
		t.Errorf("past the idle timeout: %v", err)
	}
	short := who("role")
	short.MaxSession = 90 * time.Minute
	cookie, _, _ = s.SignIn(ctx, secret.String{}, short)
	for range 3 {
		c.Advance(31 * time.Minute)
		_, _ = s.Load(ctx, cookie)
	}
	if _, err := s.Load(ctx, cookie); !errors.Is(err, websession.ErrNone) {
		t.Errorf("past the role's maximum session: %v", err)
	}
}

// Five sessions per browser; a sixth ends the least recently used. The
// same principal again replaces its own.
func TestMultiSession(t *testing.T) {
	s, c := newService()
	var cookie secret.String
	var b websession.Browser
	var err error
	for i := range 6 {
		c.Advance(time.Second)
		if cookie, b, err = s.SignIn(ctx, cookie, who(fmt.Sprint("u", i))); err != nil {
			t.Fatal(err)
		}
	}
	if len(b.Sessions) != 5 || b.Sessions[4].Principal.ARN != who("u1").Principal.ARN {
		t.Fatalf("six sign-ins: %d sessions, last %s", len(b.Sessions), b.Sessions[4].Principal.ARN)
	}
	if cookie, b, err = s.SignIn(ctx, cookie, who("u3")); err != nil || len(b.Sessions) != 5 || b.Sessions[0].Principal.ARN != who("u3").Principal.ARN {
		t.Fatalf("u3 again: %+v %v", b.Sessions, err)
	}
	target := b.Sessions[2]
	if got, err := s.Use(ctx, cookie, target.ID); err != nil || got.ID != target.ID {
		t.Fatalf("switching: %+v %v", got, err)
	}
	if b, _ = s.Load(ctx, cookie); b.Sessions[0].ID != target.ID {
		t.Errorf("the switched-to session is not current")
	}
	if _, err := s.Use(ctx, cookie, "not-a-session"); !errors.Is(err, websession.ErrNone) {
		t.Errorf("switching to another browser's or no session: %v", err)
	}
	if err := s.SignOut(ctx, cookie, target.ID); err != nil {
		t.Fatal(err)
	}
	if b, _ = s.Load(ctx, cookie); len(b.Sessions) != 4 {
		t.Errorf("after signing out of one: %d", len(b.Sessions))
	}
	if err := s.SignOut(ctx, cookie, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, cookie); !errors.Is(err, websession.ErrNone) {
		t.Errorf("after signing out of all: %v", err)
	}
	if err := s.SignOut(ctx, cookie, ""); err != nil {
		t.Errorf("signing out twice: %v", err)
	}
}

// A form token is this browser's and this purpose's (CSRF): another
// browser's, another purpose's or a forged one is refused.
func TestFormTokens(t *testing.T) {
	s, _ := newService()
	_, a, _ := s.SignIn(ctx, secret.String{}, who("alice"))
	_, b, _ := s.SignIn(ctx, secret.String{}, who("bob"))
	tok := a.FormToken("consent")
	switch {
	case !a.CheckForm("consent", tok):
		t.Error("the browser's own token refused")
	case a.CheckForm("signout", tok):
		t.Error("a token for another purpose accepted")
	case b.CheckForm("consent", tok):
		t.Error("another browser's token accepted")
	case a.CheckForm("consent", ""), (websession.Browser{}).CheckForm("consent", (websession.Browser{}).FormToken("consent")):
		t.Error("an empty token, or a browser without a secret, accepted")
	}
}

// Pages loaded at once from one browser all find their sessions.
func TestConcurrentLoads(t *testing.T) {
	s, c := newService()
	cookie, _, _ := s.SignIn(ctx, secret.String{}, who("alice"))
	c.Advance(2 * time.Minute) // every load wants to note the use
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := s.Load(ctx, cookie); err != nil {
				t.Errorf("a concurrent load: %v", err)
			}
		})
	}
	wg.Wait()
}

// A browser printed (a log line, an error) shows none of its secret.
func TestBrowserPrintsNoSecret(t *testing.T) {
	s, _ := newService()
	_, b, _ := s.SignIn(ctx, secret.String{}, who("alice"))
	tok := b.FormToken("consent")
	for _, out := range []string{fmt.Sprintf("%v", b), fmt.Sprintf("%+v", b), fmt.Sprintf("%#v", b)} {
		if strings.Contains(out, fmt.Sprint(b.CSRF.Reveal())) || strings.Contains(out, tok) || !strings.Contains(out, secret.Redacted) {
			t.Errorf("printed: %s", out)
		}
	}
}
