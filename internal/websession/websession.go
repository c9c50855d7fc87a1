package websession

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/login"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Options configure a Service. Zero values take the defaults.
type Options struct {
	Store  storage.Records
	Clock  clock.Clock
	Random io.Reader
	// Idle ends a session unused for this long (1 hour); Absolute ends
	// it this long after its sign-in whatever its use (12 hours).
	Idle, Absolute time.Duration
	// MaxPerBrowser bounds a browser's sessions (5, as the console's
	// multi-session); signing in beyond it ends the least recently used.
	MaxPerBrowser int
}

// Service keeps browsers' sessions.
type Service struct{ o Options }

// New returns a Service.
func New(o Options) *Service {
	if o.Idle == 0 {
		o.Idle = time.Hour
	}
	if o.Absolute == 0 {
		o.Absolute = 12 * time.Hour
	}
	if o.MaxPerBrowser == 0 {
		o.MaxPerBrowser = 5
	}
	return &Service{o: o}
}

// Session is one signed-in identity in a browser.
type Session struct {
	ID        string          `json:"id"` // random, shown in forms to pick it
	Principal login.Principal `json:"principal"`
	// Method is how the person proved who they are: "password",
	// "password+mfa", "saml", "oidc".
	Method     string    `json:"method"`
	SignedInAt time.Time `json:"signed_in_at"`
	SeenAt     time.Time `json:"seen_at"`
	// MaxSession, if set, ends the session sooner than Absolute (a role's
	// maximum session duration).
	MaxSession time.Duration `json:"max_session,omitempty"`
}

// Ends is when the session ends if it stays in use.
func (s Session) Ends(absolute time.Duration) time.Time {
	if s.MaxSession > 0 && s.MaxSession < absolute {
		absolute = s.MaxSession
	}
	return s.SignedInAt.Add(absolute)
}

// Browser is what one cookie value holds.
type Browser struct {
	Sessions []Session // most recently used first

	// CSRF is the secret form tokens are derived from (it redacts itself
	// when printed).
	CSRF secret.Bytes

	id      string // the record's id: the cookie value's hash
	version int64
}

const kind = "signin-browser"

// stored is a browser's record.
type stored struct {
	Sessions []Session `json:"sessions"`
	CSRF     []byte    `json:"csrf"`
}

// recordID is the stored name of a cookie value: its hash, so that
// storage never holds what a browser presents.
func recordID(cookie string) string {
	sum := sha256.Sum256([]byte("keyless browser\x00" + cookie))
	return hex.EncodeToString(sum[:])
}

// ErrNone means the browser has no live session.
var ErrNone = errors.New("websession: no session")

// Load returns the browser's live sessions, noting each as used now at
// most once a minute (a write per page would be a write per click).
func (s *Service) Load(ctx context.Context, cookie secret.String) (Browser, error) {
	if cookie.IsZero() || len(cookie.Reveal()) > 128 {
		return Browser{}, ErrNone
	}
	for range 8 {
		now := s.o.Clock.Now()
		b, err := s.get(ctx, cookie, now)
		if err != nil {
			return Browser{}, err
		}
		changed := b.prune(now, s.o)
		if len(b.Sessions) == 0 {
			_ = s.o.Store.DeleteRecord(ctx, kind, b.id)
			return Browser{}, ErrNone
		}
		if now.Sub(b.Sessions[0].SeenAt) >= time.Minute {
			b.Sessions[0].SeenAt, changed = now, true
		}
		if !changed {
			return b, nil
		}
		if err := s.put(ctx, &b, now); errors.Is(err, storage.ErrConflict) {
			continue
		} else if err != nil {
			return Browser{}, err
		}
		return b, nil
	}
	return Browser{}, errors.New("websession: the browser's record kept changing")
}

func (s *Service) get(ctx context.Context, cookie secret.String, now time.Time) (Browser, error) {
	rec, err := s.o.Store.GetRecord(ctx, kind, recordID(cookie.Reveal()), now)
	if errors.Is(err, storage.ErrNotFound) {
		return Browser{}, ErrNone
	}
	if err != nil {
		return Browser{}, err
	}
	var st stored
	if err := json.Unmarshal(rec.Data, &st); err != nil {
		return Browser{}, err
	}
	b := Browser{Sessions: st.Sessions, CSRF: secret.NewBytes(st.CSRF)}
	b.id, b.version = rec.ID, rec.Version
	return b, nil
}

// prune drops ended sessions and reports whether it dropped any.
func (b *Browser) prune(now time.Time, o Options) bool {
	n := len(b.Sessions)
	b.Sessions = slices.DeleteFunc(b.Sessions, func(x Session) bool {
		return !now.Before(x.SeenAt.Add(o.Idle)) || !now.Before(x.Ends(o.Absolute))
	})
	return len(b.Sessions) != n
}

