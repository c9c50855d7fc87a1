package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"log/slog"
	"net"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/keyless-dev/keyless/internal/app"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/storage/embedded"
)

func serve(ctx context.Context, env Env, args []string) int {
	fs := flags(env, "serve")
	cfgPath := fs.String("config", defaultConfigPath(env), "configuration file ($KEYLESS_CONFIG)")
	addr := fs.String("addr", "", "listen address host:port (default: the file's server.addr, else "+config.DefaultAddr+")")
	dataDir := fs.String("data-dir", "", "directory of the embedded database (default: the file's server.data_dir, else "+config.DefaultDataDir+")")
	if err := fs.Parse(args); err != nil {
		return exitForFlags(err)
	}
	cfg, err := config.Load(*cfgPath, env.LookupEnv)
	if err != nil {
		return fail(env, "invalid configuration:\n%v", err)
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	log := slog.New(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if _, set := env.LookupEnv("GOGC"); !set {
		// The live heap is a few MiB while every request allocates ~10 KiB,
		// so at Go's default (100) the collector runs dozens of times a
		// second; 400 cut CPU per GetSessionToken by about a quarter under
		// load (docs/benchmarks.md). $GOGC overrides it.
		debug.SetGCPercent(defaultGCPercent)
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	store, err := embedded.Open(ctx, cfg.DataDir, embedded.Options{})
	if err != nil {
		return fail(env, "open data directory %s: %v", cfg.DataDir, err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		store.Close()
		return fail(env, "listen on %s: %v", cfg.Addr, err)
	}
	if cfg.Exchange.Endpoint == "" {
		// The address actually bound (--addr 127.0.0.1:0 picks a port).
		scheme := "http://"
		if cfg.TLSCertFile != "" {
			scheme = "https://"
		}
		cfg.Exchange.Endpoint = scheme + ln.Addr().String()
	}
	a, err := app.New(ctx, cfg, app.Deps{Store: store, Clock: clock.System{}, Random: rand.Reader, Logger: log})
	if err != nil {
		ln.Close()
		store.Close()
		return fail(env, "%v", err)
	}
	if err := a.Serve(ctx, ln); err != nil {
		return fail(env, "serve: %v", err)
	}
	return 0
}

// defaultGCPercent is the collector's target unless $GOGC is set.
const defaultGCPercent = 400

func exitForFlags(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
