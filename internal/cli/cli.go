package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Env is the process environment the commands see.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	LookupEnv      func(string) (string, bool)
}

type command struct {
	summary string
	run     func(ctx context.Context, env Env, args []string) int
}

func commands() map[string]command {
	return map[string]command{
		"serve":                    {"run the token service", serve},
		"version":                  {"print the version", printVersion},
		"config validate":          {"check a configuration file and report every problem", configValidate},
		"audit":                    {"print stored audit events as JSON lines", auditList},
		"audit verify":             {"check the audit trail (hash chain, checkpoint, signed digests) for missing or altered events", auditVerify},
		"audit public-key":         {"print the public key that verifies the audit trail's signed digests", auditPublicKey},
		"keys rotate":              {"make a new active master key for sealing session tokens", keysRotate},
		"keys list":                {"list the master keys", keysList},
		"keys seal":                {"seal master keys stored in the clear by an earlier keyless", keysSeal},
		"keys encryption-key":      {"write a new key-encryption key to a file", keysEncryptionKey},
		"sessions revoke":          {"revoke every current session of a role or user", sessionsRevoke},
		"reload":                   {"make the running server re-read its configuration", reloadCmd},
		"exchange":                 {"trade an AWS, GitHub, Azure or Kubernetes identity for keyless credentials", exchangeCmd},
		"credentials":              {"print the credential of $KEYLESS_CONFIG_BASE64 (for credential_process)", credentialsCmd},
		"integrations list":        {"list the integrations of your account, with their status", integrationsList},
		"integrations show":        {"show an integration: status, diagnosis, and what the target account needs", integrationsShow},
		"integrations ping":        {"check an integration now", integrationsPing},
		"integrations credentials": {"print an integration's target credentials (for credential_process)", integrationsCredentials},
		"token":                    {"print a token from keyless's OIDC issuer for your current AWS credentials (GetWebIdentityToken)", tokenCmd},
		"password hash":            {"hash a console password read from standard input (argon2id), for the configuration", passwordHash},
	}
}

// Main runs the command named by args and returns the exit code.
func Main(ctx context.Context, env Env, args []string) int {
	cmds := commands()
	// The longest matching command name wins ("audit verify" over "audit").
	for n := min(2, len(args)); n >= 1; n-- {
		if c, ok := cmds[strings.Join(args[:n], " ")]; ok {
			return c.run(ctx, env, args[n:])
		}
	}
	usage(env.Stderr, cmds)
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		return 0
	}
	return 2
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: keyless <command> [flags]")
	fmt.Fprintln(w)
	for _, n := range names {
		fmt.Fprintf(w, "  %-20s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run keyless <command> -h for a command's flags.")
}

// flags makes a flag set that reports to env.Stderr.
func flags(env Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("keyless "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// defaultConfigPath is $KEYLESS_CONFIG, else ./keyless.yaml.
func defaultConfigPath(env Env) string {
	if p, ok := env.LookupEnv("KEYLESS_CONFIG"); ok && p != "" {
		return p
	}
	return "keyless.yaml"
}

// OSEnv is the real process environment.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, LookupEnv: os.LookupEnv}
}
