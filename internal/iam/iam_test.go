package iam_test

import (
	"errors"
	"testing"

	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/secret"
)

func TestDirectory(t *testing.T) {
	alice := iam.Principal{Type: iam.User, Account: "111122223333", Name: "alice", Path: "/dev/", UniqueID: "AIDAAAAAAAAAAAAAAAAAA"}
	root := iam.Principal{Type: iam.Root, Account: "111122223333", UniqueID: "111122223333"}
	d, err := iam.NewDirectory(iam.Contents{
		Accounts:   []iam.Account{{ID: "111122223333"}},
		Users:      []iam.UserInfo{{Principal: alice}},
		AccessKeys: []iam.AccessKey{{ID: "AKIA1", Secret: secret.NewString("s"), Active: true, Owner: alice}, {ID: "AKIA2", Owner: root}},
		MFADevices: []iam.MFADevice{{Serial: "arn:aws:iam::111122223333:mfa/alice", Owner: alice}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if alice.ARN() != "arn:aws:iam::111122223333:user/dev/alice" || root.ARN() != "arn:aws:iam::111122223333:root" {
		t.Errorf("ARNs: %s %s", alice.ARN(), root.ARN())
	}
	if k, ok := d.AccessKey("AKIA1"); !ok || k.Owner != alice {
		t.Error("AKIA1")
	}
	if !d.Exists(alice) || !d.Exists(root) {
		t.Error("existing principals not found")
	}
	recreated := alice
	recreated.UniqueID = "AIDABBBBBBBBBBBBBBBBB"
	if d.Exists(recreated) {
		t.Error("a re-created user (new unique id) must be a different principal")
	}
	if _, err := iam.NewDirectory(iam.Contents{Accounts: []iam.Account{{ID: "1"}, {ID: "1"}}}); !errors.Is(err, iam.ErrDuplicate) {
		t.Errorf("duplicate account: %v", err)
	}
	if _, err := iam.NewDirectory(iam.Contents{Accounts: []iam.Account{{ID: "111122223333"}}, AccessKeys: []iam.AccessKey{{ID: "K", Owner: alice}}}); err == nil {
		t.Error("key with a missing owner accepted")
	}
	if _, err := iam.NewDirectory(iam.Contents{Accounts: []iam.Account{{ID: "111122223333"}}, MFADevices: []iam.MFADevice{{Serial: "s", Owner: root}}}); err == nil {
		t.Error("MFA device owned by root accepted")
	}
}

func TestDirectoryRoles(t *testing.T) {
	trust, err := policy.Parse(policy.Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}`)
	if err != nil {
		t.Fatal(err)
	}
	demo := iam.RoleInfo{Account: "111122223333", Name: "Demo", Path: "/team/", UniqueID: "AROAAAAAAAAAAAAAAAAAA", Trust: trust}
	d, err := iam.NewDirectory(iam.Contents{Accounts: []iam.Account{{ID: "111122223333"}}, Roles: []iam.RoleInfo{demo}})
	if err != nil {
		t.Fatal(err)
	}
	r, ok := d.Role("111122223333", "demo")
	if !ok || r.Name != "Demo" || r.ARN() != "arn:aws:iam::111122223333:role/team/Demo" {
		t.Fatalf("Role(demo) = %+v, %v", r, ok)
	}
	if _, ok := d.Role("444455556666", "Demo"); ok {
		t.Error("role found in another account")
	}
	other := demo
	other.Name = "DEMO"
	if _, err := iam.NewDirectory(iam.Contents{Accounts: []iam.Account{{ID: "111122223333"}}, Roles: []iam.RoleInfo{demo, other}}); !errors.Is(err, iam.ErrDuplicate) {
		t.Errorf("roles differing only in case: %v", err)
	}
	noTrust := demo
	noTrust.Trust = nil
	if _, err := iam.NewDirectory(iam.Contents{Accounts: []iam.Account{{ID: "111122223333"}}, Roles: []iam.RoleInfo{noTrust}}); err == nil {
		t.Error("role without a trust policy accepted")
	}
}
