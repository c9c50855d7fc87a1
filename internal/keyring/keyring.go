package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Purpose names what a derived key seals.
type Purpose string

// Purposes.
const (
	SessionToken Purpose = "session-token"
	// AuthorizationMessage seals the encoded messages of AccessDenied
	// answers (DecodeAuthorizationMessage).
	AuthorizationMessage Purpose = "authorization-message"
	// ExchangeChallenge seals the token exchange's challenges.
	ExchangeChallenge Purpose = "exchange-challenge"
)

// ErrUnknownKey means no key with that id exists (or it was deleted).
var ErrUnknownKey = errors.New("keyring: unknown key")

// Options configure a Ring.
type Options struct {
	Store  storage.MasterKeys
	Clock  clock.Clock
	Random io.Reader
	Logger *slog.Logger
	// Retain is how long a retired key is kept: at least the longest
	// lifetime of anything sealed under it, plus the refresh interval.
	Retain time.Duration
	// RotateEvery rotates the active key automatically once it is this old
	// (0: only on request).
	RotateEvery time.Duration
	// MinRefreshGap bounds how often an unknown key id triggers a reload.
	MinRefreshGap time.Duration
}

// Ring is the in-memory view of the stored keys.
type Ring struct {
	o Options

	mu     sync.RWMutex
	keys   map[uint32]*entry
	active uint32

	refreshMu   sync.Mutex
	lastRefresh time.Time
}

type entry struct {
	key   storage.MasterKey
	aeads map[Purpose]cipher.AEAD
}

// Open loads the stored keys, creating the first one if there is none.
func Open(ctx context.Context, o Options) (*Ring, error) {
	if o.MinRefreshGap == 0 {
		o.MinRefreshGap = time.Second
	}
	r := &Ring{o: o, keys: map[uint32]*entry{}}
	if err := r.Refresh(ctx); err != nil {
		return nil, err
	}
	if r.activeID() == 0 {
		if _, err := r.Rotate(ctx); err != nil {
			return nil, fmt.Errorf("create the first master key: %w", err)
		}
	}
	return r, nil
}

func (r *Ring) activeID() uint32 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.active
}

// Refresh reloads the keys from storage.
func (r *Ring) Refresh(ctx context.Context) error {
	r.refreshMu.Lock()
	defer r.refreshMu.Unlock()
	return r.refreshLocked(ctx)
}

func (r *Ring) refreshLocked(ctx context.Context) error {
	stored, err := r.o.Store.ListMasterKeys(ctx)
	if err != nil {
		return fmt.Errorf("load master keys: %w", err)
	}
	keys := make(map[uint32]*entry, len(stored))
	var active uint32
	r.mu.RLock()
	for _, k := range stored {
		if k.Material.Len() != 32 {
			r.mu.RUnlock()
			return fmt.Errorf("master key %d has %d bytes, want 32", k.ID, k.Material.Len())
		}
		e := &entry{key: k, aeads: map[Purpose]cipher.AEAD{}}
		if old, ok := r.keys[k.ID]; ok {
			e.aeads = old.aeads // derived keys do not change
		}
		keys[k.ID] = e
		if k.Active() {
			active = k.ID
		}
	}
	r.mu.RUnlock()
	r.mu.Lock()
	r.keys, r.active = keys, active
	r.mu.Unlock()
	r.lastRefresh = r.o.Clock.Now()
	return nil
}

// Active returns the active key's id and its AEAD for purpose.
func (r *Ring) Active(p Purpose) (uint32, cipher.AEAD, error) {
	r.mu.RLock()
	id := r.active
	r.mu.RUnlock()
	if id == 0 {
		return 0, nil, ErrUnknownKey
	}
	a, err := r.aead(id, p)
	return id, a, err
}