func (s *Service) put(ctx context.Context, b *Browser, now time.Time) error {
	var expires time.Time
	for _, x := range b.Sessions {
		end := x.SeenAt.Add(s.o.Idle)
		if abs := x.Ends(s.o.Absolute); abs.Before(end) {
			end = abs
		}
		if end.After(expires) {
			expires = end
		}
	}
	data, err := json.Marshal(stored{Sessions: b.Sessions, CSRF: b.CSRF.Reveal()})
	if err != nil {
		return err
	}
	b.version++
	err = s.o.Store.PutRecord(ctx, storage.Record{Kind: kind, ID: b.id, Data: data, Expires: expires, Version: b.version}, now)
	if err != nil {
		b.version--
	}
	return err
}

// SignIn adds sess to the browser that presented cookie (none: a new
// browser) and returns the cookie value it is to hold from now on: a new
// one, whatever it presented, and the old one is forgotten.
func (s *Service) SignIn(ctx context.Context, cookie secret.String, sess Session) (secret.String, Browser, error) {
	now := s.o.Clock.Now()
	b, err := s.Load(ctx, cookie)
	switch {
	case errors.Is(err, ErrNone):
		b = Browser{}
	case err != nil:
		return secret.String{}, Browser{}, err
	}
	old := b.id
	if sess.ID, err = s.random(16); err != nil {
		return secret.String{}, Browser{}, err
	}
	sess.SignedInAt, sess.SeenAt = now, now
	// The same principal signing in again replaces its older session.
	b.Sessions = slices.DeleteFunc(b.Sessions, func(x Session) bool { return x.Principal.ARN == sess.Principal.ARN })
	b.Sessions = append([]Session{sess}, b.Sessions...)
	if len(b.Sessions) > s.o.MaxPerBrowser {
		b.Sessions = b.Sessions[:s.o.MaxPerBrowser]
	}
	// A new form secret too: whoever knew the old cookie (planted it)
	// must not know this browser's form tokens.
	csrf := make([]byte, 32)
	if _, err := io.ReadFull(s.o.Random, csrf); err != nil {
		return secret.String{}, Browser{}, err
	}
	b.CSRF = secret.NewBytes(csrf)
	fresh, err := s.random(32)
	if err != nil {
		return secret.String{}, Browser{}, err
	}
	b.id, b.version = recordID(fresh), 0
	if err := s.put(ctx, &b, now); err != nil {
		return secret.String{}, Browser{}, err
	}
	if old != "" {
		if err := s.o.Store.DeleteRecord(ctx, kind, old); err != nil {
			return secret.String{}, Browser{}, err
		}
	}
	return secret.NewString(fresh), b, nil
}

// Use makes session id the browser's current one (switching identities).
// ErrNone if the browser has no such live session.
func (s *Service) Use(ctx context.Context, cookie secret.String, id string) (Session, error) {
	return s.change(ctx, cookie, func(b *Browser) (Session, error) {
		i := slices.IndexFunc(b.Sessions, func(x Session) bool { return x.ID == id })
		if i < 0 {
			return Session{}, ErrNone
		}
		x := b.Sessions[i]
		x.SeenAt = s.o.Clock.Now()
		b.Sessions = append([]Session{x}, slices.Delete(b.Sessions, i, i+1)...)
		return x, nil
	})
}

// SignOut ends session id, or every session of the browser if id is "".
func (s *Service) SignOut(ctx context.Context, cookie secret.String, id string) error {
	_, err := s.change(ctx, cookie, func(b *Browser) (Session, error) {
		b.Sessions = slices.DeleteFunc(b.Sessions, func(x Session) bool { return id == "" || x.ID == id })
		return Session{}, nil
	})
	if errors.Is(err, ErrNone) {
		return nil // signed out already
	}
	return err
}

func (s *Service) change(ctx context.Context, cookie secret.String, fn func(*Browser) (Session, error)) (Session, error) {
	for range 8 {
		b, err := s.Load(ctx, cookie)
		if err != nil {
			return Session{}, err
		}
		x, err := fn(&b)
		if err != nil {
			return Session{}, err
		}
		now := s.o.Clock.Now()
		if len(b.Sessions) == 0 {
			return x, s.o.Store.DeleteRecord(ctx, kind, b.id)
		}
		if err := s.put(ctx, &b, now); errors.Is(err, storage.ErrConflict) {
			continue
		} else if err != nil {
			return Session{}, err
		}
		return x, nil
	}
	return Session{}, errors.New("websession: the browser's record kept changing")
}

// FormToken is the token a form for purpose carries in this browser:
// an HMAC of the purpose under the browser's secret.
func (b Browser) FormToken(purpose string) string {
	m := hmac.New(sha256.New, b.CSRF.Reveal())
	m.Write([]byte("keyless form\x00" + purpose))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckForm reports whether token is this browser's for purpose.
func (b Browser) CheckForm(purpose, token string) bool {
	return len(b.CSRF.Reveal()) > 0 && hmac.Equal([]byte(b.FormToken(purpose)), []byte(token))
}

func (s *Service) random(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.o.Random, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
