package integration

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"crypto/sha256"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Options configure a Service.
type Options struct {
	// Issuer is keyless's issuer identifier (the deployment's).
	Issuer string
	// Sign signs a token's claims (signing.Keys.Sign).
	Sign   func(alg string, claims []byte) (string, error)
	Target Target
	States storage.IntegrationStates
	IDs    storage.IDs
	// Keys and Sealer keep access keys sealed (storage.SealedKeys).
	Keys   storage.SealedKeys
	Sealer Sealer
	// Leases make a periodic check run on one node only: the first to
	// record a check's slot runs it (storage.SingleUse).
	Leases interface {
		UseOnce(ctx context.Context, key string, until, now time.Time) error
	}
	Clock  clock.Clock
	Random io.Reader
	Logger *slog.Logger
	// CheckEvery is the period of the checks; each integration has its
	// own offset in it. MissingAfter turns an integration missing when it
	// had no successful check for that long. KeyMaxAge warns about
	// access keys older than that.
	CheckEvery, MissingAfter, KeyMaxAge time.Duration
	// Changed is called once per status change, by the node that stored
	// it: the audit event and the log line.
	Changed func(ctx context.Context, before, after storage.IntegrationState)
}

// TokenLifetime is how long a token minted for a target lives: long
// enough to cross the network once.
const TokenLifetime = 5 * time.Minute

// refreshMargin: cached credentials are replaced when less than this is
// left (or a quarter of their lifetime, if shorter), so that a consumer
// always gets at least that much.
const refreshMargin = 5 * time.Minute

// Service keeps the declared integrations, their states and the cache.
type Service struct {
	o   Options
	cur atomic.Pointer[declared]

	cacheMu sync.Mutex
	cache   map[string]*entry // by integration id

	views atomic.Pointer[[]View]

	warnMu sync.Mutex
	warned map[string]time.Time // when each old access key was last logged
}

// declared is one configuration's integrations.
type declared struct {
	byARN map[string]*Integration
	list  []*Integration
}

// entry is one integration's cached session, refreshed by one caller
// at a time.
type entry struct {
	mu          sync.Mutex
	session     Session
	fingerprint string
	obtained    time.Time
	// failed and failedAt: the last refresh's failure, answered to the
	// callers of the next failureHold instead of calling the target again.
	failed   *Failure
	failedAt time.Time
	// checkMu makes pings take turns.
	checkMu sync.Mutex
}

// failureHold is how long a failed refresh is answered without calling
// the target again: a flood of consumers while the target refuses is one
// target call a second.
const failureHold = time.Second

// New returns a Service with no integrations.
func New(o Options) *Service {
	s := &Service{o: o, cache: map[string]*entry{}, warned: map[string]time.Time{}}
	s.cur.Store(&declared{byARN: map[string]*Integration{}})
	s.views.Store(&[]View{})
	return s
}

// Prepare finds (or makes) the ids of a configuration's integrations;
// Use puts them in force.
func (s *Service) Prepare(ctx context.Context, specs []Spec) (func(), error) {
	list, err := claimIDs(ctx, s.o.IDs, s.o.Random, s.o.Clock.Now(), specs, s.o.Issuer)
	if err != nil {
		return nil, err
	}
	for _, in := range list {
		if err := s.storeKey(ctx, in); err != nil {
			return nil, err
		}
		in.fp = in.fingerprint() // with the secret as opened
	}
	d := &declared{byARN: map[string]*Integration{}, list: list}
	ids := map[string]bool{}
	for _, in := range list {
		d.byARN[in.ARN()] = in
		ids[in.ID] = true
	}
	return func() {
		s.cur.Store(d)
		s.cacheMu.Lock()
		for id := range s.cache {
			if !ids[id] {
				delete(s.cache, id) // credentials of an integration no longer declared
			}
		}
		s.cacheMu.Unlock()
	}, nil
}

// Lookup finds a declared integration by ARN.
func (s *Service) Lookup(arn string) (*Integration, bool) {
	in, ok := s.cur.Load().byARN[arn]
	return in, ok
}

