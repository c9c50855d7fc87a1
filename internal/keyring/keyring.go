package keyring

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/kek"
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
	// LoginRefreshToken authenticates developer sign-in's refresh tokens
	// (a MAC key, MACKey).
	LoginRefreshToken Purpose = "login-refresh-token"
)

// ErrUnknownKey means no key with that id exists (or it was deleted).
var ErrUnknownKey = errors.New("keyring: unknown key")

// Options configure a Ring.
type Options struct {
	Store storage.MasterKeys
	// KEK seals the keys at rest: storage holds them only wrapped under
	// it (package kek). Required.
	KEK    *kek.Set
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
	o   Options
	kek atomic.Pointer[kek.Set]
	// resealPending: a re-seal for the current set did not finish.
	resealPending atomic.Bool

	mu     sync.RWMutex
	keys   map[uint32]*entry
	active uint32

	refreshMu   sync.Mutex
	lastRefresh time.Time
}

type entry struct {
	key      storage.MasterKey
	material secret.Bytes
	// stale: sealed under a previous key-encryption key.
	stale bool
	aeads map[Purpose]cipher.AEAD
	macs  map[Purpose][]byte
}

// ErrClearKey means a stored master key is not sealed: a keyless that
// predates sealing stored it in the clear. SealClearKeys seals it.
var ErrClearKey = errors.New("keyring: a master key is stored in the clear; seal it with `keyless keys seal`")

// Open loads the stored keys, creating the first one if there is none, and
// re-seals those sealed under a previous key-encryption key.
func Open(ctx context.Context, o Options) (*Ring, error) {
	if o.KEK == nil {
		return nil, errors.New("keyring: no key-encryption key")
	}
	if o.MinRefreshGap == 0 {
		o.MinRefreshGap = time.Second
	}
	r := &Ring{o: o, keys: map[uint32]*entry{}}
	r.kek.Store(o.KEK)
	if err := r.Refresh(ctx); err != nil {
		return nil, err
	}
	if r.activeID() == 0 {
		if _, err := r.Rotate(ctx); err != nil {
			return nil, fmt.Errorf("create the first master key: %w", err)
		}
	}
	if err := r.reseal(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// sealedFor is what a master key's sealed form authenticates besides the
// key: its purpose and id, so that no blob passes for another key.
func sealedFor(id uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte("keyless master key\x00"), id)
}

// unseal opens a stored key with the key-encryption keys of set.
func unseal(set *kek.Set, k storage.MasterKey) (secret.Bytes, bool, error) {
	m, state, err := set.Open(k.Sealed, sealedFor(k.ID))
	switch {
	case errors.Is(err, kek.ErrNotSealed) && len(k.Sealed) == 32:
		return secret.Bytes{}, false, fmt.Errorf("master key %d: %w", k.ID, ErrClearKey)
	case err != nil:
		return secret.Bytes{}, false, fmt.Errorf("master key %d: %w", k.ID, err)
	case len(m) != 32:
		return secret.Bytes{}, false, fmt.Errorf("master key %d has %d bytes, want 32", k.ID, len(m))
	}
	return secret.NewBytes(m), state == kek.SealedPrevious, nil
}

// Opens reports whether every stored key opens with set, and the first
// that does not.
func (r *Ring) Opens(ctx context.Context, set *kek.Set) error {
	stored, err := r.o.Store.ListMasterKeys(ctx)
	if err != nil {
		return fmt.Errorf("load master keys: %w", err)
	}
	for _, k := range stored {
		if _, _, err := unseal(set, k); err != nil {
			return err
		}
	}
	return nil
}

// KEK is the set of key-encryption keys in use.
func (r *Ring) KEK() *kek.Set { return r.kek.Load() }

// UseKEK makes set the key-encryption keys from now on (a reload), once
// every stored key opens with it, and re-seals the keys sealed under a
// previous one. If any key does not open, nothing changes.
func (r *Ring) UseKEK(ctx context.Context, set *kek.Set) error {
	if err := r.Opens(ctx, set); err != nil {
		return err
	}
	r.refreshMu.Lock()
	prev := r.kek.Swap(set)
	err := r.refreshLocked(ctx)
	if err != nil {
		r.kek.Store(prev) // nothing changed
	}
	r.refreshMu.Unlock()
	if err != nil {
		return err
	}
	return r.reseal(ctx)
}

// reseal re-wraps every key sealed under a previous key-encryption key
// under the current one. A key another node re-sealed first is left to it.
// It runs when the set changes (Open, UseKEK), and at maintenance only
// to finish one that failed, so that nodes part-way through a rollout of
// a new set do not re-seal back and forth.
func (r *Ring) reseal(ctx context.Context) error {
	set := r.kek.Load()
	r.mu.RLock()
	var stale []*entry
	for _, e := range r.keys {
		if e.stale {
			stale = append(stale, e)
		}
	}
	r.mu.RUnlock()
	if len(stale) == 0 {
		return nil
	}
	r.resealPending.Store(true) // until every stale key is re-sealed; Maintain retries
	for _, e := range stale {
		sealed, err := set.Seal(r.o.Random, e.material.Reveal(), sealedFor(e.key.ID))
		if err != nil {
			return err
		}
		err = r.o.Store.ResealMasterKey(ctx, e.key.ID, e.key.Sealed, sealed)
		if err != nil && !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("re-seal master key %d: %w", e.key.ID, err)
		}
	}
	r.resealPending.Store(false)
	r.o.Logger.Info("re-sealed master keys under the current key-encryption key", "keys", len(stale), "kek", set.Current.ID())
	return r.Refresh(ctx)
}

