package app

import (
	"context"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/integration"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/signing"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/stsclient"
)

// integrationEvent is the audit event of an integration's status change.
const integrationEvent = "IntegrationStatusChanged"

// newIntegrations builds the integrations service: keyless's issuer and
// keys for the tokens, the target STS client, storage for states and
// check leases, and an audit event for every status change.
func (a *App) newIntegrations(cfg *config.Config) *integration.Service {
	deps := a.deps
	svc := integration.New(integration.Options{
		Issuer: cfg.IssuerURL(),
		Sign: func(alg string, claims []byte) (string, error) {
			return a.signing.Sign(signing.Algorithm(alg), claims)
		},
		Target: stsclient.New(deps.Clock.Now), States: deps.Store, IDs: deps.Store, Leases: deps.Store,
		Keys: deps.Store, Sealer: kekSealer{set: a.ring.KEK, random: deps.Random},
		Clock: deps.Clock, Random: deps.Random, Logger: deps.Logger,
		CheckEvery: cfg.Integrations.CheckEvery, MissingAfter: cfg.Integrations.MissingAfter, KeyMaxAge: cfg.Integrations.AccessKeyMaxAge,
		Changed: a.integrationChanged,
	})
	a.reg.MustRegister(integrationCollector{svc})
	return svc
}

// kekSealer seals integrations' access keys under the key-encryption
// keys in force.
type kekSealer struct {
	set    func() *kek.Set
	random io.Reader
}

func (k kekSealer) Seal(plain, aad []byte) ([]byte, error) { return k.set().Seal(k.random, plain, aad) }

func (k kekSealer) Open(sealed, aad []byte) ([]byte, error) {
	plain, _, err := k.set().Open(sealed, aad)
	return plain, err
}

func (k kekSealer) Stale(sealed []byte) bool {
	id, _, err := kek.SealedWith(sealed)
	return err != nil || id != k.set().Current.ID()
}

// integrationChanged records a status change in the audit trail and the
// log.
func (a *App) integrationChanged(ctx context.Context, before, after storage.IntegrationState) {
	now := a.deps.Clock.Now()
	ev := a.ownEvent(integrationEvent, a.Config().Region, Trigger{Name: "integration check"}, now)
	ev.RequestParameters = map[string]any{"integration": after.ARN}
	ev.ResponseElements = map[string]any{"status": after.Status, "previousStatus": before.Status}
	ev.AdditionalEventData = map[string]string{"integrationId": after.ID}
	if after.Failure != "" {
		ev.AdditionalEventData["failure"] = after.Failure
		ev.AdditionalEventData["diagnosis"] = after.Diagnosis
	}
	if after.AssumedARN != "" {
		ev.AdditionalEventData["assumedRoleArn"] = after.AssumedARN
	}
	if err := a.audit.Record(ctx, ev, now, false); err != nil {
		a.deps.Logger.Error("integration status change not audited", "integration", after.ARN, "err", err)
	}
	level := a.deps.Logger.Info
	if after.Status != string(integration.Active) && after.Status != string(integration.Configuring) {
		level = a.deps.Logger.Warn
	}
	level("integration status changed", "integration", after.ARN, "status", after.Status, "previous", before.Status,
		"failure", after.Failure, "diagnosis", after.Diagnosis)
}

// sweepIntegrations brings integration states up to date and runs the
// checks due on this node, every few seconds.
func (a *App) sweepIntegrations(ctx context.Context) {
	every := a.Config().Integrations.CheckEvery / 10
	every = max(time.Second, min(every, 10*time.Second))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := a.integrations.Sweep(ctx); err != nil && ctx.Err() == nil {
			a.deps.Logger.Error("integration checks failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// integrationCollector exports integrations' statuses (as of the last
// sweep): how many are in each status, and each one's status as a 0/1
// gauge per status, so that an alert can name the integration.
type integrationCollector struct{ svc *integration.Service }

var (
	integrationsDesc = prometheus.NewDesc("keyless_integrations", "Integrations in each status.", []string{"status"}, nil)
	integrationDesc  = prometheus.NewDesc("keyless_integration_status",
		"1 for an integration's current status, 0 for the others.", []string{"integration", "status"}, nil)
	keyAgeDesc = prometheus.NewDesc("keyless_integration_access_key_age_seconds",
		"Age of the access key of each access_key integration.", []string{"integration"}, nil)
)

func (c integrationCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- integrationsDesc
	ch <- integrationDesc
	ch <- keyAgeDesc
}

func (c integrationCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[integration.Status]int{}
	for _, v := range c.svc.Views() {
		counts[v.Status]++
		for _, st := range integration.Statuses {
			val := 0.0
			if v.Status == st {
				val = 1
			}
			ch <- prometheus.MustNewConstMetric(integrationDesc, prometheus.GaugeValue, val, v.ARN, string(st))
		}
		if v.KeyID != "" {
			ch <- prometheus.MustNewConstMetric(keyAgeDesc, prometheus.GaugeValue, v.KeyAge.Seconds(), v.ARN)
		}
	}
	for _, st := range integration.Statuses {
		ch <- prometheus.MustNewConstMetric(integrationsDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}