// ErrUnknown means no integration has that ARN.
var ErrUnknown = errors.New("integration: no such integration")

// token mints the token of a WIF integration (RFC 7519): keyless's issuer,
// the integration's subject and audience, five minutes.
func (s *Service) token(in *Integration) (secret.String, error) {
	now := s.o.Clock.Now().UTC().Truncate(time.Second)
	jti := make([]byte, 16)
	if _, err := io.ReadFull(s.o.Random, jti); err != nil {
		return secret.String{}, err
	}
	claims, err := json.Marshal(struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Aud string `json:"aud"`
		Iat int64  `json:"iat"`
		Nbf int64  `json:"nbf"`
		Exp int64  `json:"exp"`
		Jti string `json:"jti"`
	}{s.o.Issuer, in.Subject, in.Audience, now.Unix(), now.Unix(), now.Add(TokenLifetime).Unix(), hex.EncodeToString(jti)})
	if err != nil {
		return secret.String{}, err
	}
	tok, err := s.o.Sign(in.Algorithm, claims)
	if err != nil {
		return secret.String{}, err
	}
	return secret.NewString(tok), nil
}

// obtain gets a fresh session from the target.
func (s *Service) obtain(ctx context.Context, in *Integration) (Session, *Failure) {
	ep := in.Endpoint
	switch in.Method {
	case WIF:
		tok, err := s.token(in)
		if err != nil {
			return Session{}, &Failure{Code: FailSigning, Temporary: true, Cause: err, Diagnosis: "keyless could not sign a token: " + err.Error()}
		}
		sess, err := s.o.Target.AssumeRoleWithWebIdentity(ctx, ep, WebIdentityRequest{RoleARN: in.RoleARN, SessionName: in.SessionName,
			Duration: in.SessionDuration, Token: tok})
		if err != nil {
			return Session{}, s.diagnose(in, "AssumeRoleWithWebIdentity", err)
		}
		return sess, nil
	case AccessKey:
		key := Credentials{AccessKeyID: in.Key.ID, Secret: in.Key.Secret}
		if in.RoleARN == "" {
			sess, err := s.o.Target.GetSessionToken(ctx, ep, key, in.SessionDuration)
			if err != nil {
				return Session{}, s.diagnose(in, "GetSessionToken", err)
			}
			return sess, nil
		}
		sess, err := s.o.Target.AssumeRole(ctx, ep, key, RoleRequest{RoleARN: in.RoleARN, SessionName: in.SessionName,
			ExternalID: in.ExternalID, Duration: in.SessionDuration})
		if err != nil {
			return Session{}, s.diagnose(in, "AssumeRole", err)
		}
		return sess, nil
	}
	return Session{}, &Failure{Code: FailOther, Diagnosis: "unknown method " + string(in.Method)}
}

// Handout is credentials handed to a consumer.
type Handout struct {
	Session
	Integration *Integration
	// Cached: served from the cache, without calling the target.
	Cached bool
}

// Credentials returns the target's credentials for integration arn, from
// the cache while they have refreshMargin left; one caller refreshes
// them while the others wait for its answer.
func (s *Service) Credentials(ctx context.Context, arn string) (Handout, error) {
	in, ok := s.Lookup(arn)
	if !ok {
		return Handout{}, ErrUnknown
	}
	e := s.entry(in.ID)
	fp := in.fp
	e.mu.Lock()
	defer e.mu.Unlock()
	now := s.o.Clock.Now()
	if e.fingerprint == fp && e.fresh(now) {
		return Handout{Session: e.session, Integration: in, Cached: true}, nil
	}
	if e.failed != nil && e.fingerprint == fp && now.Sub(e.failedAt) < failureHold {
		return Handout{}, e.failed
	}
	sess, f := s.obtain(ctx, in)
	if f != nil {
		e.failed, e.failedAt, e.fingerprint = f, now, fp
		return Handout{}, f
	}
	e.session, e.fingerprint, e.obtained, e.failed = sess, fp, now, nil
	return Handout{Session: sess, Integration: in}, nil
}

