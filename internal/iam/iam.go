package iam

import (
	"errors"
	"fmt"
	"github.com/keyless-dev/keyless/internal/password"
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/totp"
)

// PrincipalType is the kind of identity acting.
type PrincipalType uint8

// Principal types (aws:PrincipalType values in comments).
const (
	Root PrincipalType = 1 // "Account"
	User PrincipalType = 2 // "User"
	// Role is a role; it acts only through its sessions ("AssumedRole").
	Role PrincipalType = 3
)

func (t PrincipalType) String() string {
	switch t {
	case Root:
		return "Root"
	case User:
		return "IAMUser"
	case Role:
		return "Role"
	}
	return "Unknown"
}

// Principal identifies who is acting.
type Principal struct {
	Type     PrincipalType
	Account  string
	Name     string // user or role name; empty for root
	Path     string // IAM path of a user or role
	UniqueID string // AIDA... for a user, AROA... for a role; the account id for root
}

// ARN returns the principal's ARN, path included
// (arn:aws:iam::ACCOUNT:user/PATH/NAME, arn:aws:iam::ACCOUNT:role/PATH/NAME
// or arn:aws:iam::ACCOUNT:root).
func (p Principal) ARN() string {
	switch p.Type {
	case Root:
		return arn.Root(p.Account)
	case Role:
		return arn.Role(p.Account, p.Path, p.Name)
	}
	return arn.User(p.Account, p.Path, p.Name)
}

// Account is an AWS-style account.
type Account struct {
	ID    string
	Alias string
	// OutboundWebIdentityFederation: the account's principals may call
	// GetWebIdentityToken.
	OutboundWebIdentityFederation bool
	// OutboundIssuerID pins the account issuer's id; empty: keyless makes
	// one.
	OutboundIssuerID string
}

// UserInfo is an IAM user.
type UserInfo struct {
	Principal
	Tags map[string]string
	// Policies are the user's inline and attached managed policies.
	Policies []policy.Named
	// Boundary is the user's permissions boundary, if any.
	Boundary *policy.Named
	// Password is the user's console password, if any.
	Password *password.Stored
}

// AccessKey is a long-term access key of a user or an account's root.
type AccessKey struct {
	ID     string
	Secret secret.String
	Active bool
	Owner  Principal
}

// MFADevice is a TOTP device assigned to a user.
type MFADevice struct {
	Serial string
	Seed   secret.Bytes
	TOTP   totp.Params
	Owner  Principal
}

// Directory is an immutable set of identities.
type Directory struct {
	accounts map[string]Account
	users    map[string]*UserInfo // by account + "/" + name
	roles    map[string]*RoleInfo // by account + "/" + lower-case name
	keys     map[string]*AccessKey
	devices  map[string]*MFADevice
	managed  map[string]policy.Named  // by lower-case ARN
	oidc     map[string]*OIDCProvider // by account + NUL + issuer
	saml     map[string]*SAMLProvider // by account + "/" + name
	// samlByIssuer lists SAML providers by entity ID.
	samlByIssuer map[string][]*SAMLProvider
}

// Contents is everything a Directory holds.
type Contents struct {
	Accounts   []Account
	Users      []UserInfo
	Roles      []RoleInfo
	AccessKeys []AccessKey
	MFADevices []MFADevice
	// ManagedPolicies are the accounts' managed policies, named by ARN.
	ManagedPolicies []policy.Named
	OIDCProviders   []OIDCProvider
	SAMLProviders   []SAMLProvider
}

// ErrDuplicate reports two identities with the same key.
var ErrDuplicate = errors.New("duplicate")