// SealClearKeys seals, under set's current key, the master keys that a
// keyless predating sealing stored in the clear, and returns how many it
// sealed. It is an operator's deliberate step (keyless keys seal): a
// running server refuses clear keys rather than adopt one it did not make.
func SealClearKeys(ctx context.Context, store storage.MasterKeys, set *kek.Set, random io.Reader) (int, error) {
	stored, err := store.ListMasterKeys(ctx)
	if err != nil {
		return 0, err
	}
	// A store that already holds a sealed key was made by a keyless that
	// seals: a clear key beside it was put there by someone else, and
	// sealing it would adopt a key they know.
	var clear []storage.MasterKey
	sealedID := uint32(0)
	for _, k := range stored {
		if _, _, err := unseal(set, k); errors.Is(err, ErrClearKey) {
			clear = append(clear, k)
		} else if _, _, err := kek.SealedWith(k.Sealed); err == nil {
			sealedID = k.ID
		}
	}
	if len(clear) > 0 && sealedID != 0 {
		return 0, fmt.Errorf("master key %d is sealed already, so the keys stored in the clear beside it were not made by keyless: refusing to adopt them", sealedID)
	}
	n := 0
	for _, k := range clear {
		sealed, err := set.Seal(random, k.Sealed, sealedFor(k.ID))
		if err != nil {
			return n, err
		}
		if err := store.ResealMasterKey(ctx, k.ID, k.Sealed, sealed); err != nil {
			return n, fmt.Errorf("seal master key %d: %w", k.ID, err)
		}
		n++
	}
	return n, nil
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
	set := r.kek.Load()
	r.mu.RLock()
	for _, k := range stored {
		material, stale, err := unseal(set, k)
		if err != nil {
			r.mu.RUnlock()
			return err
		}
		e := &entry{key: k, material: material, stale: stale, aeads: map[Purpose]cipher.AEAD{}, macs: map[Purpose][]byte{}}
		if old, ok := r.keys[k.ID]; ok && bytes.Equal(old.material.Reveal(), material.Reveal()) {
			e.aeads, e.macs = old.aeads, old.macs // derived keys do not change
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
	id := r.activeID()
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
	return derived(r, id, p, func(e *entry) map[Purpose]cipher.AEAD { return e.aeads }, derive)
}

// derived returns what derive makes of key id's material for p, made
// once per key and purpose and kept in the map of the entry that in picks.
func derived[T any](r *Ring, id uint32, p Purpose, in func(*entry) map[Purpose]T, derive func(secret.Bytes, Purpose) (T, error)) (T, error) {
	var zero T
	r.mu.RLock()
	e, ok := r.keys[id]
	var v T
	have := false
	if ok {
		v, have = in(e)[p]
	}
	r.mu.RUnlock()
	switch {
	case !ok:
		return zero, ErrUnknownKey
	case have:
		return v, nil
	}
	v, err := derive(e.material, p)
	if err != nil {
		return zero, err
	}
	r.mu.Lock()
	in(e)[p] = v
	r.mu.Unlock()
	return v, nil
}

// ActiveMACKey returns the active key's id and the HMAC-SHA256 key
// derived from it for purpose.
func (r *Ring) ActiveMACKey(p Purpose) (uint32, []byte, error) {
	id := r.activeID()
	if id == 0 {
		return 0, nil, ErrUnknownKey
	}
	k, err := r.mac(id, p)
	return id, k, err
}

// MACKey returns the HMAC-SHA256 key derived for purpose from key id,
// reloading the ring for an id this node has not seen, as Lookup does.
func (r *Ring) MACKey(ctx context.Context, id uint32, p Purpose) ([]byte, error) {
	if _, err := r.Lookup(ctx, id, p); err != nil {
		return nil, err
	}
	return r.mac(id, p)
}

func (r *Ring) mac(id uint32, p Purpose) ([]byte, error) {
	return derived(r, id, p, func(e *entry) map[Purpose][]byte { return e.macs }, deriveMAC)
}

// deriveMAC derives a MAC key, apart from the same purpose's AEAD key.
func deriveMAC(master secret.Bytes, p Purpose) ([]byte, error) {
	return hkdf.Key(sha256.New, master.Reveal(), nil, "keyless/mac/"+string(p), 32)
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
	sealed, err := r.kek.Load().Seal(r.o.Random, material, sealedFor(next))
	if err != nil {
		return storage.MasterKey{}, err
	}
	k := storage.MasterKey{ID: next, Sealed: sealed, CreatedAt: r.o.Clock.Now().UTC()}
	err = r.o.Store.RotateMasterKey(ctx, k, want)
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
		if err := r.Refresh(ctx); err != nil {
			return err
		}
	}
	if r.resealPending.Load() {
		return r.reseal(ctx)
	}
	return nil
}
