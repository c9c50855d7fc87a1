package fault

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/embedded"
	"github.com/keyless-dev/keyless/internal/storage/memory"
	"github.com/keyless-dev/keyless/test/internal/proc"
)

// A copy of the data directory (a backup, a snapshot) without the
// key-encryption key opens nothing: keyless will not start on it with
// another key, a development key or none, and the bytes it stores for the
// master keys neither open a session token the server issued nor seal one
// the server accepts. With the key, the copy serves.
func TestDataDirCopyWithoutKEK(t *testing.T) {
	n := newNode(t, quickstart)
	n.start()
	out, err := n.client(aliceKey, aliceSecret, "").GetSessionToken(context.Background(), &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	sess := out.Credentials
	who, err := n.client(aliceKey, aliceSecret, "").GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	aliceID := aws.ToString(who.UserId)
	n.stop()
	copyDir := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-a", n.dataDir, copyDir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}

	thief := newNode(t, quickstart) // another key-encryption key
	thief.dataDir = copyDir
	if err := thief.tryStart(); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("the copy with another key-encryption key: %v", err)
	}
	xdg := t.TempDir()
	_, errOut, code := keyless(t, "serve", "--config", quickstart, "--data-dir", copyDir, "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut, "no key-encryption key") {
		t.Fatalf("the copy without a key-encryption key: %d %s", code, errOut)
	}
	cmd := exec.Command(binary, "serve", "--dev", "--config", quickstart, "--data-dir", copyDir, "--addr", "127.0.0.1:0")
	cmd.Env = append(cmd.Environ(), "XDG_CONFIG_HOME="+xdg)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "not configured") {
		t.Fatalf("the copy in development mode: %v %s", err, out)
	}

	// What the copy stores for the master keys, taken as a key in every
	// way it could be (each 32-byte window), opens no token and seals none
	// the server accepts.
	ctx := context.Background()
	store, err := embedded.Open(ctx, copyDir, embedded.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := store.ListMasterKeys(ctx)
	if err != nil || len(stored) == 0 {
		t.Fatalf("stored keys: %v %v", stored, err)
	}
	deployment, err := store.ClaimID(ctx, "deployment", "unused")
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	var forged []string
	for _, k := range stored {
		// After the header (format and key-encryption key id, public),
		// every 32-byte window of the rest.
		id, _, err := kek.SealedWith(k.Sealed)
		if err != nil {
			t.Fatalf("key %d is not sealed: %v", k.ID, err)
		}
		for i := 5 + len(id); i+32 <= len(k.Sealed); i++ {
			ring := clearRing(t, k.ID, k.Sealed[i:i+32])
			sealer := credential.NewTokenSealer(ring, deployment, rand.Reader)
			if _, err := sealer.Open(ctx, aws.ToString(sess.AccessKeyId), aws.ToString(sess.SessionToken)); err == nil {
				t.Fatalf("stored bytes %d..%d of key %d open a session token", i, i+32, k.ID)
			}
			if i%8 == 0 { // a forged token for alice from some of them
				now := time.Now().UTC().Truncate(time.Second)
				f := credential.Session{IssuedAt: now, Expiration: now.Add(time.Hour), Issuer: credential.IssuerGetSessionToken,
					Principal: iam.Principal{Type: iam.User, Account: "111122223333", Name: "alice", Path: "/", UniqueID: aliceID}}
				tok, err := sealer.Issue(&f)
				if err != nil {
					t.Fatal(err)
				}
				forged = append(forged, f.AccessKeyID, f.Secret.Reveal(), tok.Reveal())
			}
		}
	}
	// Control: the same token sealed under the real master key (opened
	// with the key-encryption key) is accepted, so the refusals below are
	// the seal's alone.
	w, err := kek.Parse(secret.NewString(readFile(t, n.kekFile)))
	if err != nil {
		t.Fatal(err)
	}
	real := openRing(t, copyDir, &kek.Set{Current: w})
	now := time.Now().UTC().Truncate(time.Second)
	control := credential.Session{IssuedAt: now, Expiration: now.Add(time.Hour), Issuer: credential.IssuerGetSessionToken,
		Principal: iam.Principal{Type: iam.User, Account: "111122223333", Name: "alice", Path: "/", UniqueID: aliceID}}
	controlTok, err := credential.NewTokenSealer(real, deployment, rand.Reader).Issue(&control)
	if err != nil {
		t.Fatal(err)
	}
	n.start()
	if _, err := n.client(control.AccessKeyID, control.Secret.Reveal(), controlTok.Reveal()).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("control token sealed under the real key: %v", err)
	}
	for i := 0; i < len(forged); i += 3 {
		_, err := n.client(forged[i], forged[i+1], forged[i+2]).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if code, _ := proc.APICode(err); code != "InvalidClientTokenId" {
			t.Fatalf("a token forged from the copy's bytes: %v", err)
		}
	}
	// The genuine session still works, and so does the copy with the key.
	if _, err := n.client(aws.ToString(sess.AccessKeyId), aws.ToString(sess.SecretAccessKey), aws.ToString(sess.SessionToken)).
		GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("the genuine session: %v", err)
	}
	n.stop()
	owner := newNode(t, quickstart)
	owner.dataDir, owner.kekFile = copyDir, n.kekFile
	owner.start()
	if _, err := owner.client(aws.ToString(sess.AccessKeyId), aws.ToString(sess.SecretAccessKey), aws.ToString(sess.SessionToken)).
		GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("the copy with its key-encryption key: %v", err)
	}
}

// clearRing is a key ring whose key id holds material in the clear, as a
// thief would build one from stolen bytes.
func clearRing(t *testing.T, id uint32, material []byte) *keyring.Ring {
	t.Helper()
	ctx := context.Background()
	s := memory.New()
	if err := s.RotateMasterKey(ctx, storage.MasterKey{ID: id, Sealed: append([]byte(nil), material...), CreatedAt: time.Now()}, 0); err != nil {
		t.Fatal(err)
	}
	set, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.SealClearKeys(ctx, s, set, rand.Reader); err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Open(ctx, keyring.Options{Store: s, KEK: set, Clock: clock.System{}, Random: rand.Reader, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// openRing opens the key ring of a data directory with set.
func openRing(t *testing.T, dir string, set *kek.Set) *keyring.Ring {
	t.Helper()
	ctx := context.Background()
	store, err := embedded.Open(ctx, dir, embedded.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ring, err := keyring.Open(ctx, keyring.Options{Store: store, KEK: set, Clock: clock.System{}, Random: rand.Reader, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return ring
}