// entry is integration id's cache entry, made on first use.
func (s *Service) entry(id string) *entry {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	e := s.cache[id]
	if e == nil {
		e = &entry{}
		s.cache[id] = e
	}
	return e
}

// fresh reports whether the cached session may still be handed out: it
// has refreshMargin left, or a quarter of its lifetime if that is
// shorter.
func (e *entry) fresh(now time.Time) bool {
	if e.session.AccessKeyID == "" {
		return false
	}
	margin := min(refreshMargin, e.session.Expiration.Sub(e.obtained)/4)
	return e.session.Expiration.Sub(now) > margin
}

// Ping checks an integration now and returns its view.
func (s *Service) Ping(ctx context.Context, arn string) (View, error) {
	in, ok := s.Lookup(arn)
	if !ok {
		return View{}, ErrUnknown
	}
	// Pings of one integration take turns; one that waited while another
	// checked takes that check's outcome, so that a flood of pings is one
	// check at a time, not one each.
	asked := s.o.Clock.Now()
	e := s.entry(in.ID)
	e.checkMu.Lock()
	defer e.checkMu.Unlock()
	if !s.checkedSince(ctx, in, asked) {
		if err := s.check(ctx, in); err != nil {
			return View{}, err
		}
	}
	return s.view(ctx, arn)
}

// checkedSince reports whether in was checked at or after t.
func (s *Service) checkedSince(ctx context.Context, in *Integration, t time.Time) bool {
	states, err := s.o.States.ListIntegrationStates(ctx)
	if err != nil {
		return false
	}
	for _, st := range states {
		if st.ID == in.ID {
			return !st.CheckedAt.Before(t)
		}
	}
	return false
}

// check runs one check and records its outcome: obtain a session, then
// GetCallerIdentity with it; a success also fills the cache.
func (s *Service) check(ctx context.Context, in *Integration) error {
	obtained := s.o.Clock.Now()
	sess, f := s.obtain(ctx, in)
	var arn string
	if f == nil {
		var err error
		arn, err = s.o.Target.GetCallerIdentity(ctx, in.Endpoint, sess.Credentials)
		switch {
		case err != nil:
			f = s.diagnose(in, "GetCallerIdentity", err)
		case in.RoleARN != "" && !sessionOf(arn, in.RoleARN):
			f = &Failure{Code: FailIdentityMismatch, Diagnosis: fmt.Sprintf(
				"The target's GetCallerIdentity answered %s, which is not a session of %s.", arn, in.RoleARN)}
		}
	}
	if f == nil {
		if cur, ok := s.Lookup(in.ARN()); ok && cur.ID == in.ID {
			if e := s.entry(in.ID); e.mu.TryLock() {
				e.session, e.fingerprint, e.obtained, e.failed = sess, in.fp, obtained, nil
				e.mu.Unlock()
			}
		}
	}
	now := s.o.Clock.Now().UTC()
	return s.update(ctx, in.ID, in.ARN(), true, func(st *storage.IntegrationState) {
		st.CheckedAt = now
		if f == nil {
			st.SucceededAt, st.AssumedARN, st.Failure, st.Diagnosis = now, arn, "", ""
		} else {
			st.Failure, st.Diagnosis = f.Code, f.Diagnosis
		}
	})
}

// sessionOf reports whether arn is a session of role: for
// arn:aws:iam::A:role/PATH/NAME, arn:aws:sts::A:assumed-role/NAME/SESSION.
func sessionOf(arn, role string) bool {
	parts := strings.SplitN(role, ":", 6)
	if len(parts) != 6 || !strings.HasPrefix(parts[5], "role/") {
		return false
	}
	name := parts[5][strings.LastIndexByte(parts[5], '/')+1:]
	return strings.HasPrefix(arn, "arn:"+parts[1]+":sts::"+parts[4]+":assumed-role/"+name+"/")
}

