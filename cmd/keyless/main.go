package main

import (
	"context"
	"os"

	"github.com/keyless-dev/keyless/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), cli.OSEnv(), os.Args[1:]))
}
