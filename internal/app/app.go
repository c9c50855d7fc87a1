package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/exchangeapi"
	"github.com/keyless-dev/keyless/internal/identity"
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
	revoked *identity.Revocations
	handler http.Handler
}

// maxSessionLifetime is the longest temporary credential STS issues
// (GetSessionToken, 36 hours); retired keys are kept at least this long.
const maxSessionLifetime = 36 * time.Hour

// maintainEvery is how often keys are reloaded, rotated and pruned.
const maintainEvery = 30 * time.Second

// New wires an App. It takes ownership of deps.Store.
func New(ctx context.Context, cfg *config.Config, deps Deps) (*App, error) {
	deploymentID, err := identity.Deployment(ctx, deps.Store, deps.Random)
	if err != nil {
		return nil, fmt.Errorf("deployment id: %w", err)
	}
	dir, release, err := identity.Build(ctx, cfg.Identities, deps.Store, deps.Random)
	if err != nil {
		return nil, err
	}
	if err := release(ctx); err != nil {
		return nil, fmt.Errorf("releasing the ids of removed users and roles: %w", err)
	}
	ring, err := keyring.Open(ctx, keyring.Options{
		Store: deps.Store, Clock: deps.Clock, Random: deps.Random, Logger: deps.Logger,
		Retain:      maxSessionLifetime + maintainEvery + time.Hour,
		RotateEvery: cfg.KeyRotateEvery,
	})
	if err != nil {
		return nil, err
	}
	revoked, err := identity.NewRevocations(ctx, deps.Store)
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
		Tokens:           credential.NewTokenSealer(ring, deploymentID, deps.Random),
		Messages:         authmsg.NewMessageSealer(ring, deps.Random),
		RevokedBefore:    revoked.Before,
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
	samlBase := samlBaseURL(cfg)
	entityID := samlsignin.DefaultEntityID
	if len(cfg.SAML.Audiences) > 0 {
		entityID = cfg.SAML.Audiences[0]
	}
	e := edge.New(edge.Options{Audit: writer, Clock: deps.Clock, Random: deps.Random, Logger: deps.Logger, Metrics: edge.NewMetrics(reg)})
	router, err := e.Mount(
		a.status(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})),
		stsapi.New(stsapi.Options{Service: svc, Auth: auth, Region: cfg.Region}).Surface(),
		authzapi.New(authzapi.Options{Service: svc, Auth: auth}).Surface(),
		exchangeapi.New(exchangeapi.Options{
			Exchange: exchange.New(exchange.Options{Providers: cfg.IdentityProviders, Directory: dir, ProviderKeys: keys,
				AWS: awsProofs, Sessions: svc, UseOnce: useOnce, Clock: deps.Clock}),
			Challenges: challenges, Service: svc, Auth: auth, Endpoint: cfg.Exchange.Endpoint, Region: cfg.Region,
		}).Surface(),
		samlsignin.New(samlsignin.Options{Service: svc, BaseURL: samlBase, Regions: cfg.SAML.Regions, Region: cfg.Region,
			EntityID: entityID, STSEndpoint: samlBase}).Surface(),
	)
	if err != nil {
		return nil, err
	}
	a.handler = router
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

// status is the surface operators and load balancers watch: liveness,
// readiness and Prometheus metrics, outside the audited pipeline.
func (a *App) status(metrics http.Handler) *edge.Surface {
	return &edge.Surface{Name: "status", Routes: []edge.Route{
		{Pattern: "/healthz", Plain: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "ok\n")
		})},
		{Pattern: "/readyz", Plain: http.HandlerFunc(a.ready)},
		{Pattern: "/metrics", Plain: metrics},
	}}
}

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
	rt := time.NewTicker(identity.RevocationDelay)
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
			if err := a.revoked.Refresh(ctx); err != nil && ctx.Err() == nil {
				a.deps.Logger.Error("reloading session revocations failed", "err", err)
			}
		}
	}
}

// Maintain reloads the master keys, rotates the active one when it is due
// and deletes retired keys past their retention. Serve runs it every 30 s.
func (a *App) Maintain(ctx context.Context) error { return a.ring.Maintain(ctx) }

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
