package cli

import (
	"context"
	"fmt"
	"runtime"

	"github.com/keyless-dev/keyless/internal/version"
)

func printVersion(_ context.Context, env Env, _ []string) int {
	fmt.Fprintf(env.Stdout, "keyless %s (commit %s, %s)\n", version.Version, version.Commit(), runtime.Version())
	return 0
}
