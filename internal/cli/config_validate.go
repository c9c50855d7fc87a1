package cli

import (
	"context"
	"fmt"

	"github.com/keyless-dev/keyless/internal/config"
)

func configValidate(_ context.Context, env Env, args []string) int {
	fs := flags(env, "config validate")
	fs.Usage = func() { fmt.Fprintln(env.Stderr, "usage: keyless config validate FILE") }
	if err := fs.Parse(args); err != nil {
		return exitForFlags(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(fs.Arg(0), env.LookupEnv)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		if ps, ok := err.(config.Problems); ok {
			fmt.Fprintf(env.Stderr, "%d problem(s) found\n", len(ps))
		}
		return 1
	}
	ids := cfg.Identities
	fmt.Fprintf(env.Stdout, "%s: OK (%d accounts, %d users, %d roles, %d access keys, %d MFA devices, %d OIDC providers, %d identity providers)\n",
		fs.Arg(0), len(ids.Accounts), len(ids.Users), len(ids.Roles), len(ids.AccessKeys), len(ids.MFADevices), len(ids.OIDCProviders),
		len(cfg.IdentityProviders))
	for _, n := range cfg.Notes {
		fmt.Fprintf(env.Stdout, "note: %s\n", n)
	}
	return 0
}
