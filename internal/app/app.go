package app

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/authmsg"
	"github.com/keyless-dev/keyless/internal/authzapi"
	"github.com/keyless-dev/keyless/internal/awsproof"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/exchangeapi"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/saml"
	"github.com/keyless-dev/keyless/internal/samlsignin"
	"github.com/keyless-dev/keyless/internal/samlxml"
	"github.com/keyless-dev/keyless/internal/sigauth"
	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/sts"
	"github.com/keyless-dev/keyless/internal/stsapi"
)

// Deps are the process-level dependencies the app does not build itself.
type Deps struct {
	Store  storage.Store
	Clock  clock.Clock
	Random io.Reader
	Logger *slog.Logger
}

// App is a wired keyless server.
type App struct {
	cfg     *config.Config
	deps    Deps
	ring    *keyring.Ring
	audit   *audit.Writer
	revoked *revocations
	handler http.Handler
}

// maxSessionLifetime is the longest temporary credential STS issues
// (GetSessionToken, 36 hours); retired keys are kept at least this long.
const maxSessionLifetime = 36 * time.Hour

// maintainEvery is how often keys are reloaded, rotated and pruned.
const maintainEvery = 30 * time.Second

// New wires an App. It takes ownership of deps.Store.
func New(ctx context.Context, cfg *config.Config, deps Deps) (*App, error) {
	deploymentID, err := deps.Store.ClaimID(ctx, "deployment", randomID(deps.Random, "D", 20))
	if err != nil {
		return nil, fmt.Errorf("deployment id: %w", err)
	}
	dir, err := directory(ctx, cfg.Identities, deps)
	if err != nil {
		return nil, err
	}
	ring, err := keyring.Open(ctx, keyring.Options{
		Store: deps.Store, Clock: deps.Clock, Random: deps.Random, Logger: deps.Logger,
		Retain:      maxSessionLifetime + maintainEvery + time.Hour,
		RotateEvery: cfg.KeyRotateEvery,
	})
	if err != nil {
		return nil, err
	}
	revoked, err := newRevocations(ctx, deps.Store)
	if err != nil {
		return nil, fmt.Errorf("session revocations: %w", err)
	}
	reg := prometheus.NewRegistry()
	keys, err := providerKeys(dir, deps, reg)
	if err != nil {
		return nil, err
	}
	svc := sts.New(sts.Options{
		ProviderKeys:     keys,
		Directory:        dir,
		Sealer:           credential.NewSealer(ring, deploymentID, deps.Random),
		Messages:         authmsg.NewSealer(ring, deps.Random),
		RevokedBefore:    revoked.before,
		MFA:              deps.Store,
		Clock:            deps.Clock,
		MFAMaxFailures:   cfg.MFAMaxFailures,
		MFALockoutWindow: cfg.MFALockoutWindow,
		SAML:             samlxml.New(samlxml.Options{}),
		SAMLExpect:       samlExpectations(cfg, deps.Logger),
		SingleUse:        deps.Store,
	})
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	writer := audit.NewWriter(deps.Store, deps.Logger, auditMetrics(reg))
	a := &App{cfg: cfg, deps: deps, ring: ring, audit: writer, revoked: revoked}
	auth := &sigauth.Authenticator{Service: svc, Verifier: sigv4.NewVerifier(10000), AllowRegion: allowRegion(cfg.Regions)}
	stsHandler := stsapi.New(stsapi.Options{
		Service: svc,
		Auth:    auth,
		Audit:   writer,
		Clock:   deps.Clock,
		Random:  deps.Random,
		Logger:  deps.Logger,
		Metrics: stsapi.NewMetrics(reg),
		Region:  cfg.Region,
	})
	useOnce := func(ctx context.Context, key string, until time.Time) error {
		if exchange.IsDryRun(ctx) {
			return nil // an operator's explain leaves no trace
		}
		return deps.Store.UseOnce(ctx, key, until, deps.Clock.Now())
	}
	challenges := exchange.NewChallenges(ring, deps.Clock, deps.Random, useOnce)
	awsProofs, err := awsproof.New(awsproof.Options{
		Partitions:       cfg.Exchange.Partitions,
		Upstreams:        upstreams(cfg.Exchange.Upstreams),
		RequireChallenge: cfg.Exchange.RequireChallenge,
		Challenges:       challenges,
		UseOnce:          useOnce,
		Clock:            deps.Clock,
		MaxAge:           cfg.Exchange.MaxRequestAge,
		Random:           deps.Random,
	})
	if err != nil {
		return nil, fmt.Errorf("token exchange: %w", err)
	}
	exchangeHandler := exchangeapi.New(exchangeapi.Options{
		Exchange: exchange.New(exchange.Options{Providers: cfg.IdentityProviders, Directory: dir, ProviderKeys: keys,
			AWS: awsProofs, Sessions: svc, UseOnce: useOnce, Clock: deps.Clock}),
		Challenges: challenges, Service: svc, Auth: auth, Audit: writer, Clock: deps.Clock, Random: deps.Random,
		Logger: deps.Logger, Endpoint: cfg.Exchange.Endpoint, Region: cfg.Region,
	})
	authzHandler := authzapi.New(authzapi.Options{Service: svc, Auth: auth, Audit: writer, Clock: deps.Clock, Random: deps.Random, Logger: deps.Logger})
	samlBase := samlBaseURL(cfg)
	entityID := samlsignin.DefaultEntityID
	if len(cfg.SAML.Audiences) > 0 {
		entityID = cfg.SAML.Audiences[0]
	}
	signIn := samlsignin.New(samlsignin.Options{
		Service: svc, BaseURL: samlBase, Regions: cfg.SAML.Regions, Region: cfg.Region,
		Audit: writer, Clock: deps.Clock, Random: deps.Random, Logger: deps.Logger,
		EntityID: entityID, STSEndpoint: samlBase,
	})
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	// An explicit switch rather than http.ServeMux, which would redirect
	// the "//" path that Vault's AWS auth method sends to STS.
	a.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "ok\n")
		case "/readyz":
			a.ready(w, r)
		case "/metrics":
			metrics.ServeHTTP(w, r)
		case authzapi.Path:
			authzHandler.ServeHTTP(w, r)
		case exchangeapi.PathExchange, exchangeapi.PathToken, exchangeapi.PathChallenge, exchangeapi.PathExplain:
			exchangeHandler.ServeHTTP(w, r)
		default:
			if signIn.Serves(r.URL.Path) {
				signIn.ServeHTTP(w, r)
				return
			}
			stsHandler.ServeHTTP(w, r)
		}
	})
	deps.Logger.Info("keyless ready to serve", "accounts", len(cfg.Identities.Accounts), "users", len(cfg.Identities.Users),
		"roles", len(cfg.Identities.Roles), "access_keys", len(cfg.Identities.AccessKeys), "mfa_devices", len(cfg.Identities.MFADevices),
		"identity_providers", len(cfg.IdentityProviders), "saml_providers", len(cfg.Identities.SAMLProviders))
	return a, nil
}