// Lookup returns the AEAD for purpose under key id. An id this node has not
// seen makes it reload from storage, at most once per MinRefreshGap.
func (r *Ring) Lookup(ctx context.Context, id uint32, p Purpose) (cipher.AEAD, error) {
	a, err := r.aead(id, p)
	if !errors.Is(err, ErrUnknownKey) {
		return a, err
	}
	r.refreshMu.Lock()
	if r.o.Clock.Now().Sub(r.lastRefresh) >= r.o.MinRefreshGap {
		if err := r.refreshLocked(ctx); err != nil {
			r.refreshMu.Unlock()
			return nil, err
		}
	}
	r.refreshMu.Unlock()
	return r.aead(id, p)
}

func (r *Ring) aead(id uint32, p Purpose) (cipher.AEAD, error) {
	r.mu.RLock()
	e, ok := r.keys[id]
	var a cipher.AEAD
	if ok {
		a = e.aeads[p]
	}
	r.mu.RUnlock()
	if !ok {
		return nil, ErrUnknownKey
	}
	if a != nil {
		return a, nil
	}
	a, err := derive(e.key.Material, p)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	e.aeads[p] = a
	r.mu.Unlock()
	return a, nil
}

func derive(master secret.Bytes, p Purpose) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, master.Reveal(), nil, "keyless/"+string(p), 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Rotate makes a new active key. If another node rotated first, Rotate
// returns that node's key instead of making a second one.
func (r *Ring) Rotate(ctx context.Context) (storage.MasterKey, error) {
	r.refreshMu.Lock()
	defer r.refreshMu.Unlock()
	if err := r.refreshLocked(ctx); err != nil {
		return storage.MasterKey{}, err
	}
	r.mu.RLock()
	want := r.active
	var next uint32 = 1
	for id := range r.keys {
		if id >= next {
			next = id + 1
		}
	}
	r.mu.RUnlock()
	material := make([]byte, 32)
	if _, err := io.ReadFull(r.o.Random, material); err != nil {
		return storage.MasterKey{}, err
	}
	k := storage.MasterKey{ID: next, Material: secret.NewBytes(material), CreatedAt: r.o.Clock.Now().UTC()}
	err := r.o.Store.RotateMasterKey(ctx, k, want)
	if err != nil && !errors.Is(err, storage.ErrConflict) {
		return storage.MasterKey{}, err
	}
	if rerr := r.refreshLocked(ctx); rerr != nil {
		return storage.MasterKey{}, rerr
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.active == 0 {
		return storage.MasterKey{}, ErrUnknownKey
	}
	return r.keys[r.active].key, nil
}

// Keys returns the keys as last loaded, oldest first, for display.
func (r *Ring) Keys() []storage.MasterKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]storage.MasterKey, 0, len(r.keys))
	for _, e := range r.keys {
		out = append(out, e.key)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Maintain reloads the keys, rotates the active one once it is RotateEvery
// old, and deletes keys retired for longer than Retain. Run it periodically.
func (r *Ring) Maintain(ctx context.Context) error {
	if err := r.Refresh(ctx); err != nil {
		return err
	}
	now := r.o.Clock.Now()
	r.mu.RLock()
	var rotate bool
	var prune []uint32
	for id, e := range r.keys {
		if e.key.Active() && r.o.RotateEvery > 0 && now.Sub(e.key.CreatedAt) >= r.o.RotateEvery {
			rotate = true
		}
		if !e.key.Active() && now.Sub(e.key.RetiredAt) > r.o.Retain {
			prune = append(prune, id)
		}
	}
	r.mu.RUnlock()
	if rotate {
		k, err := r.Rotate(ctx)
		if err != nil {
			return err
		}
		r.o.Logger.Info("rotated master key", "key_id", k.ID)
	}
	for _, id := range prune {
		if err := r.o.Store.DeleteMasterKey(ctx, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		r.o.Logger.Info("deleted retired master key", "key_id", id)
	}
	if len(prune) > 0 {
		return r.Refresh(ctx)
	}
	return nil
}
