package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/keyless-dev/keyless/internal/ops"
)

func keysRotate(ctx context.Context, env Env, args []string) int {
	const name = "keys rotate"
	fs := flags(env, name)
	return withOps(ctx, env, name, fs, addStoreFlags(fs), args, func(o *ops.Service) int {
		k, err := o.RotateKey(ctx)
		if err != nil {
			return failAs(env, name, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "master key %d is now active; running servers pick it up within 30 seconds.\n"+
			"Tokens sealed under earlier keys keep working until they expire.\n", k.ID)
		return 0
	})
}

func keysList(ctx context.Context, env Env, args []string) int {
	const name = "keys list"
	fs := flags(env, name)
	return withOps(ctx, env, name, fs, addStoreFlags(fs), args, func(o *ops.Service) int {
		keys, err := o.Keys(ctx)
		if err != nil {
			return failAs(env, name, "%v", err)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tCREATED\tRETIRED")
		for _, k := range keys {
			state, retired := "active", "-"
			if !k.Active {
				state, retired = "retired", k.RetiredAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", k.ID, state, k.CreatedAt.Format(time.RFC3339), retired)
		}
		tw.Flush()
		return 0
	})
}
