package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

// A start with --init (Deps.Init) is recorded, with what was lost, before
// anything is served; a start whose record cannot be stored does not
// serve at all.
func TestInitIsAudited(t *testing.T) {
	cfg, err := config.Parse("keyless.yaml", []byte(reloadBase), ".", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	const reason = "keyless.db is missing or empty"
	deps := func(s storage.Store) Deps {
		return Deps{KeyEncryption: testKEK(t), Store: s, Clock: clock.System{}, Random: rand.Reader,
			Logger: slog.New(slog.DiscardHandler), Init: reason}
	}

	store := memory.New()
	a, err := New(context.Background(), cfg, deps(store))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var events []audit.Event
	if err := store.QueryAudit(context.Background(), storage.AuditFilter{EventName: initEvent}, func(r storage.AuditRecord) error {
		var ev audit.Event
		if err := json.Unmarshal(r.JSON, &ev); err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("%d %s events, want 1", len(events), initEvent)
	}
	if ev := events[0]; ev.AdditionalEventData["reason"] != reason || ev.AdditionalEventData["deployment"] == "" || ev.UserAgent != "serve --init" {
		t.Errorf("event: %+v", ev)
	}

	down := &failingAudit{Store: memory.New(), fail: true}
	if a, err := New(context.Background(), cfg, deps(down)); err == nil {
		a.Close()
		t.Fatal("a start with --init whose audit event was not stored went on")
	}
}
