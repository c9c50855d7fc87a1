package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/keyless-dev/keyless/internal/outbound"
	"github.com/keyless-dev/keyless/internal/password"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/identity"
	"github.com/keyless-dev/keyless/internal/integration"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/saml"
	"github.com/keyless-dev/keyless/internal/samlxml"
	"github.com/keyless-dev/keyless/internal/signing"
	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Deps are the process-level dependencies the app does not build itself.
type Deps struct {
	Store  storage.Store
	Clock  clock.Clock
	Random io.Reader
	Logger *slog.Logger
	// LoadConfig re-reads the configuration for a reload; nil: the app
	// cannot reload.
	LoadConfig func() (*config.Config, error)
	// KeyEncryption reads the key-encryption keys a configuration names
	// (at start and at every reload). Required.
	KeyEncryption func(*config.Config) (*kek.Set, error)
	// Init, when set, is why this start goes on with a store that was
	// lost or is older than its audit trail (serve --init): it is
	// recorded as an InitializeStore event before anything is served.
	Init string
}

// App is a wired keyless server. What the configuration describes
// (identities, providers, the services and surfaces built on them) is one
// immutable generation, swapped whole by a reload; what outlives a
// configuration (storage, master keys, the audit writer, revocations,
// caches, metrics) is built once.
type App struct {
	deps       Deps
	deployment string
	ring       *keyring.Ring
	signing    *signing.Keys
	// integrations outlive a configuration: their cache and checks.
	integrations *integration.Service
	audit        *audit.Writer
	revoked      *identity.Revocations
	reg          *prometheus.Registry
	edge         *edge.Edge
	metrics      http.Handler
	verifier     *sigv4.Verifier
	saml         saml.Verifier
	keySets      *keySets
	// passwords bounds the console passwords verified at once, across
	// reloads.
	passwords *password.Checker
	// signInClient reaches the OpenID Connect providers of the sign-in
	// pages (operator-configured; loopback and private addresses allowed,
	// as the operator runs them).
	signInClient *http.Client
	reloads      *prometheus.CounterVec
	reloadedAt   prometheus.Gauge

	mu  sync.Mutex // one reload at a time
	cur atomic.Pointer[generation]
	// health is the last check of what issuing needs (health.go).
	health atomic.Pointer[health]
	// slowChecks counts the checks in a row whose storage write timed
	// out, checks counts every check, lastPing is the last write probe's
	// outcome; only the checking goroutine touches them.
	slowChecks int
	checks     int
	lastPing   error
	// pendingRelease is a release of removed users' and roles' ids that
	// failed; maintenance retries it.
	pendingRelease atomic.Pointer[func(context.Context) error]
}

// generation is everything built from one configuration.
type generation struct {
	cfg    *config.Config
	router *edge.Router
	// issuers are the account issuers, by account.
	issuers map[string]accountIssuer
}

// logIssuers says where relying parties find the issuers.
func (a *App) logIssuers(g *generation) {
	a.deps.Logger.Info("OIDC issuer", "issuer", g.cfg.IssuerURL())
	for _, acct := range g.cfg.Identities.Accounts {
		if iss, ok := g.issuers[acct.ID]; ok {
			a.deps.Logger.Info("account OIDC issuer (GetWebIdentityToken)", "account", acct.ID, "issuer", iss.url)
		}
	}
}

// maxSessionLifetime is the longest temporary credential STS issues
// (GetSessionToken, 36 hours); retired keys are kept at least this long.
const maxSessionLifetime = 36 * time.Hour

// maintainEvery is how often keys are reloaded, rotated and pruned.
const maintainEvery = 30 * time.Second

