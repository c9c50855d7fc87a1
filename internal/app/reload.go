package app

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/config"
)

// Reloaded is the outcome of a configuration reload.
type Reloaded struct {
	// Digest is the SHA-256 of the configuration file now in force.
	Digest string
	// RestartRequired are the settings the file changed that a running
	// server cannot: their running values stay in force.
	RestartRequired []string
	// Notes are the new file's deprecation notes.
	Notes []string
}

// ErrNoReload is returned by a reload of an app built without a way to
// re-read its configuration.
var ErrNoReload = errors.New("this server cannot reload its configuration")

// reloadEvent is the audit event every reload records.
const reloadEvent = "ReloadConfiguration"

func (a *App) reloadMetrics(reg prometheus.Registerer) {
	a.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keyless_config_reloads_total",
		Help: "Configuration reloads, by result (ok, invalid: the file was refused and the previous configuration stays in force).",
	}, []string{"result"})
	a.reloadedAt = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "keyless_config_last_reload_success_timestamp_seconds",
		Help: "When the configuration in force was loaded (start or reload), in Unix seconds.",
	})
	reg.MustRegister(a.reloads, a.reloadedAt)
	a.reloadedAt.SetToCurrentTime()
}

// Reload re-reads the configuration (SIGHUP, `keyless reload`) and
// records one audit event for it, from trigger.
func (a *App) Reload(ctx context.Context, trigger string) (Reloaded, error) {
	now := a.deps.Clock.Now()
	ev := &audit.Event{
		EventVersion: audit.EventVersion, UserIdentity: audit.UserIdentity{Type: "Unknown"},
		EventTime: now.UTC().Format(time.RFC3339), EventSource: "keyless", EventName: reloadEvent,
		SourceIPAddress: "keyless", UserAgent: trigger, RequestID: audit.UUID(a.deps.Random), EventID: audit.UUID(a.deps.Random),
		EventType: audit.EventType, ManagementEvent: true, EventCategory: audit.Category,
	}
	res, err := a.reload(ctx, ev)
	if aerr := a.audit.Record(ctx, ev, now, false); aerr != nil {
		a.deps.Logger.Error("the reload's audit event was not stored", "err", aerr)
	}
	return res, err
}

// reload re-reads the configuration and, if it is valid, swaps in a new
// generation built from it: requests in flight finish on the old one. An
// invalid file changes nothing. ev is filled in with the outcome.
func (a *App) reload(ctx context.Context, ev *audit.Event) (Reloaded, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ev.RequestParameters = map[string]any{}
	if ev.AWSRegion == "" {
		ev.AWSRegion = a.Config().Region
	}
	fail := func(code string, err error) (Reloaded, error) {
		a.reloads.WithLabelValues("invalid").Inc()
		ev.ErrorCode, ev.ErrorMessage = code, "The configuration was not reloaded; the previous one stays in force."
		a.deps.Logger.Error("configuration not reloaded; the previous one stays in force", "err", err)
		return Reloaded{}, err
	}
	if a.deps.LoadConfig == nil {
		return fail("ReloadUnsupported", ErrNoReload)
	}
	cfg, err := a.deps.LoadConfig()
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			ev.AdditionalEventData = map[string]string{"problems": strconv.Itoa(len(ps))}
			for _, p := range ps {
				a.deps.Logger.Error("configuration problem", "problem", p.String())
			}
		}
		return fail("InvalidConfiguration", err)
	}
	running := a.Config()
	changed := config.Running(running, cfg)
	gen, release, err := a.build(ctx, cfg)
	if err != nil {
		return fail("InvalidConfiguration", err)
	}
	a.cur.Store(gen)
	if err := release(ctx); err != nil {
		a.deps.Logger.Error("releasing the ids of removed users and roles failed; the next reload or restart retries", "err", err)
	}
	a.reloads.WithLabelValues("ok").Inc()
	a.reloadedAt.SetToCurrentTime()
	res := Reloaded{Digest: cfg.Digest, RestartRequired: changed, Notes: cfg.Notes}
	ev.AdditionalEventData = map[string]string{"configSha256": cfg.Digest, "previousConfigSha256": running.Digest}
	if len(changed) > 0 {
		ev.AdditionalEventData["restartRequired"] = strings.Join(changed, ",")
		a.deps.Logger.Warn("these settings changed but need a restart; their running values stay in force", "settings", changed)
	}
	for _, n := range cfg.Notes {
		a.deps.Logger.Warn("configuration note", "note", n)
	}
	a.deps.Logger.Info("configuration reloaded", summary(cfg)...)
	return res, nil
}
