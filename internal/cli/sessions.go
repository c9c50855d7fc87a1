package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/identity"
	"github.com/keyless-dev/keyless/internal/storage"
)

// sessionsRevoke revokes every session of a role or user issued before
// now, the way IAM's "Revoke active sessions" does with aws:TokenIssueTime
// (aws-sts.md section 5.11).
func sessionsRevoke(ctx context.Context, env Env, args []string) int {
	fs := flags(env, "sessions revoke")
	role := fs.String("role", "", "revoke the sessions of this role (arn:aws:iam::ACCOUNT:role/NAME)")
	user := fs.String("user", "", "revoke the sessions of this user: GetSessionToken and GetFederationToken credentials (arn:aws:iam::ACCOUNT:user/NAME)")
	sf := addStoreFlags(fs)
	return withStore(ctx, env, fs, sf, args, func(store storage.Store) int {
		var a, typ string
		switch {
		case (*role == "") == (*user == ""):
			return fail(env, "give exactly one of --role or --user")
		case *role != "":
			a, typ = *role, "role"
		default:
			a, typ = *user, "user"
		}
		if _, _, _, ok := arn.ParseIAM(a, typ); !ok {
			return fail(env, "%q is not a %s ARN", a, typ)
		}
		now := clock.System{}.Now().UTC()
		id, err := identity.Revoke(ctx, store, a, now)
		if errors.Is(err, identity.ErrUnknownPrincipal) {
			return fail(env, "no %s %s has been served from this data directory", typ, a)
		}
		if err != nil {
			return fail(env, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "Sessions of %s (%s) issued before %s are revoked.\n"+
			"Running servers refuse them within %s with InvalidClientTokenId.\n", a, id, now.Format(time.RFC3339), identity.RevocationDelay)
		return 0
	})
}
