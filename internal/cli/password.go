package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/keyless-dev/keyless/internal/password"
	"github.com/keyless-dev/keyless/internal/secret"
)

// maxPassword bounds the password read; argon2id would take any length.
const maxPassword = 1024

// passwordHash reads one password (its first line, without the line
// end) from standard input and prints its argon2id hash in the PHC
// string format, for a user's console password. It never echoes the
// password, and never takes it as an argument, which would leave it in
// the shell's history and the process list.
func passwordHash(_ context.Context, env Env, args []string) int {
	const name = "password hash"
	fs := flags(env, name)
	memory := fs.Uint("memory", uint(password.Default.Memory), "argon2id memory in KiB (8192 to 1048576)")
	passes := fs.Uint("time", uint(password.Default.Time), "argon2id passes (1 to 16)")
	threads := fs.Uint("threads", uint(password.Default.Threads), "argon2id lanes (1 to 16)")
	if err := fs.Parse(args); err != nil {
		return exitForFlags(err)
	}
	if fs.NArg() != 0 {
		return usageError(env, name, "the password is read from standard input, not taken as an argument")
	}
	if env.Stdin == nil {
		return failAs(env, name, "no standard input")
	}
	line, err := bufio.NewReaderSize(io.LimitReader(env.Stdin, maxPassword+2), maxPassword+2).ReadString('\n')
	if err != nil && err != io.EOF {
		return failAs(env, name, "reading standard input: %v", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	switch {
	case pw == "":
		return usageError(env, name, "an empty password (pipe it in: printf '%%s' \"$PW\" | keyless password hash)")
	case len(pw) > maxPassword:
		return usageError(env, name, "a password over %d bytes", maxPassword)
	}
	hash, err := password.Hash(secret.NewString(pw), password.Params{Memory: uint32(min(*memory, 1<<31)), Time: uint32(min(*passes, 1<<31)),
		Threads: uint8(min(*threads, 255))})
	if err != nil {
		return usageError(env, name, "%v", err)
	}
	fmt.Fprintln(env.Stdout, hash)
	return 0
}
