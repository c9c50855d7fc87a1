package signin

import (
	"strings"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/login"
)

// UserIdentity is the audit events' userIdentity of a signed-in
// principal: an IAM user, or a role session.
func UserIdentity(p login.Principal) audit.UserIdentity {
	id := audit.UserIdentity{Type: "IAMUser", ARN: p.ARN, PrincipalID: p.ID, AccountID: arn.AccountOf(p.ARN)}
	if _, name, ok := strings.Cut(p.ARN, ":user/"); ok {
		id.UserName = name[strings.LastIndexByte(name, '/')+1:]
	} else if strings.Contains(p.ARN, ":assumed-role/") {
		id.Type = "AssumedRole"
	}
	return id
}
