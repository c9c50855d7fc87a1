package app

import (
	"context"
	"crypto/rand"
	"log/slog"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/iam"
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

func loadDirectory(t *testing.T, deps Deps, yaml string) *iam.Directory {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml), ".", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	d, err := directory(context.Background(), cfg.Identities, deps)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDirectoryRoleIDs: roles get stored AROA ids that survive restarts,
// a role removed and added back is a new principal, and trust policies
// name users and roles by unique id (security.md AR-18).
func TestDirectoryRoleIDs(t *testing.T) {
	deps := Deps{Store: memory.New(), Random: rand.Reader, Logger: slog.New(slog.DiscardHandler)}
	d1 := loadDirectory(t, deps, directoryConfig)
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

	d2 := loadDirectory(t, deps, directoryConfig)
	if again, _ := d2.Role("111122223333", "Demo"); again.UniqueID != demo.UniqueID {
		t.Errorf("Demo's id changed across a restart: %s then %s", demo.UniqueID, again.UniqueID)
	}

	// Chain removed (and Demo's trust edited to match), then added back.
	without := strings.Replace(strings.Replace(directoryConfig, `"arn:aws:iam::111122223333:role/Chain",`, "", 1),
		"      - name: Chain\n", "      - name: Chain2\n", 1)
	loadDirectory(t, deps, without)
	d3 := loadDirectory(t, deps, directoryConfig)
	chain3, _ := d3.Role("111122223333", "Chain")
	if chain3.UniqueID == chain.UniqueID {
		t.Error("a role removed and added back kept its unique id")
	}
	demo3, _ := d3.Role("111122223333", "Demo")
	if demo3.Trust.AWSPrincipals()[1] != chain3.UniqueID {
		t.Errorf("trust not bound to the new Chain: %v", demo3.Trust.AWSPrincipals())
	}
}