// New wires an App. It takes ownership of deps.Store.
func New(ctx context.Context, cfg *config.Config, deps Deps) (*App, error) {
	if deps.KeyEncryption == nil {
		return nil, errors.New("no key-encryption key source")
	}
	set, err := deps.KeyEncryption(cfg)
	if err != nil {
		return nil, err
	}
	deployment, err := identity.Deployment(ctx, deps.Store, deps.Random)
	if err != nil {
		return nil, fmt.Errorf("deployment id: %w", err)
	}
	ring, err := keyring.Open(ctx, keyring.Options{
		Store: deps.Store, KEK: set, Clock: deps.Clock, Random: deps.Random, Logger: deps.Logger,
		Retain:      maxSessionLifetime + maintainEvery + time.Hour,
		RotateEvery: cfg.KeyRotateEvery,
	})
	if err != nil {
		return nil, fmt.Errorf("master keys: %w", err)
	}
	signer, err := signing.Open(ctx, signingOptions(cfg, deps, set))
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	revoked, err := identity.NewRevocations(ctx, deps.Store)
	if err != nil {
		return nil, fmt.Errorf("session revocations: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	digestKey, err := audit.OpenDigestKey(ctx, deps.Store, set, deps.Random)
	if err != nil {
		return nil, err
	}
	writer := audit.NewWriter(audit.WriterOptions{
		Trail: deps.Store, Logger: deps.Logger, Observe: auditMetrics(reg), Clock: deps.Clock, Random: deps.Random,
		Key: digestKey, KEK: ring.KEK, DigestEvery: cfg.Audit.DigestInterval,
		RetainFor: cfg.Audit.RetainFor, RetainMaxBytes: cfg.Audit.RetainMaxBytes,
	})
	a := &App{
		deps: deps, deployment: deployment, ring: ring, signing: signer, audit: writer, revoked: revoked, reg: reg,
		metrics:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		verifier: sigv4.NewVerifier(10000),
		saml:     samlxml.New(samlxml.Options{}),
		keySets:  newKeySets(deps, reg),
		// A sign-in waits at most 2 s for a slot, then is told to retry.
		passwords: password.NewChecker(cfg.SignIn.PasswordConcurrency, 2*time.Second),
	}
	signInClient, err := outbound.New(outbound.Options{Timeout: 10 * time.Second, AllowLoopback: true, AllowPrivate: true, KeepAlive: true})
	if err != nil {
		return nil, err
	}
	a.signInClient = signInClient.HTTPClient()
	a.integrations = a.newIntegrations(cfg)
	a.edge = edge.New(edge.Options{Audit: writer, Clock: deps.Clock, Random: deps.Random, Logger: deps.Logger,
		Metrics: edge.NewMetrics(reg), Gate: a.gate,
		Limits: &edge.Limits{PerSecond: cfg.Refused.PerSecond, Burst: cfg.Refused.Burst, ReportEvery: cfg.Refused.ReportEvery}})
	a.reloadMetrics(reg)
	gen, release, err := a.build(ctx, cfg)
	if err != nil {
		writer.Close()
		return nil, err
	}
	if err := release(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("releasing the ids of removed users and roles: %w", err)
	}
	a.cur.Store(gen)
	if deps.Init != "" {
		// Nothing is served from a store started anew unrecorded.
		now := deps.Clock.Now()
		ev := a.ownEvent(initEvent, cfg.Region, Trigger{Name: "serve --init"}, now)
		ev.RequestParameters = map[string]any{"init": true}
		ev.AdditionalEventData = map[string]string{"reason": deps.Init, "deployment": deployment}
		if err := writer.Record(ctx, ev, now, false); err != nil {
			writer.Close()
			return nil, fmt.Errorf("recording the start with --init: %w", err)
		}
	}
	a.healthOnce(ctx)
	a.logIssuers(gen)
	deps.Logger.Info("keyless ready to serve", summary(cfg)...)
	return a, nil
}

// initEvent is the audit event of a start with --init.
const initEvent = "InitializeStore"

// summary is what a configuration declares, for the log.
func summary(cfg *config.Config) []any {
	return []any{"accounts", len(cfg.Identities.Accounts), "users", len(cfg.Identities.Users),
		"roles", len(cfg.Identities.Roles), "access_keys", len(cfg.Identities.AccessKeys), "mfa_devices", len(cfg.Identities.MFADevices),
		"identity_providers", len(cfg.IdentityProviders), "saml_providers", len(cfg.Identities.SAMLProviders),
		"public_url", cfg.PublicURL, "config_sha256", cfg.Digest}
}

// ServeHTTP serves a request with the configuration in force when it
// arrived: a reload does not change a request already being handled.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.cur.Load().router.ServeHTTP(w, r) }

// Handler is the whole HTTP surface (the route table of routes.go).
func (a *App) Handler() http.Handler { return a }

// Config is the configuration in force.
func (a *App) Config() *config.Config { return a.cur.Load().cfg }

// ready answers /readyz from the last health check (at most healthEvery
// old): 200 when keyless can issue and account for what it issues,
// otherwise 503 and the problems, one per line.
func (a *App) ready(w http.ResponseWriter, _ *http.Request) {
	if h := a.health.Load(); h != nil && len(h.problems) > 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "not ready:\n"+strings.Join(h.problems, "\n")+"\n")
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
	return a.server(a, l)
}

func (a *App) server(h http.Handler, l Limits) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.deps.Logger.Handler(), slog.LevelWarn),
	}
}