// samlBaseURL is where browsers reach keyless: saml.base_url, or the
// exchange endpoint (the address keyless listens on).
func samlBaseURL(cfg *config.Config) string {
	if cfg.SAML.BaseURL != "" {
		return cfg.SAML.BaseURL
	}
	return cfg.Exchange.Endpoint
}

// samlExpectations are what every SAML assertion must show to be for
// this server, and logs what the SAML providers' metadata left out.
func samlExpectations(cfg *config.Config, log *slog.Logger) saml.Expectations {
	var recipients []string
	if base := samlBaseURL(cfg); base != "" {
		recipients = cfg.SAML.SignInURLs(base)
	} else {
		recipients = cfg.SAML.ExtraRecipients // no URL of our own is known
	}
	for _, p := range cfg.Identities.SAMLProviders {
		for _, why := range p.SkippedCertificates {
			log.Warn("SAML provider signing certificate ignored", "provider", p.ARN(), "why", why)
		}
	}
	return saml.Expectations{Audiences: cfg.SAML.Audiences, Recipients: recipients,
		Leeway: cfg.SAML.ClockSkew, MaxAge: cfg.SAML.MaxAssertionAge}
}

// Handler is the whole HTTP surface: STS at "/", the authorization API at
// /v1/authorize, the token exchange (exchangeapi.Paths), plus /healthz,
// /readyz and /metrics.
func (a *App) Handler() http.Handler { return a.handler }

func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.deps.Store.Ping(ctx); err != nil {
		http.Error(w, "storage unavailable", http.StatusServiceUnavailable)
		return
	}
	if _, _, err := a.ring.Active(keyring.SessionToken); err != nil {
		http.Error(w, "no active master key", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}

// Limits protect the HTTP server from slow and oversized requests.
type Limits struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// MaxHeaderBytes bounds the request line and headers; a session token
	// is far below it, so a huge one is refused before it is decoded.
	MaxHeaderBytes int
}

// DefaultLimits are the limits keyless serves with.
func DefaultLimits() Limits {
	return Limits{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
}

// HTTPServer returns the server keyless runs, with limits l.
func (a *App) HTTPServer(l Limits) *http.Server {
	return &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.deps.Logger.Handler(), slog.LevelWarn),
	}
}

