package identity_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/identity"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

// An account's issuer id is made once and kept; a pinned id replaces it;
// no id ever names two accounts' issuers.
func TestAccountIssuer(t *testing.T) {
	ctx := context.Background()
	ids := memory.New()
	a1, err := identity.AccountIssuer(ctx, ids, rand.Reader, "111122223333", "")
	if err != nil || len(a1) != 32 {
		t.Fatalf("%q %v", a1, err)
	}
	if again, err := identity.AccountIssuer(ctx, ids, rand.Reader, "111122223333", ""); err != nil || again != a1 {
		t.Errorf("made again: %q %v", again, err)
	}
	if b, err := identity.AccountIssuer(ctx, ids, rand.Reader, "444455556666", ""); err != nil || b == a1 {
		t.Errorf("another account's: %q %v", b, err)
	}
	if p, err := identity.AccountIssuer(ctx, ids, rand.Reader, "444455556666", "pinned-issuer"); err != nil || p != "pinned-issuer" {
		t.Errorf("pinned: %q %v", p, err)
	}
	for _, id := range []string{"pinned-issuer", a1} {
		if _, err := identity.AccountIssuer(ctx, ids, rand.Reader, "777788889999", id); err == nil || !strings.Contains(err.Error(), "account") {
			t.Errorf("account 777788889999 took the issuer id %s: %v", id, err)
		}
	}
}
