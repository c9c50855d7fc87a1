package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/ops"
	"github.com/keyless-dev/keyless/internal/storage/drivers"
)

// storeFlags are how offline commands find the deployment's state:
// --data-dir, else the data_dir (and storage driver) of --config, else
// the default.
type storeFlags struct {
	dataDir, config *string
	// kek, if set, reads the key-encryption key for commands that seal.
	kek *kekFlags
}

func addStoreFlags(fs *flag.FlagSet) storeFlags {
	return storeFlags{
		dataDir: fs.String("data-dir", "", "the server's data directory (default: the data_dir of --config, else "+config.DefaultDataDir+")"),
		config:  fs.String("config", "", "take the data directory and storage driver from this configuration file"),
	}
}

// locate says which driver and data directory the flags name, and where
// the directory came from, for messages.
func (f storeFlags) locate(env Env) (driver, dir, from string, err error) {
	var l located
	l, err = f.locateConfig(env)
	return l.driver, l.dir, l.from, err
}

// located is where a deployment's state is, and what its configuration
// file says about it.
type located struct {
	driver, dir, from string
	ke                config.KeyEncryption
	issuer            config.IssuerConfig
}

// locateConfig is locate, with the configuration file's key-encryption
// key sources and issuer settings (the defaults without --config).
func (f storeFlags) locateConfig(env Env) (located, error) {
	l := located{driver: drivers.Default, dir: *f.dataDir, from: "--data-dir", issuer: config.DefaultIssuer}
	if *f.config != "" {
		cfg, err := loadConfig(env, *f.config, "--config")
		if err != nil {
			return located{}, err
		}
		l.driver, l.ke, l.issuer = cfg.StorageDriver, cfg.KeyEncryption, cfg.Issuer
		if l.dir == "" {
			l.dir, l.from = cfg.DataDir, "server.data_dir of "+*f.config
		}
	}
	if l.dir == "" {
		l.dir, l.from = config.DefaultDataDir, "the default; give --data-dir or --config"
	}
	return l, nil
}

// withOps parses args into set (which has the store flags sf), opens the
// deployment's store offline (never creating it) and runs fn with the
// operations service on it.
func withOps(ctx context.Context, env Env, name string, set *flag.FlagSet, sf storeFlags, args []string, fn func(*ops.Service) int) int {
	if err := set.Parse(args); err != nil {
		return exitForFlags(err)
	}
	if set.NArg() > 0 {
		return usageError(env, name, "unexpected argument %q", set.Arg(0))
	}
	l, err := sf.locateConfig(env)
	if err != nil {
		return failAs(env, name, "%v", err)
	}
	store, err := drivers.Open(ctx, l.driver, drivers.Options{DataDir: l.dir, Offline: true})
	if errors.Is(err, fs.ErrNotExist) {
		return failAs(env, name, "no keyless data directory at %s (%s): %v", l.dir, l.from, err)
	}
	if err != nil {
		return failAs(env, name, "opening the %s store in %s: %v", l.driver, l.dir, err)
	}
	defer store.Close()
	// The key-encryption key is read once the store is found, so that a
	// missing data directory is what is reported first.
	o := ops.Options{Store: store, Clock: clock.System{}, Random: rand.Reader, Logger: slog.New(slog.DiscardHandler),
		SigningPublish: l.issuer.KeyLead(), SigningRetain: config.MaxTokenLifetime + l.issuer.KeyLead()}
	if sf.kek != nil {
		log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		if o.KEK, err = sf.kek.resolve(env, l.ke, l.dir, log); err != nil {
			return failAs(env, name, "%v", err)
		}
	}
	return fn(ops.New(o))
}

// loadConfig loads a configuration file; a missing one is named with the
// flag that chose it and the quickstart's example.
func loadConfig(env Env, path, flagName string) (*config.Config, error) {
	cfg, err := config.Load(path, env.LookupEnv)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no configuration file %s (%s); examples/quickstart.yaml is a complete one to start from", path, flagName)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}
