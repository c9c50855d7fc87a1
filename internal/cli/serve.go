package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/keyless-dev/keyless/internal/app"
	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/drivers"
)

func serve(ctx context.Context, env Env, args []string) int {
	const name = "serve"
	fs := flags(env, name)
	cfgPath := fs.String("config", defaultConfigPath(env), "configuration file ($KEYLESS_CONFIG)")
	addr := fs.String("addr", "", "listen address host:port (default: the file's server.addr, else "+config.DefaultAddr+")")
	dataDir := fs.String("data-dir", "", "data directory (default: the file's server.data_dir, else "+config.DefaultDataDir+")")
	kf := addKEKFlags(fs)
	initStore := fs.Bool("init", false, "start a new store even though the data directory holds an audit trail without its database, "+
		"or go on with a keyless.db older than its trail (after losing it and having no backup); recorded as an InitializeStore "+
		"audit event, and refused where nothing was lost")
	if err := fs.Parse(args); err != nil {
		return exitForFlags(err)
	}
	// SIGHUP's default action ends the process: take it over before the
	// pid file names this process, so that `keyless reload` during start
	// or shutdown reloads (or does nothing) instead.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Ignore(syscall.SIGHUP)
	flagName := "--config"
	if !flagSet(fs, "config") {
		flagName = "the default; give one with --config FILE or $KEYLESS_CONFIG"
	}
	// The flags apply to every load, so that a reload sees what the
	// server runs with.
	load := func() (*config.Config, error) {
		cfg, err := loadConfig(env, *cfgPath, flagName)
		if err != nil {
			return nil, err
		}
		if *addr != "" {
			cfg.Addr = *addr
		}
		if *dataDir != "" {
			cfg.DataDir = *dataDir
		}
		return cfg, nil
	}
	cfg, err := load()
	if err != nil {
		return failAs(env, name, "%v", err)
	}
	log := slog.New(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	for _, n := range cfg.Notes {
		log.Warn("configuration note", "note", n)
	}
	if cfg.StorageDriver == "memory" {
		log.Warn("storage.driver is memory: master keys, revocations and the audit trail live in this process only and are lost when it stops; not for production")
	}
	if _, set := env.LookupEnv("GOGC"); !set {
		// The live heap is a few MiB while every request allocates ~10 KiB,
		// so at Go's default (100) the collector runs dozens of times a
		// second; 400 cut CPU per GetSessionToken by about a quarter under
		// load (docs/benchmarks.md). $GOGC overrides it.
		debug.SetGCPercent(defaultGCPercent)
	}

	// The key-encryption key is read at start and at every reload. A
	// memory store keeps nothing at rest: without a configured key, one
	// random key serves for the life of the process.
	var ephemeral *kek.Set
	keyEncryption := func(c *config.Config) (*kek.Set, error) {
		if c.StorageDriver == "memory" && !c.KeyEncryption.Set() && *kf.file == "" {
			return ephemeral, nil
		}
		return kf.resolve(env, c.KeyEncryption, c.DataDir, log)
	}
	if cfg.StorageDriver == "memory" {
		if ephemeral, err = kek.Ephemeral(rand.Reader); err != nil {
			return failAs(env, name, "%v", err)
		}
	}
	// Read before anything is opened, so that a missing key is the first
	// thing said; app.New takes this reading, reloads read again.
	first, err := keyEncryption(cfg)
	if err != nil {
		return failAs(env, name, "%v", err)
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	driver, _ := drivers.Lookup(cfg.StorageDriver)
	if driver.Persistent {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return failAs(env, name, "data directory %s: %v", cfg.DataDir, err)
		}
		pid, err := lockPIDFile(cfg.DataDir)
		if err != nil {
			return failAs(env, name, "%v", err)
		}
		defer pid.release()
	}
	store, err := drivers.Open(ctx, cfg.StorageDriver, drivers.Options{DataDir: cfg.DataDir, Init: *initStore,
		AuditSegmentMaxBytes: cfg.Audit.SegmentMaxBytes, AuditSegmentMaxAge: cfg.Audit.SegmentMaxAge})
	if err != nil {
		return failAs(env, name, "opening the %s store in %s: %v", cfg.StorageDriver, cfg.DataDir, err)
	}
	// The audit trail is locked and its head read now, and compared with
	// the checkpoint kept outside it: a server does not start on a trail
	// that lost or changed what it recorded.
	if st, ok := store.(storage.Starter); ok {
		if err := st.Start(ctx); err != nil {
			store.Close()
			return failAs(env, name, "%v", err)
		}
	}
	// What --init starts anew despite; it is refused where nothing was
	// lost, so that it cannot become a habit that hides a real loss.
	var initReason string
	if r, ok := store.(reinitialized); ok && *initStore {
		if lost := r.Reinitialized(); lost != nil {
			initReason = lost.Error()
		}
	}
	if trail, ok := store.(audit.Trail); ok {
		err := audit.CheckTrail(ctx, trail)
		if errors.Is(err, audit.ErrStaleStore) && *initStore {
			initReason, err = err.Error(), nil
		}
		if errors.Is(err, audit.ErrStaleStore) {
			store.Close()
			return failAs(env, name, "%v.\nRestore keyless.db from the backup that goes with the audit trail; or start once with --init "+
				"to go on with it as it is", err)
		}
		if err != nil {
			store.Close()
			return failAs(env, name, "%v.\nRestore the audit trail from the backup that goes with keyless.db; "+
				"`keyless audit verify --data-dir %s` names what is missing or altered. keyless does not start on it", err, cfg.DataDir)
		}
	}
	if *initStore {
		if initReason == "" {
			store.Close()
			return failAs(env, name, "--init: nothing was lost in %s (keyless.db and its audit trail agree), so there is nothing to start anew; "+
				"start without --init", cfg.DataDir)
		}
		log.Warn("--init: starting anew although the data directory's state was lost or is older than its audit trail; "+
			"recorded as an InitializeStore audit event. Remove --init once started", "reason", initReason)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		store.Close()
		return failAs(env, name, "listen on %s: %v", cfg.Addr, err)
	}
	// The address actually bound (--addr 127.0.0.1:0 picks a port).
	if err := cfg.ResolvePublicURL(ln.Addr().String()); err != nil {
		ln.Close()
		store.Close()
		return failAs(env, name, "server.public_url %v", err)
	}
	var admin net.Listener
	if cfg.AdminAddr != "" {
		if admin, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			ln.Close()
			store.Close()
			return failAs(env, name, "admin listener on %s: %v", cfg.AdminAddr, err)
		}
	}
	a, err := app.New(ctx, cfg, app.Deps{Store: store, Clock: clock.System{}, Random: rand.Reader, Logger: log,
		KeyEncryption: func(c *config.Config) (*kek.Set, error) {
			if first != nil {
				set := first
				first = nil
				return set, nil
			}
			return keyEncryption(c)
		},
		Init: initReason,
		LoadConfig: func() (*config.Config, error) {
			next, err := load()
			if err == nil && !next.PublicURLSet() {
				_ = next.ResolvePublicURL(ln.Addr().String())
			}
			return next, err
		}})
	if err != nil {
		ln.Close()
		if admin != nil {
			admin.Close()
		}
		store.Close()
		return failAs(env, name, "%v", err)
	}
	go reloadOnHangup(ctx, a, log, hup)
	if err := a.Serve(ctx, ln, admin); err != nil {
		return failAs(env, name, "%v", err)
	}
	return 0
}

// reinitialized is a store that says what serve --init started anew
// despite (the embedded store's lost keyless.db).
type reinitialized interface{ Reinitialized() error }

// reloadOnHangup reloads the configuration on every SIGHUP until ctx is
// done (one received while starting is served once started); after that,
// while the server drains, SIGHUP is ignored.
func reloadOnHangup(ctx context.Context, a *app.App, log *slog.Logger, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			signal.Ignore(syscall.SIGHUP)
			return
		case <-hup:
			log.Info("SIGHUP: reloading the configuration")
			_, _ = a.Reload(ctx, app.Trigger{Name: "SIGHUP"})
		}
	}
}

// flagSet reports whether the flag was given.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// defaultGCPercent is the collector's target unless $GOGC is set.
const defaultGCPercent = 400

func exitForFlags(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
