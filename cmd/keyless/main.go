// Command keyless is a self-hosted, AWS STS-compatible security token
// service. Run "keyless" for the list of commands.
package main

import (
	"context"
	"os"

	"github.com/keyless-dev/keyless/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), cli.OSEnv(), os.Args[1:]))
}
