package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/keyless-dev/keyless/internal/app"
)

// reloadCmd makes a running server re-read its configuration: through its
// admin listener, which answers with the outcome, or else by sending
// SIGHUP to the process that holds the data directory's pid file.
func reloadCmd(ctx context.Context, env Env, args []string) int {
	const name = "reload"
	fs := flags(env, name)
	adminAddr := fs.String("admin", "", "the server's admin listener host:port (default: the file's server.admin_addr)")
	sf := addStoreFlags(fs)
	if err := fs.Parse(args); err != nil {
		return exitForFlags(err)
	}
	if fs.NArg() > 0 {
		return usageError(env, name, "unexpected argument %q", fs.Arg(0))
	}
	if *adminAddr == "" && *sf.config != "" {
		cfg, err := loadConfig(env, *sf.config, "--config")
		if err != nil {
			return failAs(env, name, "%v", err)
		}
		*adminAddr = cfg.AdminAddr
	}
	if *adminAddr != "" {
		return reloadThroughAdmin(ctx, env, *adminAddr)
	}
	_, dir, from, err := sf.locate(env)
	if err != nil {
		return failAs(env, name, "%v", err)
	}
	pid, err := runningPID(dir)
	if err != nil {
		return failAs(env, name, "%v in %s (%s)", err, dir, from)
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return failAs(env, name, "signalling keyless (pid %d): %v", pid, err)
	}
	fmt.Fprintf(env.Stdout, "sent SIGHUP to keyless (pid %d). It reloads its configuration if the file is valid and keeps the one in force if not;\n"+
		"the outcome is in its log, in `keyless audit --event-name ReloadConfiguration`, and in the keyless_config_reloads_total metric.\n"+
		"With server.admin_addr set, `keyless reload` waits for the outcome and prints it.\n", pid)
	return 0
}

// reloadThroughAdmin posts to the admin listener and prints its answer.
func reloadThroughAdmin(ctx context.Context, env Env, addr string) int {
	const name = "reload"
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+app.AdminReloadPath, nil)
	if err != nil {
		return failAs(env, name, "%v", err)
	}
	req.Header.Set(app.AdminHeader, app.AdminHeaderValue)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return failAs(env, name, "the admin listener at %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := readAnswer(resp.Body)
	if err != nil {
		return failAs(env, name, "the admin listener's answer: %v", err)
	}
	var a struct {
		Digest          string   `json:"config_sha256"`
		RestartRequired []string `json:"restart_required"`
		Notes           []string `json:"notes"`
		Error           *struct {
			Code, Message, Problems string
		} `json:"error"`
	}
	if json.Unmarshal(body, &a) != nil {
		return failAs(env, name, "the admin listener answered HTTP %d: %s", resp.StatusCode, clean(string(body)))
	}
	if a.Error != nil || resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
		if a.Error != nil {
			msg = a.Error.Code + ": " + a.Error.Message
			if a.Error.Problems != "" {
				msg += "\n" + a.Error.Problems
			}
		}
		return failAs(env, name, "%s", msg)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "configuration reloaded (sha256 %s)\n", a.Digest)
	if len(a.RestartRequired) > 0 {
		fmt.Fprintf(&b, "these settings changed but need a restart; their running values stay in force: %s\n", strings.Join(a.RestartRequired, ", "))
	}
	for _, n := range a.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, _ = io.WriteString(env.Stdout, b.String())
	return 0
}
