package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Sealer seals and opens secrets under the key-encryption keys (a
// kek.Set bound to a random source); Stale reports a sealed form made
// under a previous key-encryption key.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
	Stale(sealed []byte) bool
}

// keyName is where an integration's access key is stored, sealed.
func keyName(id, keyID string) string { return "integration-access-key/" + id + "/" + keyID }

// keyAAD binds a sealed access key to its place.
func keyAAD(name string) []byte { return []byte("keyless integration access key\x00" + name) }

// ErrNoSecret means an access key has no secret: neither the
// configuration nor storage has one.
var ErrNoSecret = errors.New("integration: the access key has no secret")

// storeKey keeps an access_key integration's secret sealed in storage:
// the configuration's, if it gives one (replacing a different stored
// one), else the stored one is opened. Access keys are thereby sealed at
// rest like every key keyless keeps, and the configuration (a file, an
// environment variable) needs the secret only once.
func (s *Service) storeKey(ctx context.Context, in *Integration) error {
	if in.Key == nil {
		return nil
	}
	name := keyName(in.ID, in.Key.ID)
	aad := keyAAD(name)
	if !in.Key.Secret.IsZero() {
		sealed, err := s.o.Sealer.Seal([]byte(in.Key.Secret.Reveal()), aad)
		if err != nil {
			return err
		}
		stored, err := s.o.Keys.ClaimSealedKey(ctx, name, storage.SealedKey{Public: []byte(in.Key.ID), Sealed: sealed})
		if err != nil {
			return fmt.Errorf("storing the access key of %s: %w", in.ARN(), err)
		}
		if bytes.Equal(stored.Sealed, sealed) {
			return nil
		}
		if plain, err := s.o.Sealer.Open(stored.Sealed, aad); err == nil && string(plain) == in.Key.Secret.Reveal() && !s.o.Sealer.Stale(stored.Sealed) {
			return nil
		}
		// A new secret for the key (or one sealed under a previous
		// key-encryption key): the configuration's replaces it.
		if err := s.o.Keys.ResealKey(ctx, name, stored.Sealed, sealed); err != nil && !errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("storing the access key of %s: %w", in.ARN(), err)
		}
		return nil
	}
	stored, err := s.o.Keys.SealedKey(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("integration %s: %w: give access_key %s's secret once (secret_file or secret_env); keyless then keeps it sealed",
			in.ARN(), ErrNoSecret, in.Key.ID)
	}
	if err != nil {
		return err
	}
	plain, err := s.o.Sealer.Open(stored.Sealed, aad)
	if err != nil {
		return fmt.Errorf("integration %s: the stored access key does not open: %w", in.ARN(), err)
	}
	k := *in.Key
	k.Secret = secret.NewString(string(plain))
	clear(plain)
	in.Key = &k
	if s.o.Sealer.Stale(stored.Sealed) {
		resealed, err := s.o.Sealer.Seal([]byte(k.Secret.Reveal()), aad)
		if err != nil {
			return err
		}
		if err := s.o.Keys.ResealKey(ctx, name, stored.Sealed, resealed); err != nil && !errors.Is(err, storage.ErrConflict) {
			return err
		}
	}
	return nil
}

// Reseal re-seals the declared integrations' stored access keys that are
// sealed under a previous key-encryption key (after a rotation of it).
func (s *Service) Reseal(ctx context.Context) error {
	var errs []error
	for _, in := range s.cur.Load().list {
		if in.Key == nil || in.Key.Secret.IsZero() {
			continue
		}
		name := keyName(in.ID, in.Key.ID)
		stored, err := s.o.Keys.SealedKey(ctx, name)
		if err != nil || !s.o.Sealer.Stale(stored.Sealed) {
			errs = append(errs, err)
			continue
		}
		sealed, err := s.o.Sealer.Seal([]byte(in.Key.Secret.Reveal()), keyAAD(name))
		if err == nil {
			err = s.o.Keys.ResealKey(ctx, name, stored.Sealed, sealed)
			if errors.Is(err, storage.ErrConflict) {
				err = nil // another node re-sealed it
			}
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
