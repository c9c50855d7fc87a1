package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/storage"
)

func openRing(ctx context.Context, store storage.Store) (*keyring.Ring, error) {
	return keyring.Open(ctx, keyring.Options{Store: store, Clock: clock.System{}, Random: rand.Reader,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func keysRotate(ctx context.Context, env Env, args []string) int {
	fs := flags(env, "keys rotate")
	return withStore(ctx, env, fs, addStoreFlags(fs), args, func(store storage.Store) int {
		ring, err := openRing(ctx, store)
		if err != nil {
			return fail(env, "%v", err)
		}
		k, err := ring.Rotate(ctx)
		if err != nil {
			return fail(env, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "master key %d is now active; running servers pick it up within 30 seconds.\n"+
			"Tokens sealed under earlier keys keep working until they expire.\n", k.ID)
		return 0
	})
}

func keysList(ctx context.Context, env Env, args []string) int {
	fs := flags(env, "keys list")
	return withStore(ctx, env, fs, addStoreFlags(fs), args, func(store storage.Store) int {
		keys, err := store.ListMasterKeys(ctx)
		if err != nil {
			return fail(env, "%v", err)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tCREATED\tRETIRED")
		for _, k := range keys {
			state, retired := "active", "-"
			if !k.Active() {
				state, retired = "retired", k.RetiredAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", k.ID, state, k.CreatedAt.Format(time.RFC3339), retired)
		}
		tw.Flush()
		return 0
	})
}