// update changes one integration's state by compare-and-swap, creating
// it if needed, recomputes its status and reports a change.
func (s *Service) update(ctx context.Context, id, arn string, isDeclared bool, change func(*storage.IntegrationState)) error {
	for range 5 {
		states, err := s.o.States.ListIntegrationStates(ctx)
		if err != nil {
			return err
		}
		now := s.o.Clock.Now().UTC()
		before := storage.IntegrationState{ID: id, ARN: arn, DeclaredAt: now}
		for _, st := range states {
			if st.ID == id {
				before = st
			}
		}
		after := before
		if isDeclared {
			after.DeletedAt = time.Time{}
		}
		if change != nil {
			change(&after)
		}
		after.Status = string(statusOf(after, isDeclared, now, s.o.MissingAfter))
		if before.Version > 0 && after == before {
			return nil
		}
		after.Version = before.Version + 1
		err = s.o.States.PutIntegrationState(ctx, after)
		if errors.Is(err, storage.ErrConflict) {
			continue // another node changed it: start again from its state
		}
		if err != nil {
			return err
		}
		if after.Status != before.Status && s.o.Changed != nil {
			s.o.Changed(ctx, before, after)
		}
		return nil
	}
	return fmt.Errorf("integration %s: state kept changing under us", arn)
}

