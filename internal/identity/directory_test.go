package identity_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/identity"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

const directoryConfig = `
accounts:
  - id: "111122223333"
    users:
      - name: alice
    roles:
      - name: Demo
        trust_policy: '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/alice","arn:aws:iam::111122223333:role/Chain","111122223333"]},"Action":"sts:AssumeRole"}}'
      - name: Chain
        trust_policy: '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}'
`

func loadDirectory(t *testing.T, store storage.IDs, yaml string) *iam.Directory {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml), ".", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	d, release, err := identity.Build(context.Background(), cfg.Identities, store, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := release(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDirectoryRoleIDs: roles get stored AROA ids that survive restarts,
// a role removed and added back is a new principal, and trust policies
// name users and roles by unique id (security.md AR-18).
func TestDirectoryRoleIDs(t *testing.T) {
	store := memory.New()
	d1 := loadDirectory(t, store, directoryConfig)
	demo, _ := d1.Role("111122223333", "Demo")
	chain, _ := d1.Role("111122223333", "Chain")
	alice, _ := d1.User("111122223333", "alice")
	if !strings.HasPrefix(demo.UniqueID, "AROA") || len(demo.UniqueID) != 21 || demo.UniqueID == chain.UniqueID {
		t.Fatalf("role ids %q, %q", demo.UniqueID, chain.UniqueID)
	}
	got := demo.Trust.AWSPrincipals()
	if want := []string{alice.UniqueID, chain.UniqueID, "111122223333"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("bound trust principals %v, want %v", got, want)
	}

	d2 := loadDirectory(t, store, directoryConfig)
	if again, _ := d2.Role("111122223333", "Demo"); again.UniqueID != demo.UniqueID {
		t.Errorf("Demo's id changed across a restart: %s then %s", demo.UniqueID, again.UniqueID)
	}

	// Chain removed (and Demo's trust edited to match), then added back.
	without := strings.Replace(strings.Replace(directoryConfig, `"arn:aws:iam::111122223333:role/Chain",`, "", 1),
		"      - name: Chain\n", "      - name: Chain2\n", 1)
	loadDirectory(t, store, without)
	d3 := loadDirectory(t, store, directoryConfig)
	chain3, _ := d3.Role("111122223333", "Chain")
	if chain3.UniqueID == chain.UniqueID {
		t.Error("a role removed and added back kept its unique id")
	}
	demo3, _ := d3.Role("111122223333", "Demo")
	if demo3.Trust.AWSPrincipals()[1] != chain3.UniqueID {
		t.Errorf("trust not bound to the new Chain: %v", demo3.Trust.AWSPrincipals())
	}
}

// A directory built but never put in force (a reload that failed later)
// releases nothing: the removed role keeps its id until a release.
func TestBuildReleasesOnlyWhenAsked(t *testing.T) {
	store := memory.New()
	ctx := context.Background()
	d1 := loadDirectory(t, store, directoryConfig)
	chain, _ := d1.Role("111122223333", "Chain")
	cfg, err := config.Parse("test.yaml", []byte(strings.Replace(strings.Replace(directoryConfig, `"arn:aws:iam::111122223333:role/Chain",`, "", 1),
		"      - name: Chain\n", "      - name: Chain2\n", 1)), ".", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	before := cfg.Identities.Roles[0].UniqueID
	if _, _, err := identity.Build(ctx, cfg.Identities, store, rand.Reader); err != nil {
		t.Fatal(err)
	}
	if cfg.Identities.Roles[0].UniqueID != before {
		t.Error("Build changed the configuration it was given")
	}
	d2 := loadDirectory(t, store, directoryConfig)
	if again, _ := d2.Role("111122223333", "Chain"); again.UniqueID != chain.UniqueID {
		t.Errorf("an unreleased role changed its id: %s then %s", chain.UniqueID, again.UniqueID)
	}
}

func TestRevoke(t *testing.T) {
	store := memory.New()
	ctx := context.Background()
	d := loadDirectory(t, store, directoryConfig)
	demo, _ := d.Role("111122223333", "Demo")
	alice, _ := d.User("111122223333", "alice")
	revs, err := identity.NewRevocations(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for arn, want := range map[string]string{
		"arn:aws:iam::111122223333:role/demo":  demo.UniqueID, // IAM names are case-insensitive
		"arn:aws:iam::111122223333:user/alice": alice.UniqueID,
	} {
		id, err := identity.Revoke(ctx, store, arn, at)
		if err != nil || id != want {
			t.Errorf("Revoke(%s) = %q, %v; want %q", arn, id, err, want)
		}
	}
	if !revs.Before(demo.UniqueID).IsZero() {
		t.Error("the cache saw the revocation before a refresh")
	}
	if err := revs.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if !revs.Before(demo.UniqueID).Equal(at) || !revs.Before(alice.UniqueID).Equal(at) {
		t.Errorf("after refresh: %v, %v", revs.Before(demo.UniqueID), revs.Before(alice.UniqueID))
	}
	for _, arn := range []string{"arn:aws:iam::111122223333:role/Nobody", "arn:aws:iam::111122223333:mfa/bob", "not an arn"} {
		if _, err := identity.Revoke(ctx, store, arn, at); err == nil {
			t.Errorf("Revoke(%s) succeeded", arn)
		}
	}
	if _, err := identity.Revoke(ctx, store, "arn:aws:iam::111122223333:role/Nobody", at); !errors.Is(err, identity.ErrUnknownPrincipal) {
		t.Errorf("unknown role: %v", err)
	}
}

// A pinned id is the one revocation finds, even when an id was stored for
// the same role before it was pinned (found in review: the revocation
// went to the stale id and reported success).
func TestPinnedIDIsRevoked(t *testing.T) {
	store := memory.New()
	ctx := context.Background()
	d := loadDirectory(t, store, directoryConfig)
	old, _ := d.Role("111122223333", "Demo")
	const pinned = "AROAPINNEDPINNEDPINN1"
	d = loadDirectory(t, store, strings.Replace(directoryConfig, "      - name: Demo\n", "      - name: Demo\n        id: "+pinned+"\n", 1))
	if demo, _ := d.Role("111122223333", "Demo"); demo.UniqueID != pinned || old.UniqueID == pinned {
		t.Fatalf("Demo's id %s (was %s)", demo.UniqueID, old.UniqueID)
	}
	id, err := identity.Revoke(ctx, store, "arn:aws:iam::111122223333:role/Demo", time.Now())
	if err != nil || id != pinned {
		t.Errorf("Revoke resolved %q, %v; want the pinned %s", id, err, pinned)
	}
}
