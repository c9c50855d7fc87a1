package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/storage"
)

// DigestVersion names the digest format, and separates its signatures
// from every other use of the key.
const DigestVersion = "keyless-audit-digest-v1"

// DigestBody is what a digest states, in the spirit of CloudTrail's digest
// files
// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html):
// the records FirstSeq to LastSeq were in the log, the last one's chain
// hash (which commits to every record before it) was LastHash, and the
// previous digest was the one whose body hashes to Previous. The body is
// stored as signed, as JSON; the signature is Ed25519 over DigestVersion,
// a zero byte and the body.
type DigestBody struct {
	Version string `json:"version"`
	// Digest numbers digests 1, 2, ...
	Digest  int64  `json:"digest"`
	Created string `json:"created"`
	// FirstSeq follows the previous digest's LastSeq (the first digest
	// starts at the log's first record).
	FirstSeq  int64  `json:"firstSeq"`
	LastSeq   int64  `json:"lastSeq"`
	FirstTime string `json:"firstTime"` // of record FirstSeq; empty if retention deleted it first
	LastTime  string `json:"lastTime"`  // of record LastSeq
	LastHash  string `json:"lastHash"`  // hex
	// Previous is the hex SHA-256 of the previous digest's body; empty
	// for the first.
	Previous string `json:"previousDigest"`
	// PublicKey is the hex SHA-256 of the signing key's PKIX form (what
	// `keyless audit public-key` prints, decoded from PEM).
	PublicKey string `json:"publicKeyFingerprint"`
}

func parseDigest(body []byte) (DigestBody, error) {
	var b DigestBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, fmt.Errorf("malformed digest: %w", err)
	}
	if b.Version != DigestVersion {
		return b, fmt.Errorf("digest version %q, not %q", b.Version, DigestVersion)
	}
	return b, nil
}

// signingInput is what a digest's signature covers.
func signingInput(body []byte) []byte {
	return append([]byte(DigestVersion+"\x00"), body...)
}

// DigestKeyName is the name the digests' signing key is stored under
// (storage.SealedKeys).
const DigestKeyName = "audit-digest-ed25519"

// digestKeyAAD binds the sealed key to its purpose (kek.Set.Seal).
var digestKeyAAD = []byte("keyless audit digest signing key: Ed25519 seed")

// DigestKey signs digests: one Ed25519 key per deployment, stored only
// sealed under the key-encryption key, its public half in the clear.
type DigestKey struct {
	priv        ed25519.PrivateKey
	sealed      []byte // as stored
	fingerprint string
}

// OpenDigestKey loads the deployment's digest key, creating it if no
// server has yet (storage.SealedKeys: the first to claim it wins). The
// stored public half must be the private half's.
func OpenDigestKey(ctx context.Context, keys storage.SealedKeys, set *kek.Set, random io.Reader) (*DigestKey, error) {
	pub, priv, err := ed25519.GenerateKey(random)
	if err != nil {
		return nil, err
	}
	sealed, err := set.Seal(random, priv.Seed(), digestKeyAAD)
	if err != nil {
		return nil, err
	}
	stored, err := keys.ClaimSealedKey(ctx, DigestKeyName, storage.SealedKey{Public: pub, Sealed: sealed})
	if err != nil {
		return nil, err
	}
	seed, _, err := set.Open(stored.Sealed, digestKeyAAD)
	if err != nil {
		return nil, fmt.Errorf("audit digest key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, errors.New("audit digest key: the sealed key is not an Ed25519 seed")
	}
	priv = ed25519.NewKeyFromSeed(seed)
	pub = priv.Public().(ed25519.PublicKey)
	if !bytes.Equal(pub, stored.Public) {
		return nil, errors.New("audit digest key: the stored public key is not the sealed private key's; it was altered")
	}
	k := &DigestKey{priv: priv, sealed: stored.Sealed, fingerprint: Fingerprint(pub)}
	if err := k.reseal(ctx, keys, set, random); err != nil {
		return nil, err
	}
	return k, nil
}

// reseal re-seals the stored key under set's current key-encryption key,
// if it is sealed under a previous one.
func (k *DigestKey) reseal(ctx context.Context, keys storage.SealedKeys, set *kek.Set, random io.Reader) error {
	if id, _, err := kek.SealedWith(k.sealed); err == nil && id == set.Current.ID() {
		return nil
	}
	sealed, err := set.Seal(random, k.priv.Seed(), digestKeyAAD)
	if err != nil {
		return err
	}
	err = keys.ResealKey(ctx, DigestKeyName, k.sealed, sealed)
	if errors.Is(err, storage.ErrConflict) {
		// Another server re-sealed it first.
		stored, err := keys.SealedKey(ctx, DigestKeyName)
		if err != nil {
			return err
		}
		k.sealed = stored.Sealed
		return nil
	}
	if err != nil {
		return err
	}
	k.sealed = sealed
	return nil
}

// sign makes the stored digest of b.
func (k *DigestKey) sign(b DigestBody) storage.AuditDigest {
	body, err := json.Marshal(b)
	if err != nil {
		panic("audit: encoding a digest: " + err.Error()) // strings and integers only
	}
	return storage.AuditDigest{Seq: b.Digest, Body: body, Signature: ed25519.Sign(k.priv, signingInput(body))}
}

// StoredPublicKey is the digest key's public half as stored beside the
// log: what `keyless audit public-key` prints, read without the
// key-encryption key. storage.ErrNotFound if no server made one yet.
func StoredPublicKey(ctx context.Context, keys storage.SealedKeys) (ed25519.PublicKey, error) {
	k, err := keys.SealedKey(ctx, DigestKeyName)
	if err != nil {
		return nil, err
	}
	if len(k.Public) != ed25519.PublicKeySize {
		return nil, errors.New("the stored audit digest public key is malformed")
	}
	return ed25519.PublicKey(k.Public), nil
}

// EncodePublicKey renders a digest key's public half as PEM ("PUBLIC
// KEY", PKIX).
func EncodePublicKey(pub ed25519.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic("audit: encoding an Ed25519 public key: " + err.Error())
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// ParsePublicKey reads what EncodePublicKey wrote.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM PUBLIC KEY block")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 public key", key)
	}
	return pub, nil
}

// Fingerprint is the hex SHA-256 of a public key's PKIX form.
func Fingerprint(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic("audit: encoding an Ed25519 public key: " + err.Error())
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// DigestKeyOpens reports whether the stored digest key (if there is one)
// opens with set: a reload that changes the key-encryption keys must
// leave every stored key openable.
func DigestKeyOpens(ctx context.Context, keys storage.SealedKeys, set *kek.Set) error {
	stored, err := keys.SealedKey(ctx, DigestKeyName)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, _, err := set.Open(stored.Sealed, digestKeyAAD); err != nil {
		return fmt.Errorf("audit digest key: %w", err)
	}
	return nil
}
