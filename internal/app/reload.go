package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// Trigger says what asked for a reload, for its audit event.
type Trigger struct {
	Name      string // SIGHUP, admin
	SourceIP  string // the admin listener's caller
	RequestID string // the admin request's id
}

// ErrNoReload is returned by a reload of an app built without a way to
// re-read its configuration.
var ErrNoReload = errors.New("this server cannot reload its configuration")

// ErrReloadUnaudited is returned when a valid configuration was not put in
// force because its reload could not be audited.
var ErrReloadUnaudited = errors.New("the configuration was not reloaded: its audit event could not be stored")

// reloadEvent is the audit event every reload records.
const reloadEvent = "ReloadConfiguration"

func (a *App) reloadMetrics(reg prometheus.Registerer) {
	a.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keyless_config_reloads_total",
		Help: "Configuration reloads, by result (ok; invalid: the file was refused; unaudited: its event could not be stored). " +
			"Only ok changes the configuration in force.",
	}, []string{"result"})
	a.reloadedAt = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "keyless_config_last_reload_success_timestamp_seconds",
		Help: "When the configuration in force was loaded (start or reload), in Unix seconds.",
	})
	reg.MustRegister(a.reloads, a.reloadedAt)
	a.reloadedAt.SetToCurrentTime()
}

// Reload re-reads the configuration (SIGHUP, `keyless reload`) and, if it
// is valid, swaps in a new generation built from it: requests in flight
// finish on the old one. An invalid file changes nothing. Every reload
// records one audit event; a valid file is put in force only once its
// event is stored. The caller going away does not stop a reload halfway.
func (a *App) Reload(ctx context.Context, t Trigger) (Reloaded, error) {
	ctx = context.WithoutCancel(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.deps.Clock.Now()
	running := a.Config()
	ev := a.ownEvent(reloadEvent, running.Region, t, now)
	ev.RequestParameters = map[string]any{"trigger": t.Name}
	refuse := func(code string, err error) (Reloaded, error) {
		a.reloads.WithLabelValues("invalid").Inc()
		ev.ErrorCode, ev.ErrorMessage = code, "The configuration was not reloaded; the previous one stays in force."
		a.deps.Logger.Error("configuration not reloaded; the previous one stays in force", "err", err)
		if aerr := a.audit.Record(ctx, ev, now, false); aerr != nil {
			a.deps.Logger.Error("the refused reload's audit event was not stored", "err", aerr)
		}
		return Reloaded{}, err
	}
	if a.deps.LoadConfig == nil {
		return refuse("ReloadUnsupported", ErrNoReload)
	}
	cfg, err := a.deps.LoadConfig()
	if err != nil {
		if ps, ok := errors.AsType[config.Problems](err); ok {
			ev.AdditionalEventData = map[string]string{"problems": strconv.Itoa(len(ps))}
			for _, p := range ps {
				a.deps.Logger.Error("configuration problem", "problem", p.String())
			}
		}
		return refuse("InvalidConfiguration", err)
	}
	changed := config.Running(running, cfg)
	// The key-encryption keys are read again every time: a file's
	// content may have changed under the same name.
	set, err := a.deps.KeyEncryption(cfg)
	if err != nil {
		return refuse("InvalidConfiguration", err)
	}
	newKEK := !slices.Equal(set.IDs(), a.ring.KEK().IDs())
	if newKEK {
		if err := a.ring.Opens(ctx, set); err != nil {
			return refuse("InvalidConfiguration", fmt.Errorf("the new key-encryption keys do not open the stored master keys: %w", err))
		}
		if err := a.signing.Opens(ctx, set); err != nil {
			return refuse("InvalidConfiguration", fmt.Errorf("the new key-encryption keys do not open the stored signing keys: %w", err))
		}
		if err := audit.DigestKeyOpens(ctx, a.deps.Store, set); err != nil {
			return refuse("InvalidConfiguration", fmt.Errorf("the new key-encryption keys do not open the stored keys: %w", err))
		}
	}
	gen, release, err := a.build(ctx, cfg)
	if err != nil {
		return refuse("InvalidConfiguration", err)
	}
	ev.AdditionalEventData = map[string]string{"configSha256": cfg.Digest, "previousConfigSha256": running.Digest}
	if newKEK {
		ev.AdditionalEventData["keyEncryptionKey"] = set.Current.ID()
	}
	if len(changed) > 0 {
		ev.AdditionalEventData["restartRequired"] = strings.Join(changed, ",")
	}
	// Recorded before it takes effect: no configuration is in force
	// unrecorded.
	if err := a.audit.Record(ctx, ev, now, false); err != nil {
		a.reloads.WithLabelValues("unaudited").Inc()
		a.deps.Logger.Error("configuration not reloaded: its audit event was not stored; the previous one stays in force", "err", err)
		return Reloaded{}, ErrReloadUnaudited
	}
	a.cur.Store(gen)
	a.releaseIDs(ctx, release)
	if newKEK {
		// Checked above; should storage fail now, the keys stay sealed
		// as they were and the next reload tries again.
		if err := errors.Join(a.ring.UseKEK(ctx, set), a.signing.UseKEK(ctx, set), a.integrations.Reseal(ctx)); err != nil {
			a.deps.Logger.Error("the new key-encryption keys were not put in use for every stored key; those keys stay sealed as they were", "err", err)
		} else {
			a.deps.Logger.Info("key-encryption keys in use", "current", set.Current.ID(), "previous", len(set.Previous))
		}
	}
	a.reloads.WithLabelValues("ok").Inc()
	a.reloadedAt.SetToCurrentTime()
	if len(changed) > 0 {
		a.deps.Logger.Warn("these settings changed but need a restart; their running values stay in force", "settings", changed)
	}
	for _, n := range cfg.Notes {
		a.deps.Logger.Warn("configuration note", "note", n)
	}
	a.logIssuers(gen)
	a.deps.Logger.Info("configuration reloaded", summary(cfg)...)
	return Reloaded{Digest: cfg.Digest, RestartRequired: changed, Notes: cfg.Notes}, nil
}

// ownEvent is the audit event of something keyless does to itself (a
// reload, a start anew), which t asked for.
func (a *App) ownEvent(name, region string, t Trigger, now time.Time) *audit.Event {
	ev := &audit.Event{
		EventVersion: audit.EventVersion, UserIdentity: audit.UserIdentity{Type: "Unknown"},
		EventTime: now.UTC().Format(time.RFC3339), EventSource: "keyless", EventName: name, AWSRegion: region,
		SourceIPAddress: "keyless", UserAgent: t.Name, RequestID: t.RequestID, EventID: audit.UUID(a.deps.Random),
		EventType: audit.EventType, ManagementEvent: true, EventCategory: audit.Category,
	}
	if t.SourceIP != "" {
		ev.SourceIPAddress = t.SourceIP
	}
	if ev.RequestID == "" {
		ev.RequestID = audit.UUID(a.deps.Random)
	}
	return ev
}

// releaseIDs unbinds the ids of users and roles the configuration in
// force removed. Should storage fail, maintenance tries again: a role
// removed and later added back must not get its old id, and with it its
// old sessions, back.
func (a *App) releaseIDs(ctx context.Context, release func(context.Context) error) {
	if err := release(ctx); err != nil {
		a.deps.Logger.Error("releasing the ids of removed users and roles failed; maintenance retries", "err", err)
		a.pendingRelease.Store(&release)
		return
	}
	a.pendingRelease.Store(nil)
}

// retryRelease retries a failed release, if one is pending.
func (a *App) retryRelease(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r := a.pendingRelease.Load(); r != nil {
		a.releaseIDs(ctx, *r)
	}
}
