package iam

import (
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/policy"
)

// RoleInfo is an IAM role.
type RoleInfo struct {
	Account     string
	Name        string
	Path        string
	UniqueID    string // AROA…; a role deleted and re-created gets a new one
	Description string
	// Trust is the role's trust policy, with the principals that name
	// users and roles bound to their unique ids.
	Trust *policy.Document
	// Policies are the role's inline and attached managed policies.
	Policies []policy.Named
	// Boundary is the role's permissions boundary, if any.
	Boundary *policy.Named
	// MaxSessionDuration is between 1 and 12 hours.
	MaxSessionDuration time.Duration
	Tags               map[string]string
	// BroadTrustIntended: the operator confirmed a trust policy that
	// trusts broadly (an unscoped multi-tenant identity provider included).
	BroadTrustIntended bool
}

// ARN returns arn:aws:iam::ACCOUNT:role/PATH/NAME.
func (r *RoleInfo) ARN() string { return arn.Role(r.Account, r.Path, r.Name) }

// Principal is the role as the principal its sessions belong to.
func (r *RoleInfo) Principal() Principal {
	return Principal{Type: Role, Account: r.Account, Name: r.Name, Path: r.Path, UniqueID: r.UniqueID}
}

// Role looks up a role by account and name. Role names are unique
// regardless of case within an account (IAM User Guide,
// reference_iam-quotas "IAM name requirements").
func (d *Directory) Role(account, name string) (*RoleInfo, bool) {
	r, ok := d.roles[account+"/"+strings.ToLower(name)]
	return r, ok
}

// RolesOf returns account's roles, sorted by name.
func (d *Directory) RolesOf(account string) []*RoleInfo {
	var out []*RoleInfo
	for _, r := range d.roles {
		if r.Account == account {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *RoleInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}
