package cli

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
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
	keyFile := fs.String("public-key", "", "check the signed digests with this public key (PEM, from `keyless audit public-key`), "+
		"obtained independently of the data; default: the public key stored beside the log")
	sf := addStoreFlags(fs)
	return withOps(ctx, env, name, fs, sf, args, func(o *ops.Service) int {
		var pub ed25519.PublicKey
		if *keyFile != "" {
			b, err := os.ReadFile(*keyFile)
			if err == nil {
				pub, err = audit.ParsePublicKey(b)
			}
			if err != nil {
				return usageError(env, name, "--public-key %s: %v", *keyFile, err)
			}
		}
		rep, err := o.VerifyAudit(ctx, pub)
		if err != nil {
			return failAs(env, name, "audit log is NOT intact after %d good events: %v", rep.Records, err)
		}
		w := env.Stdout
		fmt.Fprintf(w, "audit log intact: %d events, hash chain verified\n", rep.Records)
		if rep.Records > 0 {
			fmt.Fprintf(w, "  records %d to %d", rep.First, rep.Last)
			if rep.Legacy > 0 {
				fmt.Fprintf(w, " (%d chained with the earlier hash, which covers each event's JSON but not its indexed fields)", rep.Legacy)
			}
			fmt.Fprintln(w)
		}
		if d := rep.Dropped; d != nil {
			fmt.Fprintf(w, "  records %d to %d were deleted by retention, as record %d recorded\n", d.FirstSeq, d.LastSeq, d.Seq)
		}
		if c := rep.Checkpoint; c != nil {
			fmt.Fprintf(w, "  checkpoint of %s (record %d) matches\n", c.Time.UTC().Format(time.RFC3339), c.Seq)
		} else {
			fmt.Fprintln(w, "  no checkpoint yet")
		}
		switch {
		case rep.Digests == 0:
			fmt.Fprintln(w, "  no signed digest yet")
		default:
			fmt.Fprintf(w, "  signed digests verified: %d, covering records up to %d; the last signed %s\n",
				rep.Digests, rep.Signed, rep.LastDigest.UTC().Format(time.RFC3339))
			if rep.StoredKey {
				fmt.Fprintln(w, "  (checked with the public key stored beside the log; for a check that does not trust this machine, give --public-key)")
			}
		}
		if rep.Digests > 0 && rep.Last > rep.Signed {
			fmt.Fprintf(w, "  records %d to %d are not covered by a signed digest yet\n", rep.Signed+1, rep.Last)
		}
		return 0
	})
}

func auditPublicKey(ctx context.Context, env Env, args []string) int {
	const name = "audit public-key"
	fs := flags(env, name)
	return withOps(ctx, env, name, fs, addStoreFlags(fs), args, func(o *ops.Service) int {
		pub, err := o.AuditPublicKey(ctx)
		if errors.Is(err, storage.ErrNotFound) {
			return failAs(env, name, "no audit digest key yet: a server makes one when it first starts")
		}
		if err != nil {
			return failAs(env, name, "%v", err)
		}
		env.Stdout.Write(audit.EncodePublicKey(pub))
		return 0
	})
}
