package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/identity"
	"github.com/keyless-dev/keyless/internal/ops"
)

// sessionsRevoke revokes every session of a role or user issued before
// now, the way IAM's "Revoke active sessions" does with aws:TokenIssueTime
// (aws-sts.md section 5.11).
func sessionsRevoke(ctx context.Context, env Env, args []string) int {
	const name = "sessions revoke"
	fs := flags(env, name)
	role := fs.String("role", "", "revoke the sessions of this role (arn:aws:iam::ACCOUNT:role/NAME)")
	user := fs.String("user", "", "revoke the sessions of this user: GetSessionToken and GetFederationToken credentials (arn:aws:iam::ACCOUNT:user/NAME)")
	sf := addStoreFlags(fs)
	return withOps(ctx, env, name, fs, sf, args, func(o *ops.Service) int {
		var a, typ string
		switch {
		case (*role == "") == (*user == ""):
			return usageError(env, name, "give exactly one of --role or --user")
		case *role != "":
			a, typ = *role, "role"
		default:
			a, typ = *user, "user"
		}
		if _, _, _, ok := arn.ParseIAM(a, typ); !ok {
			return failAs(env, name, "%q is not a %s ARN", a, typ)
		}
		rev, err := o.RevokeSessions(ctx, a)
		if errors.Is(err, identity.ErrUnknownPrincipal) {
			return failAs(env, name, "no %s %s has been served from this data directory", typ, a)
		}
		if err != nil {
			return failAs(env, name, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "Sessions of %s (%s) issued before %s are revoked.\n"+
			"Running servers refuse them within %s with InvalidClientTokenId.\n", a, rev.UniqueID, rev.Before.Format(time.RFC3339), rev.Within)
		return 0
	})
}