// Serve serves on ln until ctx is done, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish (up to 20 s), flushes the audit
// writer and closes the store.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := a.HTTPServer(DefaultLimits())
	errc := make(chan error, 1)
	go func() {
		if a.cfg.TLSCertFile != "" {
			errc <- srv.ServeTLS(ln, a.cfg.TLSCertFile, a.cfg.TLSKeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	go a.maintain(ctx)
	a.deps.Logger.Info("listening", "addr", ln.Addr().String(), "tls", a.cfg.TLSCertFile != "")
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		a.deps.Logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	a.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close flushes the audit log and closes the store.
func (a *App) Close() {
	a.audit.Close()
	if err := a.deps.Store.Close(); err != nil {
		a.deps.Logger.Error("closing storage", "err", err)
	}
}

func (a *App) maintain(ctx context.Context) {
	t := time.NewTicker(maintainEvery)
	defer t.Stop()
	rt := time.NewTicker(RevocationDelay)
	defer rt.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.Maintain(ctx); err != nil && ctx.Err() == nil {
				a.deps.Logger.Error("master key maintenance failed", "err", err)
			}
		case <-rt.C:
			if err := a.revoked.refresh(ctx); err != nil && ctx.Err() == nil {
				a.deps.Logger.Error("reloading session revocations failed", "err", err)
			}
		}
	}
}

// Maintain reloads the master keys, rotates the active one when it is due
// and deletes retired keys past their retention. Serve runs it every 30 s.
func (a *App) Maintain(ctx context.Context) error { return a.ring.Maintain(ctx) }

// directory assigns unique ids to the users and roles the configuration
// does not pin (stored, so restarts and other nodes agree), releases the
// ids of those that are gone (so a re-created user or role is a new
// principal), binds trust policies to the ids, and indexes everything.
func directory(ctx context.Context, ids iam.Contents, deps Deps) (*iam.Directory, error) {
	assigned := map[string]string{}
	claim := func(key, prefix string, id *string, name string) error {
		if *id == "" {
			got, err := deps.Store.ClaimID(ctx, key, randomID(deps.Random, prefix, 21))
			if err != nil {
				return fmt.Errorf("unique id for %s: %w", name, err)
			}
			*id = got
		}
		assigned[key] = *id
		return nil
	}
	byARN := map[string]string{} // lower-case ARN → unique id
	for i := range ids.Users {
		u := &ids.Users[i].Principal
		if err := claim(UserIDKey(u.Account, u.Name), "AIDA", &u.UniqueID, u.ARN()); err != nil {
			return nil, err
		}
		byARN[strings.ToLower(u.ARN())] = u.UniqueID
	}
	for i := range ids.Roles {
		r := &ids.Roles[i]
		if err := claim(RoleIDKey(r.Account, r.Name), "AROA", &r.UniqueID, r.ARN()); err != nil {
			return nil, err
		}
		byARN[strings.ToLower(r.ARN())] = r.UniqueID
	}
	for _, prefix := range []string{"user/", "role/"} {
		stored, err := deps.Store.ListIDs(ctx, prefix)
		if err != nil {
			return nil, err
		}
		for key := range stored {
			if _, ok := assigned[key]; !ok {
				if err := deps.Store.ReleaseID(ctx, key); err != nil {
					return nil, err
				}
			}
		}
	}
	// Trust policies name users and roles by unique id, as IAM stores
	// them: sessions of a role that was deleted and re-created carry the
	// old id and are no longer trusted.
	for i := range ids.Roles {
		if r := &ids.Roles[i]; r.Trust != nil {
			r.Trust = r.Trust.BindPrincipals(func(p string) (string, bool) {
				id, ok := byARN[strings.ToLower(p)]
				return id, ok
			})
		}
	}
	fill := func(p *iam.Principal) {
		if p.Type == iam.User {
			p.UniqueID = assigned[UserIDKey(p.Account, p.Name)]
		}
	}
	for i := range ids.AccessKeys {
		fill(&ids.AccessKeys[i].Owner)
	}
	for i := range ids.MFADevices {
		fill(&ids.MFADevices[i].Owner)
	}
	return iam.NewDirectory(ids)
}

// RoleIDKey names a role's unique-id binding in storage; role names are
// unique regardless of case within an account.
func RoleIDKey(account, name string) string { return "role/" + account + "/" + strings.ToLower(name) }

// UserIDKey names a user's unique-id binding in storage. IAM user names
// are unique case-insensitively within an account.
func UserIDKey(account, name string) string { return "user/" + account + "/" + strings.ToLower(name) }

// randomID makes prefix + upper-case base32 characters, n long in all, the
// shape of AWS unique ids (AIDA...).
func randomID(random io.Reader, prefix string, n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(random, b); err != nil {
		panic("app: random source failed: " + err.Error())
	}
	return prefix + base32.StdEncoding.EncodeToString(b)[:n-len(prefix)]
}

// auditMetrics registers the audit writer's group-commit histograms.
func auditMetrics(reg prometheus.Registerer) func(int, time.Duration) {
	size := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "keyless_audit_batch_events",
		Help:    "Audit events stored per group commit.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
	})
	took := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "keyless_audit_commit_seconds",
		Help:    "Time to store one group commit of audit events durably (write and fsync).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .1, 1},
	})
	reg.MustRegister(size, took)
	return func(events int, d time.Duration) {
		size.Observe(float64(events))
		took.Observe(d.Seconds())
	}
}

func allowRegion(regions []string) func(string) bool {
	if len(regions) == 0 {
		return config.IsRegion
	}
	set := map[string]bool{}
	for _, r := range regions {
		set[r] = true
	}
	return func(r string) bool { return set[r] }
}
