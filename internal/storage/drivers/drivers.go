package drivers

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/embedded"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

// Options are what a driver opens a store with.
type Options struct {
	// DataDir is the data directory (server.data_dir).
	DataDir string
	// Offline is set by commands that read or change the state of a
	// deployment (keyless audit, keys, sessions): they must find it, and
	// never create an empty one in the wrong place.
	Offline bool
	// Init starts a new store where the old one was lost (serve --init).
	Init bool
	// AuditSegmentMaxBytes and AuditSegmentMaxAge bound the audit log's
	// open segment (audit.segment_max_mib, audit.segment_max_age); 0: no
	// bound. Only a server, which appends, needs them.
	AuditSegmentMaxBytes int64
	AuditSegmentMaxAge   time.Duration
}

// Driver is a storage backend.
type Driver struct {
	Name    string
	Summary string
	// Persistent drivers keep state across restarts; offline commands
	// refuse the others.
	Persistent bool
	Open       func(ctx context.Context, o Options) (storage.Store, error)
}

// Default is the driver of a configuration that names none.
const Default = "embedded"

// registry lists the drivers; Names keeps its order.
var registry = []Driver{
	{
		Name:       "embedded",
		Summary:    "SQLite tables and an append-only audit file in the data directory; one server",
		Persistent: true,
		Open: func(ctx context.Context, o Options) (storage.Store, error) {
			return embedded.Open(ctx, o.DataDir, embedded.Options{MustExist: o.Offline, Init: o.Init,
				AuditSegmentMaxBytes: o.AuditSegmentMaxBytes, AuditSegmentMaxAge: o.AuditSegmentMaxAge})
		},
	},
	{
		Name:    "memory",
		Summary: "nothing is kept: every restart starts over (tests and demonstrations)",
		Open: func(context.Context, Options) (storage.Store, error) {
			return memory.New(), nil
		},
	},
}

// Names are the drivers' names.
func Names() []string {
	names := make([]string, len(registry))
	for i, d := range registry {
		names[i] = d.Name
	}
	return names
}

// Lookup finds a driver by name.
func Lookup(name string) (Driver, bool) {
	i := slices.IndexFunc(registry, func(d Driver) bool { return d.Name == name })
	if i < 0 {
		return Driver{}, false
	}
	return registry[i], true
}

// Open opens a store with the named driver.
func Open(ctx context.Context, name string, o Options) (storage.Store, error) {
	d, ok := Lookup(name)
	switch {
	case !ok:
		return nil, fmt.Errorf("storage driver %q is not one of %v", name, Names())
	case o.Offline && !d.Persistent:
		return nil, fmt.Errorf("storage driver %q keeps nothing on disk: there is no state for this command to read or change", name)
	}
	return d.Open(ctx, o)
}
