package iam_test

import (
	"errors"
	"testing"

	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/secret"
)

func TestDirectory(t *testing.T) {
	alice := iam.Principal{Type: iam.User, Account: "111122223333", Name: "alice", Path: "/dev/", UniqueID: "AIDAAAAAAAAAAAAAAAAAA"}
	root := iam.Principal{Type: iam.Root, Account: "111122223333", UniqueID: "111122223333"}
	d, err := iam.NewDirectory(
		[]iam.Account{{ID: "111122223333"}},
		[]iam.UserInfo{{Principal: alice}},
		[]iam.AccessKey{{ID: "AKIA1", Secret: secret.NewString("s"), Active: true, Owner: alice}, {ID: "AKIA2", Owner: root}},
		[]iam.MFADevice{{Serial: "arn:aws:iam::111122223333:mfa/alice", Owner: alice}},
	)
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
	if _, err := iam.NewDirectory([]iam.Account{{ID: "1"}, {ID: "1"}}, nil, nil, nil); !errors.Is(err, iam.ErrDuplicate) {
		t.Errorf("duplicate account: %v", err)
	}
	if _, err := iam.NewDirectory([]iam.Account{{ID: "111122223333"}}, nil, []iam.AccessKey{{ID: "K", Owner: alice}}, nil); err == nil {
		t.Error("key with a missing owner accepted")
	}
	if _, err := iam.NewDirectory([]iam.Account{{ID: "111122223333"}}, nil, nil, []iam.MFADevice{{Serial: "s", Owner: root}}); err == nil {
		t.Error("MFA device owned by root accepted")
	}
}
