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
	sf, kf := addStoreFlags(fs), addKEKFlags(fs)
	sf.kek = &kf
	signingKeys := fs.Bool("signing", false, "rotate the OIDC issuer's signing keys (each algorithm's published next key starts signing) instead of the master key")
	return withOps(ctx, env, name, fs, sf, args, func(o *ops.Service) int {
		if *signingKeys {
			// How long a next key must have been published depends on the
			// relying parties' cache period, issuer.jwks_max_age: never
			// guessed.
			if *sf.config == "" {
				return usageError(env, name, "--signing needs --config: the file's issuer.jwks_max_age says how long a key must be published before it signs")
			}
			return rotateSigning(ctx, env, name, o)
		}
		k, err := o.RotateKey(ctx)
		if err != nil {
			return failAs(env, name, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "master key %d is now active; running servers pick it up within 30 seconds.\n"+
			"Tokens sealed under earlier keys keep working until they expire.\n", k.ID)
		return 0
	})
}

// rotateSigning rotates the signing keys of every algorithm.
func rotateSigning(ctx context.Context, env Env, name string, o *ops.Service) int {
	done, err := o.RotateSigningKeys(ctx)
	for _, r := range done {
		fmt.Fprintf(env.Stdout, "%s: key %s now signs (running servers switch within 30 seconds); %s retired, still published until its tokens expire; %s published to sign next.\n",
			r.Algorithm, r.Active, r.Retired, r.Next)
	}
	if err != nil {
		return failAs(env, name, "%v", err)
	}
	return 0
}

func keysList(ctx context.Context, env Env, args []string) int {
	const name = "keys list"
	fs := flags(env, name)
	signingKeys := fs.Bool("signing", false, "list the OIDC issuer's signing keys instead of the master keys")
	return withOps(ctx, env, name, fs, addStoreFlags(fs), args, func(o *ops.Service) int {
		if *signingKeys {
			return listSigning(ctx, env, name, o)
		}
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

// listSigning prints the signing keys, public facts only.
func listSigning(ctx context.Context, env Env, name string, o *ops.Service) int {
	keys, err := o.SigningKeys(ctx)
	if err != nil {
		return failAs(env, name, "%v", err)
	}
	when := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tPUBLISHED\tSIGNS FROM\tRETIRED\tUNPUBLISHED AFTER")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.State, when(k.CreatedAt), when(k.ActivatedAt),
			when(k.RetiredAt), when(k.Until))
	}
	tw.Flush()
	return 0
}

func keysSeal(ctx context.Context, env Env, args []string) int {
	const name = "keys seal"
	fs := flags(env, name)
	sf, kf := addStoreFlags(fs), addKEKFlags(fs)
	sf.kek = &kf
	return withOps(ctx, env, name, fs, sf, args, func(o *ops.Service) int {
		n, err := o.SealKeys(ctx)
		if err != nil {
			return failAs(env, name, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "sealed %d master key(s) stored in the clear.\n", n)
		return 0
	})
}

func keysEncryptionKey(_ context.Context, env Env, args []string) int {
	const name = "keys encryption-key"
	fs := flags(env, name)
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: keyless keys encryption-key FILE\n\n"+
			"Writes a new random key-encryption key to FILE (which must not exist), readable by its owner only.\n"+
			"Keep FILE outside the data directory and name it in keys.encryption_key_file.")
	}
	if err := fs.Parse(args); err != nil {
		return exitForFlags(err)
	}
	if fs.NArg() != 1 {
		return usageError(env, name, "give the file to write")
	}
	path := fs.Arg(0)
	if err := writeNewKEK(path); err != nil {
		return failAs(env, name, "%v", err)
	}
	w, err := readKEK(env, path, "", "")
	if err != nil {
		return failAs(env, name, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "wrote key-encryption key %s to %s.\n"+
		"Name it in keys.encryption_key_file, keep it outside the data directory, and back it up apart from it:\n"+
		"without it the master keys, and every session they seal, cannot be opened.\n", w.ID(), path)
	return 0
}
