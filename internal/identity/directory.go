package identity

import (
	"context"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/storage"
)

// RoleKey names a role's unique-id binding in storage; role names are
// unique regardless of case within an account.
func RoleKey(account, name string) string { return "role/" + account + "/" + strings.ToLower(name) }

// UserKey names a user's unique-id binding in storage. IAM user names are
// unique case-insensitively within an account.
func UserKey(account, name string) string { return "user/" + account + "/" + strings.ToLower(name) }

// deploymentKey names the deployment's id.
const deploymentKey = "deployment"

// Deployment returns the deployment's id, made on first use: session
// tokens are bound to it.
func Deployment(ctx context.Context, ids storage.IDs, random io.Reader) (string, error) {
	return ids.ClaimID(ctx, deploymentKey, randomID(random, "D", 20))
}

// Build makes the directory of contents: it assigns stored unique ids to
// the users and roles whose ids the configuration does not pin, binds
// trust policies to the ids, and indexes everything. contents is not
// changed.
//
// Releasing the ids of users and roles no longer declared is left to the
// returned release, to be called once the directory is in force: a
// reload that fails later releases nothing.
func Build(ctx context.Context, contents iam.Contents, ids storage.IDs, random io.Reader) (dir *iam.Directory, release func(context.Context) error, err error) {
	c := clone(contents)
	assigned := map[string]string{}
	claim := func(key, prefix string, id *string, name string) error {
		if *id == "" {
			got, err := ids.ClaimID(ctx, key, randomID(random, prefix, 21))
			if err != nil {
				return fmt.Errorf("unique id for %s: %w", name, err)
			}
			*id = got
		} else if err := pin(ctx, ids, key, *id); err != nil {
			return fmt.Errorf("unique id for %s: %w", name, err)
		}
		assigned[key] = *id
		return nil
	}
	byARN := map[string]string{} // lower-case ARN → unique id
	for i := range c.Users {
		u := &c.Users[i].Principal
		if err := claim(UserKey(u.Account, u.Name), "AIDA", &u.UniqueID, u.ARN()); err != nil {
			return nil, nil, err
		}
		byARN[strings.ToLower(u.ARN())] = u.UniqueID
	}
	for i := range c.Roles {
		r := &c.Roles[i]
		if err := claim(RoleKey(r.Account, r.Name), "AROA", &r.UniqueID, r.ARN()); err != nil {
			return nil, nil, err
		}
		byARN[strings.ToLower(r.ARN())] = r.UniqueID
	}
	// Trust policies name users and roles by unique id, as IAM stores
	// them: sessions of a role that was deleted and re-created carry the
	// old id and are no longer trusted (security.md AR-18).
	for i := range c.Roles {
		if r := &c.Roles[i]; r.Trust != nil {
			r.Trust = r.Trust.BindPrincipals(func(p string) (string, bool) {
				id, ok := byARN[strings.ToLower(p)]
				return id, ok
			})
		}
	}
	fill := func(p *iam.Principal) {
		if p.Type == iam.User {
			p.UniqueID = assigned[UserKey(p.Account, p.Name)]
		}
	}
	for i := range c.AccessKeys {
		fill(&c.AccessKeys[i].Owner)
	}
	for i := range c.MFADevices {
		fill(&c.MFADevices[i].Owner)
	}
	dir, err = iam.NewDirectory(c)
	if err != nil {
		return nil, nil, err
	}
	release = func(ctx context.Context) error {
		for _, prefix := range []string{"user/", "role/"} {
			stored, err := ids.ListIDs(ctx, prefix)
			if err != nil {
				return err
			}
			for key := range stored {
				if _, ok := assigned[key]; !ok {
					if err := ids.ReleaseID(ctx, key); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return dir, release, nil
}

// pin stores a unique id the configuration pins, replacing one stored for
// the same name before (when it was not pinned): revocation finds the id
// in force through the stored binding.
func pin(ctx context.Context, ids storage.IDs, key, id string) error {
	got, err := ids.ClaimID(ctx, key, id)
	if err != nil || got == id {
		return err
	}
	if err := ids.ReleaseID(ctx, key); err != nil {
		return err
	}
	if got, err = ids.ClaimID(ctx, key, id); err == nil && got != id {
		err = fmt.Errorf("the stored id %s could not be replaced by the pinned %s", got, id)
	}
	return err
}

// clone copies the slices Build fills in, so that the configuration it
// was given stays what the file says, whatever ids storage holds.
func clone(c iam.Contents) iam.Contents {
	c.Users = append([]iam.UserInfo(nil), c.Users...)
	c.Roles = append([]iam.RoleInfo(nil), c.Roles...)
	c.AccessKeys = append([]iam.AccessKey(nil), c.AccessKeys...)
	c.MFADevices = append([]iam.MFADevice(nil), c.MFADevices...)
	return c
}

// randomID makes prefix + upper-case base32 characters, n long in all, the
// shape of AWS unique ids (AIDA...).
func randomID(random io.Reader, prefix string, n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(random, b); err != nil {
		panic("identity: random source failed: " + err.Error())
	}
	return prefix + base32.StdEncoding.EncodeToString(b)[:n-len(prefix)]
}

// AccountIssuer returns the id of an account's own OIDC issuer
// (GetWebIdentityToken's tokens name ISSUER/tokens/ID), made on first use
// and kept, so that a relying party's trust survives restarts and
// reloads: 128 random bits, so that the issuer does not reveal the
// account, as AWS's per-account issuers do not.
//
// pinned, when not empty, is the id the configuration pins instead.
func AccountIssuer(ctx context.Context, ids storage.IDs, random io.Reader, account, pinned string) (string, error) {
	key := "account-issuer/" + account
	var id string
	if pinned != "" {
		if err := pin(ctx, ids, key, pinned); err != nil {
			return "", err
		}
		id = pinned
	} else {
		b := make([]byte, 16)
		if _, err := io.ReadFull(random, b); err != nil {
			return "", err
		}
		var err error
		if id, err = ids.ClaimID(ctx, key, hex.EncodeToString(b)); err != nil {
			return "", err
		}
	}
	// An issuer names one account: a pinned id that another account's
	// issuer already has is refused, so that no two accounts' tokens can
	// carry the same iss.
	owner, err := ids.ClaimID(ctx, "issuer-account/"+id, account)
	if err != nil {
		return "", err
	}
	if owner != account {
		return "", fmt.Errorf("the issuer id %s is account %s's", id, owner)
	}
	return id, nil
}
