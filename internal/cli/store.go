package cli

import (
	"context"
	"flag"

	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/embedded"
)

// storeFlags are how offline commands find the data directory: --data-dir,
// else the data_dir of --config, else the default.
type storeFlags struct {
	dataDir, config *string
}

func addStoreFlags(fs *flag.FlagSet) storeFlags {
	return storeFlags{
		dataDir: fs.String("data-dir", "", "directory of the embedded database (default "+config.DefaultDataDir+")"),
		config:  fs.String("config", "", "take the data directory from this configuration file"),
	}
}

func (f storeFlags) open(ctx context.Context, env Env) (storage.Store, error) {
	dir := *f.dataDir
	if dir == "" && *f.config != "" {
		cfg, err := config.Load(*f.config, env.LookupEnv)
		if err != nil {
			return nil, err
		}
		dir = cfg.DataDir
	}
	if dir == "" {
		dir = config.DefaultDataDir
	}
	return embedded.Open(ctx, dir, embedded.Options{})
}

// withStore parses args into fs (which has the store flags sf), opens the
// store and runs fn with it.
func withStore(ctx context.Context, env Env, fs *flag.FlagSet, sf storeFlags, args []string, fn func(storage.Store) int) int {
	if err := fs.Parse(args); err != nil {
		return exitForFlags(err)
	}
	store, err := sf.open(ctx, env)
	if err != nil {
		return fail(env, "%v", err)
	}
	defer store.Close()
	return fn(store)
}