// Sweep brings every state up to date (new integrations, statuses that
// turned missing, removed integrations) and runs the checks that are due
// on this node. Run it every few seconds on every node.
func (s *Service) Sweep(ctx context.Context) error {
	d := s.cur.Load()
	states, err := s.o.States.ListIntegrationStates(ctx)
	if err != nil {
		return err
	}
	byID := map[string]storage.IntegrationState{}
	for _, st := range states {
		byID[st.ID] = st
	}
	now := s.o.Clock.Now()
	var errs []error
	seen := map[string]bool{}
	for _, in := range d.list {
		seen[in.ID] = true
		st, ok := byID[in.ID]
		if !ok || Status(st.Status) != statusOf(st, true, now, s.o.MissingAfter) {
			errs = append(errs, s.update(ctx, in.ID, in.ARN(), true, nil))
		}
		if s.due(ctx, in, ok && !st.CheckedAt.IsZero()) {
			if err := s.check(ctx, in); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, st := range states {
		switch {
		case seen[st.ID]:
		case st.Status != string(Deleted):
			errs = append(errs, s.update(ctx, st.ID, st.ARN, false, func(st *storage.IntegrationState) {
				st.DeletedAt = now.UTC()
			}))
		case !st.DeletedAt.IsZero() && now.Sub(st.DeletedAt) > releaseAfter:
			errs = append(errs, s.release(ctx, st))
		}
	}
	s.refreshViews(ctx)
	return errors.Join(errs...)
}

// releaseAfter is how long a deleted integration keeps its id: longer than
// any rolling reload of the configuration across nodes (one node on the
// old configuration must not make the others take a new id), short enough
// that a name declared again a day later gets a new one.
const releaseAfter = 24 * time.Hour

// release unbinds a deleted integration's id from its name, so that an
// integration declared again under the name gets a new id, and a new WIF
// subject: trust given to the old one does not carry over (as for roles).
func (s *Service) release(ctx context.Context, st storage.IntegrationState) error {
	rest, ok := strings.CutPrefix(st.ARN, "arn:aws:keyless::")
	account, path, ok2 := strings.Cut(rest, ":integration/")
	if !ok || !ok2 {
		return nil
	}
	key := "integration/" + account + "/" + path
	bound, err := s.o.IDs.ListIDs(ctx, key)
	if err != nil {
		return err
	}
	if bound[key] != st.ID {
		return nil // already released, or bound anew
	}
	return s.o.IDs.ReleaseID(ctx, key)
}

// due claims this integration's current check slot, if no node has: each
// integration is checked once per CheckEvery, at an offset of its own in
// the period (spreading the checks), and once as soon as it is declared.
func (s *Service) due(ctx context.Context, in *Integration, checked bool) bool {
	now := s.o.Clock.Now()
	every := s.o.CheckEvery
	var slot string
	if !checked {
		slot = "first"
	} else {
		sum := sha256.Sum256([]byte(in.ID))
		offset := time.Duration(binary.BigEndian.Uint64(sum[:8]) % uint64(every))
		n := now.Add(-offset).UnixNano() / int64(every)
		slot = strconv.FormatInt(n, 10)
	}
	err := s.o.Leases.UseOnce(ctx, "integration-check/"+in.ID+"/"+slot, now.Add(2*every), now)
	return err == nil
}

// view returns one integration's view, from storage.
func (s *Service) view(ctx context.Context, arn string) (View, error) {
	s.refreshViews(ctx)
	for _, v := range *s.views.Load() {
		if v.ARN == arn {
			return v, nil
		}
	}
	return View{}, ErrUnknown
}

// Views returns every integration's view as of the last sweep, deleted
// ones included, ordered by ARN (for metrics).
func (s *Service) Views() []View { return *s.views.Load() }

// Current returns every integration's view as stored now: the
// configuration's integrations from the moment it is in force, before any
// sweep.
func (s *Service) Current(ctx context.Context) []View {
	s.refreshViews(ctx)
	return s.Views()
}

// refreshViews rebuilds the views from storage.
func (s *Service) refreshViews(ctx context.Context) {
	states, err := s.o.States.ListIntegrationStates(ctx)
	if err != nil {
		s.o.Logger.Warn("integration states unavailable", "err", err)
		return
	}
	now := s.o.Clock.Now()
	d := s.cur.Load()
	byID := map[string]storage.IntegrationState{}
	for _, st := range states {
		byID[st.ID] = st
	}
	var out []View
	for _, in := range d.list {
		st, ok := byID[in.ID]
		if !ok {
			st = storage.IntegrationState{DeclaredAt: now}
		}
		delete(byID, in.ID)
		v := View{ARN: in.ARN(), ID: in.ID, Account: in.Account, Space: in.Space, Name: in.Name, Method: in.Method, RoleARN: in.RoleARN,
			Audience: in.Audience, Subject: in.Subject, Endpoint: in.Endpoint.URL, Region: in.Endpoint.Region,
			Status: statusOf(st, true, now, s.o.MissingAfter), DeclaredAt: st.DeclaredAt, CheckedAt: st.CheckedAt, SucceededAt: st.SucceededAt,
			AssumedARN: st.AssumedARN, Failure: st.Failure, Diagnosis: st.Diagnosis}
		if in.Method != WIF {
			v.Audience, v.Subject = "", ""
		}
		if in.Key != nil {
			v.KeyID, v.KeyAge = in.Key.ID, in.KeyAge(now).Truncate(time.Second)
			if s.o.KeyMaxAge > 0 && v.KeyAge > s.o.KeyMaxAge {
				v.KeyWarning = fmt.Sprintf("access key %s is %s old, past the %s this deployment allows: retire it by switching the integration to wif",
					in.Key.ID, days(v.KeyAge), days(s.o.KeyMaxAge))
				s.warnDaily(in, v.KeyWarning, now)
			}
		}
		out = append(out, v)
	}
	for _, st := range byID {
		out = append(out, View{ARN: st.ARN, ID: st.ID, Status: Deleted, DeclaredAt: st.DeclaredAt, CheckedAt: st.CheckedAt,
			SucceededAt: st.SucceededAt, AssumedARN: st.AssumedARN, Failure: st.Failure, Diagnosis: st.Diagnosis})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	s.views.Store(&out)
}

// warnDaily logs an old access key's warning at most once a day.
func (s *Service) warnDaily(in *Integration, warning string, now time.Time) {
	s.warnMu.Lock()
	last, ok := s.warned[in.ID]
	due := !ok || now.Sub(last) >= 24*time.Hour
	if due {
		s.warned[in.ID] = now
	}
	s.warnMu.Unlock()
	if due {
		s.o.Logger.Warn("integration access key too old", "integration", in.ARN(), "warning", warning)
	}
}

func days(d time.Duration) string { return strconv.Itoa(int(d/(24*time.Hour))) + " days" }