// NewDirectory indexes the identities, refusing duplicates and dangling
// owners.
func NewDirectory(c Contents) (*Directory, error) {
	accounts, users, keys, devices := c.Accounts, c.Users, c.AccessKeys, c.MFADevices
	d := &Directory{
		accounts: map[string]Account{},
		users:    map[string]*UserInfo{},
		roles:    map[string]*RoleInfo{},
		keys:     map[string]*AccessKey{},
		devices:  map[string]*MFADevice{},
		managed:  map[string]policy.Named{},
		oidc:     map[string]*OIDCProvider{},
		saml:     map[string]*SAMLProvider{},

		samlByIssuer: map[string][]*SAMLProvider{},
	}
	for _, mp := range c.ManagedPolicies {
		k := strings.ToLower(mp.Name)
		if _, dup := d.managed[k]; dup {
			return nil, fmt.Errorf("managed policy %s: %w", mp.Name, ErrDuplicate)
		}
		d.managed[k] = mp
	}
	for _, a := range accounts {
		if _, dup := d.accounts[a.ID]; dup {
			return nil, fmt.Errorf("account %s: %w", a.ID, ErrDuplicate)
		}
		d.accounts[a.ID] = a
	}
	for i := range users {
		u := &users[i]
		if _, ok := d.accounts[u.Account]; !ok {
			return nil, fmt.Errorf("user %s: unknown account %s", u.Name, u.Account)
		}
		k := u.Account + "/" + u.Name
		if _, dup := d.users[k]; dup {
			return nil, fmt.Errorf("user %s in account %s: %w", u.Name, u.Account, ErrDuplicate)
		}
		d.users[k] = u
	}
	for i := range c.Roles {
		r := &c.Roles[i]
		if _, ok := d.accounts[r.Account]; !ok {
			return nil, fmt.Errorf("role %s: unknown account %s", r.Name, r.Account)
		}
		k := r.Account + "/" + strings.ToLower(r.Name)
		if _, dup := d.roles[k]; dup {
			return nil, fmt.Errorf("role %s in account %s: %w", r.Name, r.Account, ErrDuplicate)
		}
		if r.Trust == nil || r.Trust.Kind != policy.Trust {
			return nil, fmt.Errorf("role %s: no trust policy", r.ARN())
		}
		d.roles[k] = r
	}
	for i := range c.OIDCProviders {
		p := &c.OIDCProviders[i]
		if _, ok := d.accounts[p.Account]; !ok {
			return nil, fmt.Errorf("OIDC provider %s: unknown account %s", p.URL, p.Account)
		}
		k := p.Account + "\x00" + p.URL
		if _, dup := d.oidc[k]; dup {
			return nil, fmt.Errorf("OIDC provider %s: %w", p.ARN(), ErrDuplicate)
		}
		d.oidc[k] = p
	}
	for i := range c.SAMLProviders {
		p := &c.SAMLProviders[i]
		if _, ok := d.accounts[p.Account]; !ok {
			return nil, fmt.Errorf("SAML provider %s: unknown account %s", p.Name, p.Account)
		}
		if len(p.Certificates) == 0 {
			// Never "no certificate, so no check" (security.md V-36).
			return nil, fmt.Errorf("SAML provider %s: no signing certificate", p.ARN())
		}
		k := p.Account + "/" + p.Name
		if _, dup := d.saml[k]; dup {
			return nil, fmt.Errorf("SAML provider %s: %w", p.ARN(), ErrDuplicate)
		}
		d.saml[k] = p
		d.samlByIssuer[p.EntityID] = append(d.samlByIssuer[p.EntityID], p)
	}
	for i := range keys {
		k := &keys[i]
		if _, dup := d.keys[k.ID]; dup {
			return nil, fmt.Errorf("access key %s: %w", k.ID, ErrDuplicate)
		}
		if !d.Exists(k.Owner) {
			return nil, fmt.Errorf("access key %s: owner %s does not exist", k.ID, k.Owner.ARN())
		}
		d.keys[k.ID] = k
	}
	for i := range devices {
		m := &devices[i]
		if _, dup := d.devices[m.Serial]; dup {
			return nil, fmt.Errorf("MFA device %s: %w", m.Serial, ErrDuplicate)
		}
		if m.Owner.Type != User || !d.Exists(m.Owner) {
			return nil, fmt.Errorf("MFA device %s: owner %s is not a user of this directory", m.Serial, m.Owner.ARN())
		}
		d.devices[m.Serial] = m
	}
	return d, nil
}

// AccountByAlias looks up an account by its alias.
func (d *Directory) AccountByAlias(alias string) (Account, bool) {
	for _, a := range d.accounts {
		if a.Alias != "" && a.Alias == alias {
			return a, true
		}
	}
	return Account{}, false
}

// MFADevicesOf returns the serials of p's MFA devices, sorted.
func (d *Directory) MFADevicesOf(p Principal) []string {
	var out []string
	for serial, m := range d.devices {
		if m.Owner == p {
			out = append(out, serial)
		}
	}
	slices.Sort(out)
	return out
}

// AccessKey looks up a long-term access key by id.
func (d *Directory) AccessKey(id string) (*AccessKey, bool) {
	k, ok := d.keys[id]
	return k, ok
}

// Account looks up an account.
func (d *Directory) Account(id string) (Account, bool) {
	a, ok := d.accounts[id]
	return a, ok
}

// User looks up a user by account and name.
func (d *Directory) User(account, name string) (*UserInfo, bool) {
	u, ok := d.users[account+"/"+name]
	return u, ok
}

// ManagedPolicy looks up a managed policy by ARN; policy names are unique
// regardless of case within an account.
func (d *Directory) ManagedPolicy(arn string) (policy.Named, bool) {
	p, ok := d.managed[strings.ToLower(arn)]
	return p, ok
}

// MFADevice looks up a device by serial number.
func (d *Directory) MFADevice(serial string) (*MFADevice, bool) {
	m, ok := d.devices[serial]
	return m, ok
}

// Exists reports whether p still names a current identity: the account
// exists and, for a user, a user of that name exists with the same unique id
// (a deleted and re-created user is a different principal).
func (d *Directory) Exists(p Principal) bool {
	if _, ok := d.accounts[p.Account]; !ok {
		return false
	}
	switch p.Type {
	case Root:
		return p.UniqueID == p.Account
	case User:
		u, ok := d.users[p.Account+"/"+p.Name]
		return ok && u.UniqueID == p.UniqueID && u.Path == p.Path
	case Role:
		r, ok := d.roles[p.Account+"/"+strings.ToLower(p.Name)]
		return ok && r.UniqueID == p.UniqueID && r.Name == p.Name && r.Path == p.Path
	}
	return false
}

// Users returns every user, for reconciling unique ids with storage.
func (d *Directory) Users() []*UserInfo {
	out := make([]*UserInfo, 0, len(d.users))
	for _, u := range d.users {
		out = append(out, u)
	}
	return out
}
