package cli

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/keyless-dev/keyless/internal/ops"
	"github.com/keyless-dev/keyless/internal/storage"
)

func auditList(ctx context.Context, env Env, args []string) int {
	const name = "audit"
	fs := flags(env, name)
	sf := addStoreFlags(fs)
	var f storage.AuditFilter
	fs.StringVar(&f.EventName, "event-name", "", "only events of this action, e.g. GetSessionToken")
	fs.StringVar(&f.AccessKeyID, "access-key-id", "", "only events signed with this key, or that issued it")
	fs.StringVar(&f.PrincipalARN, "principal-arn", "", "only events of this caller, e.g. arn:aws:iam::111122223333:user/alice")
	since := fs.String("since", "", "only events at or after this time (RFC 3339, or a duration ago such as 1h)")
	until := fs.String("until", "", "only events before this time (RFC 3339, or a duration ago)")
	fs.IntVar(&f.Limit, "limit", 0, "print at most this many events (0: all)")
	return withOps(ctx, env, name, fs, sf, args, func(o *ops.Service) int {
		var err error
		if f.From, err = parseWhen(*since); err != nil {
			return usageError(env, name, "--since: %v", err)
		}
		if f.To, err = parseWhen(*until); err != nil {
			return usageError(env, name, "--until: %v", err)
		}
		out := bufio.NewWriter(env.Stdout)
		defer out.Flush()
		err = o.Audit(ctx, f, func(r storage.AuditRecord) error {
			out.Write(r.JSON)
			return out.WriteByte('\n')
		})
		if err != nil {
			return failAs(env, name, "%v", err)
		}
		return 0
	})
}

// parseWhen reads an RFC 3339 time or a duration before now.
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Parse(time.RFC3339, s)
}

func auditVerify(ctx context.Context, env Env, args []string) int {
	const name = "audit verify"
	fs := flags(env, name)
	return withOps(ctx, env, name, fs, addStoreFlags(fs), args, func(o *ops.Service) int {
		n, err := o.VerifyAudit(ctx)
		if err != nil {
			return failAs(env, name, "audit log is NOT intact after %d good events: %v", n, err)
		}
		fmt.Fprintf(env.Stdout, "audit log intact: %d events, hash chain verified\n", n)
		return 0
	})
}