// Serve serves on ln (and the admin listener on admin, if not nil) until
// ctx is done, then shuts down gracefully: it stops accepting, lets
// in-flight requests finish (up to 20 s), flushes the audit writer and
// closes the store.
func (a *App) Serve(ctx context.Context, ln, admin net.Listener) error {
	cfg := a.Config()
	srv := a.HTTPServer(DefaultLimits())
	errc := make(chan error, 2)
	go func() {
		if cfg.TLSCertFile != "" {
			errc <- srv.ServeTLS(ln, cfg.TLSCertFile, cfg.TLSKeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	var adminSrv *http.Server
	if admin != nil {
		h, err := a.adminHandler(admin.Addr().String())
		if err != nil {
			return err
		}
		adminSrv = a.server(h, DefaultLimits())
		adminSrv.WriteTimeout = (maxProfileSeconds + 30) * time.Second // a CPU profile takes as long as it is asked to
		go func() { errc <- adminSrv.Serve(admin) }()
		a.deps.Logger.Info("admin listener", "addr", admin.Addr().String())
	}
	go a.maintain(ctx)
	go a.sweepIntegrations(ctx)
	go a.watchHealth(ctx)
	flushed := make(chan struct{})
	go func() { // the aggregated events of throttled requests
		defer close(flushed)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.edge.Flush(ctx, false)
			}
		}
	}()
	a.deps.Logger.Info("listening", "addr", ln.Addr().String(), "tls", cfg.TLSCertFile != "", "public_url", cfg.PublicURL)
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		a.deps.Logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if adminSrv != nil {
			_ = adminSrv.Shutdown(sctx)
		}
		err = srv.Shutdown(sctx)
		cancel()
	}
	<-flushed
	a.edge.Flush(context.Background(), true) // the throttled requests not yet reported
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
	rt := time.NewTicker(identity.RevocationDelay)
	defer rt.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.Maintain(ctx); err != nil && ctx.Err() == nil {
				a.deps.Logger.Error("key maintenance failed", "err", err)
			}
			a.retryRelease(ctx)
		case <-rt.C:
			if err := a.revoked.Refresh(ctx); err != nil && ctx.Err() == nil {
				a.deps.Logger.Error("reloading session revocations failed", "err", err)
			}
		}
	}
}

// Maintain reloads the master keys and the signing keys, rotates them
// when they are due and deletes retired keys past their retention. Serve
// runs it every 30 s.
func (a *App) Maintain(ctx context.Context) error {
	return errors.Join(a.ring.Maintain(ctx), a.signing.Maintain(ctx))
}

// signingOptions configure the issuer's signing keys: a next key is
// published for the relying parties' cache period plus the time every
// node takes to load it before it signs, and a retired one stays as long
// after the last token it signed expired.
func signingOptions(cfg *config.Config, deps Deps, set *kek.Set) signing.Options {
	lead := cfg.Issuer.KeyLead()
	return signing.Options{Store: deps.Store, KEK: set, Clock: deps.Clock, Random: deps.Random, Logger: deps.Logger,
		Publish: lead, Retain: config.MaxTokenLifetime + lead, RotateEvery: cfg.Issuer.RotateEvery}
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
