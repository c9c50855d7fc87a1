package login

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/dpop"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/sts"
)

// Client ids of AWS's developer tools (signin-and-issuer.md section 1.2).
const (
	SameDevice  = "arn:aws:signin:::devtools/same-device"
	CrossDevice = "arn:aws:signin:::devtools/cross-device"
)

// Principal is who signed in: what the credentials are issued for. The
// Issuer fills Session with what it needs to issue again; login keeps it
// with the family and never reads it.
type Principal struct {
	ARN     string          `json:"arn"` // the idToken's sub
	ID      string          `json:"id"`  // unique id, for listing and revocation
	Session json.RawMessage `json:"session,omitempty"`
}

// Issuer issues what a token call answers with.
type Issuer interface {
	// Check reports whether p may still be issued credentials through
	// client for a session that started at since, for a call from
	// origin: an *Error with CredentialsChanged (revoked, password
	// changed) or InsufficientPermissions (signin:CreateOAuth2Token
	// denied), or another error.
	Check(ctx context.Context, p Principal, client string, since time.Time, origin sts.Origin) error
	// Credentials issues p's credentials, expiring at expires.
	Credentials(ctx context.Context, p Principal, expires time.Time) (sts.Credentials, error)
	// IDToken signs the idToken for p and client.
	IDToken(ctx context.Context, p Principal, client string) (secret.String, error)
}

// MACKeys are the HMAC keys refresh tokens are authenticated with
// (package keyring).
type MACKeys interface {
	ActiveMACKey() (uint32, []byte, error)
	// MACKey returns key id's; an error wrapping ErrUnknownKey if there
	// is no such key (any other error is a failure, not a verdict).
	MACKey(ctx context.Context, id uint32) ([]byte, error)
}

// ErrUnknownKey means no MAC key has the id a token names.
var ErrUnknownKey = errors.New("login: unknown MAC key")

// Options configure a Service. Zero durations take the defaults.
type Options struct {
	Store  storage.Records
	Keys   MACKeys
	Issuer Issuer
	Clock  clock.Clock
	Random io.Reader
	// CodeTTL is how long a same-device code may be redeemed (60 s,
	// security.md AUTHZ-12); CrossDeviceCodeTTL a cross-device one, which
	// a person copies into a terminal (5 minutes).
	CodeTTL, CrossDeviceCodeTTL time.Duration
	// CredentialsTTL is the life of the credentials each call issues (15
	// minutes, the most the clients accept: expiresIn <= 900).
	CredentialsTTL time.Duration
	// SessionMax caps a family from its sign-in (12 hours, as AWS).
	SessionMax time.Duration
	// Grace is how long the token a refresh replaced is still accepted,
	// answered with the current one (2 minutes).
	Grace time.Duration
}

// Service issues and redeems codes and refreshes families.
type Service struct{ o Options }

// New returns a Service.
func New(o Options) *Service {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.CodeTTL, time.Minute)
	def(&o.CrossDeviceCodeTTL, 5*time.Minute)
	def(&o.CredentialsTTL, 15*time.Minute)
	def(&o.SessionMax, 12*time.Hour)
	def(&o.Grace, 2*time.Minute)
	o.CredentialsTTL = min(o.CredentialsTTL, 15*time.Minute) // the clients accept expiresIn <= 900
	return &Service{o: o}
}

// Code is a refusal's stable code, as the clients read it
// (signin-and-issuer.md section 1.2).
type Code string

// Refusal codes.
const (
	TokenExpired            Code = "TOKEN_EXPIRED"
	AuthcodeExpired         Code = "AUTHCODE_EXPIRED"
	CredentialsChanged      Code = "USER_CREDENTIALS_CHANGED"
	InsufficientPermissions Code = "INSUFFICIENT_PERMISSIONS"
	InvalidRequest          Code = "INVALID_REQUEST"
)

// Error is a refused call. Msg is for the client; Reason is stable, for
// the audit event.
type Error struct {
	Code   Code
	Reason string
	Msg    string
	// Principal and Family, when known, say whose session a refusal
	// concerns, for the audit event (a replayed code or token).
	Principal Principal
	Family    string
}

func (e *Error) Error() string { return e.Msg }

func refuse(code Code, reason, msg string) *Error {
	return &Error{Code: code, Reason: reason, Msg: msg}
}

// Record kinds.
const (
	kindCode   = "login-code"
	kindFamily = "login-family"
)

// Grant is what a person consented to at /v1/authorize.
type Grant struct {
	Client      string    `json:"client"`
	RedirectURI string    `json:"redirect_uri"`
	Challenge   string    `json:"challenge"` // base64url(SHA-256(verifier)), unpadded
	Principal   Principal `json:"principal"`
	// SignedInAt is when the person proved who they are; the session cap
	// counts from it. MaxSession, if set, caps the session below
	// Options.SessionMax (a role's maximum session duration).
	SignedInAt time.Time     `json:"signed_in_at"`
	MaxSession time.Duration `json:"max_session,omitempty"`
}

type codeState struct {
	Grant  Grant  `json:"grant"`
	Used   bool   `json:"used,omitempty"`
	Family string `json:"family,omitempty"` // what its redemption created
}

// IssueCode stores g and returns its single-use code: 256 random bits.
func (s *Service) IssueCode(ctx context.Context, g Grant) (secret.String, error) {
	if g.Client != SameDevice && g.Client != CrossDevice {
		return secret.String{}, fmt.Errorf("login: client %q", g.Client)
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(g.Challenge); err != nil || len(b) != sha256.Size {
		return secret.String{}, errors.New("login: the code challenge is not an unpadded base64url SHA-256 digest")
	}
	raw := make([]byte, 32)
	if _, err := io.ReadFull(s.o.Random, raw); err != nil {
		return secret.String{}, err
	}
	code := base64.RawURLEncoding.EncodeToString(raw)
	ttl := s.o.CodeTTL
	if g.Client == CrossDevice {
		ttl = s.o.CrossDeviceCodeTTL
	}
	data, err := json.Marshal(codeState{Grant: g})
	if err != nil {
		return secret.String{}, err
	}
	now := s.o.Clock.Now()
	if err := s.o.Store.PutRecord(ctx, storage.Record{Kind: kindCode, ID: codeID(code), Data: data, Expires: now.Add(ttl), Version: 1}, now); err != nil {
		return secret.String{}, err
	}
	return secret.NewString(code), nil
}

func codeID(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// Tokens are what a token call answers with.
type Tokens struct {
	Credentials  sts.Credentials
	RefreshToken secret.String
	IDToken      secret.String // only for a code's redemption
	Principal    Principal
	// Family and Generation identify the refresh token, for the audit
	// trail (never the token itself).
	Family     string
	Generation uint32
	// Graced: the token given was the one replaced last, within the grace
	// window; the current one was given again.
	Graced bool
}

// Redemption is an authorization_code call.
type Redemption struct {
	Client, RedirectURI string
	Code, Verifier      secret.String
	Proof               dpop.Proof
	// Origin is where the call comes from (aws:SourceIp and the other
	// request keys of the permission check).
	Origin sts.Origin
}

// Redeem exchanges a code for a new family's first tokens. A code is used
// once: a second redemption fails and ends the family the first created
// (RFC 6749 section 4.1.2).
func (s *Service) Redeem(ctx context.Context, r Redemption) (Tokens, error) {
	if !verifier(r.Verifier.Reveal()) {
		return Tokens{}, refuse(InvalidRequest, "code_verifier_invalid", "codeVerifier must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~'.")
	}
	if r.Proof.JKT == "" || r.Proof.JTI == "" {
		return Tokens{}, refuse(InvalidRequest, "dpop_missing", "A DPoP proof is required.")
	}
	now := s.o.Clock.Now()
	var (
		st     codeState
		family string
	)
	for attempt := 0; ; attempt++ {
		rec, err := s.o.Store.GetRecord(ctx, kindCode, codeID(r.Code.Reveal()), now)
		if errors.Is(err, storage.ErrNotFound) {
			return Tokens{}, refuse(AuthcodeExpired, "code_unknown_or_expired", "The authorization code has expired or is not valid; sign in again.")
		}
		if err != nil {
			return Tokens{}, err
		}
		st = codeState{}
		if err := json.Unmarshal(rec.Data, &st); err != nil {
			return Tokens{}, err
		}
		if st.Used {
			return Tokens{}, s.replayed(ctx, st, r)
		}
		// The code is spent before anything else is checked: one
		// redemption of a code, whatever it proves (security.md TOKEN-08).
		if family, err = s.randomID(); err != nil {
			return Tokens{}, err
		}
		st.Used, st.Family = true, family
		if rec.Data, err = json.Marshal(st); err != nil {
			return Tokens{}, err
		}
		rec.Version++
		err = s.o.Store.PutRecord(ctx, rec, now)
		switch {
		case errors.Is(err, storage.ErrConflict) && attempt == 0:
			continue // a concurrent redemption won: this one is a replay
		case errors.Is(err, storage.ErrConflict):
			return Tokens{}, refuse(InvalidRequest, "code_reused", "The authorization code was already used.")
		case err != nil:
			return Tokens{}, err
		}
		break
	}
	g := st.Grant
	switch {
	case r.Client != g.Client:
		return Tokens{}, refuse(InvalidRequest, "code_client_mismatch", "The authorization code was issued to another client.")
	case r.RedirectURI != g.RedirectURI:
		return Tokens{}, refuse(InvalidRequest, "redirect_uri_mismatch", "redirectUri is not the one the authorization request named.")
	case !pkce(r.Verifier.Reveal(), g.Challenge):
		return Tokens{}, refuse(InvalidRequest, "code_verifier_mismatch", "codeVerifier does not match the authorization request's code challenge.")
	}
	if err := s.o.Issuer.Check(ctx, g.Principal, g.Client, g.SignedInAt, r.Origin); err != nil {
		return Tokens{}, err
	}
	limit := s.o.SessionMax
	if g.MaxSession > 0 && g.MaxSession < limit {
		limit = g.MaxSession
	}
	ends := g.SignedInAt.Add(limit)
	if !ends.After(now) {
		return Tokens{}, refuse(TokenExpired, "session_ended", "The sign-in session has ended; sign in again.")
	}
	keyID, _, err := s.o.Keys.ActiveMACKey()
	if err != nil {
		return Tokens{}, err
	}
	f := familyState{Client: g.Client, JKT: r.Proof.JKT, Principal: g.Principal, SignedInAt: g.SignedInAt, Ends: ends,
		Gen: 1, KeyID: keyID, RotatedAt: now}
	f.seen(r.Proof, now)
	// Everything is issued before the family is stored, so that a stored
	// family has been handed out.
	t, err := s.tokens(ctx, family, f, now)
	if err != nil {
		return Tokens{}, err
	}
	if t.IDToken, err = s.o.Issuer.IDToken(ctx, g.Principal, g.Client); err != nil {
		return Tokens{}, err
	}
	if err := s.put(ctx, family, f, 1, now); errors.Is(err, storage.ErrConflict) {
		// A replay of the code ended the family before it was stored.
		return Tokens{}, &Error{Code: InvalidRequest, Reason: "code_reused", Msg: msgCodeReused, Principal: g.Principal, Family: family}
	} else if err != nil {
		return Tokens{}, err
	}
	return t, nil
}

const msgCodeReused = "The authorization code was already used; the session it started has been ended."

// replayed answers a second redemption of a code. If it proves what the
// first had to (client, redirect URI, verifier), someone else may have
// redeemed first, and the session it started is ended (RFC 6749 section
// 4.1.2); a replay that proves less ends nothing, so that seeing a code
// is not enough to end a session.
func (s *Service) replayed(ctx context.Context, st codeState, r Redemption) error {
	g := st.Grant
	e := &Error{Code: InvalidRequest, Reason: "code_reused", Msg: "The authorization code was already used.", Principal: g.Principal, Family: st.Family}
	if r.Client != g.Client || r.RedirectURI != g.RedirectURI || !pkce(r.Verifier.Reveal(), g.Challenge) {
		return e
	}
	if err := s.revoke(ctx, st.Family, g.Principal, "code_reused"); err != nil {
		return err
	}
	e.Msg = msgCodeReused
	return e
}

// familyState is a refresh token family's record.
type familyState struct {
	Client     string    `json:"client"`
	JKT        string    `json:"jkt"`
	Principal  Principal `json:"principal"`
	SignedInAt time.Time `json:"signed_in_at"`
	Ends       time.Time `json:"ends"`
	Gen        uint32    `json:"gen"`
	KeyID      uint32    `json:"key_id"` // the MAC key of the current generation's token
	RotatedAt  time.Time `json:"rotated_at"`
	// Ended says why the family was ended early; "" while it lives.
	Ended string `json:"ended,omitempty"`
	// JTIs are the DPoP proofs seen, until they would be too old anyway:
	// per proof, 8 bytes of SHA-256(jti) and the Unix second (4 bytes,
	// big-endian) it is kept until, packed and base64-encoded, so that a
	// busy family's record stays small to read and write at each refresh.
	JTIs []byte `json:"jtis,omitempty"`
}

// jtiEntry is one packed proof.
const jtiEntry = 12

func jtiHash(jti string) [8]byte {
	sum := sha256.Sum256([]byte("keyless dpop jti\x00" + jti))
	return [8]byte(sum[:8])
}

// replayed reports whether the family saw jti, within its keeping.
func (f *familyState) replayed(jti string, now time.Time) bool {
	h := jtiHash(jti)
	for e := f.JTIs; len(e) >= jtiEntry; e = e[jtiEntry:] {
		if [8]byte(e[:8]) == h && int64(binary.BigEndian.Uint32(e[8:12])) > now.Unix() {
			return true
		}
	}
	return false
}

// maxJTIs bounds the proofs remembered per family; a family sees one
// every 15 minutes, a few more when processes race.
const maxJTIs = 64

// seen records a proof's jti, dropping those too old to be accepted and,
// beyond maxJTIs, the oldest.
func (f *familyState) seen(p dpop.Proof, now time.Time) {
	var kept []byte
	for e := f.JTIs; len(e) >= jtiEntry; e = e[jtiEntry:] {
		if int64(binary.BigEndian.Uint32(e[8:12])) > now.Unix() {
			kept = append(kept, e[:jtiEntry]...)
		}
	}
	// Entries are appended in order of arrival: the oldest go first.
	if n := len(kept)/jtiEntry - (maxJTIs - 1); n > 0 {
		kept = kept[n*jtiEntry:]
	}
	h := jtiHash(p.JTI)
	// Kept a second past the last instant dpop.Verify would take it.
	until := p.IssuedAt.Add(dpop.MaxSkew + time.Second).Unix()
	kept = append(kept, h[:]...)
	f.JTIs = binary.BigEndian.AppendUint32(kept, uint32(until))
}

func (s *Service) put(ctx context.Context, id string, f familyState, version int64, now time.Time) error {
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	// The record outlives the session by an hour, so that a refresh after
	// the cap is told so.
	return s.o.Store.PutRecord(ctx, storage.Record{Kind: kindFamily, ID: id, Owner: f.Principal.ID, Data: data,
		Expires: f.Ends.Add(time.Hour), Version: version}, now)
}

// tokens issues credentials and gives the family's current token.
func (s *Service) tokens(ctx context.Context, family string, f familyState, now time.Time) (Tokens, error) {
	expires := now.Add(s.o.CredentialsTTL)
	if f.Ends.Before(expires) {
		expires = f.Ends
	}
	creds, err := s.o.Issuer.Credentials(ctx, f.Principal, expires)
	if err != nil {
		return Tokens{}, err
	}
	key, err := s.o.Keys.MACKey(ctx, f.KeyID)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{Credentials: creds, RefreshToken: secret.NewString(refreshToken(key, f.KeyID, family, f.Gen)), Principal: f.Principal,
		Family: family, Generation: f.Gen}, nil
}

// RefreshRequest is a refresh_token call.
type RefreshRequest struct {
	Client string
	Token  secret.String
	Proof  dpop.Proof
	Origin sts.Origin // where the call comes from
}

// Refresh answers a refresh: the family's next generation, or within the
// grace window its current one again; a token older than that ends the
// family (reuse detection, RFC 9700 section 4.14.2).
func (s *Service) Refresh(ctx context.Context, r RefreshRequest) (Tokens, error) {
	if r.Proof.JKT == "" || r.Proof.JTI == "" {
		return Tokens{}, refuse(InvalidRequest, "dpop_missing", "A DPoP proof is required.")
	}
	family, gen, keyID, ok := parseRefreshToken(r.Token.Reveal())
	if !ok {
		return Tokens{}, refuse(TokenExpired, "refresh_token_invalid", msgSignInAgain)
	}
	key, err := s.o.Keys.MACKey(ctx, keyID)
	if errors.Is(err, ErrUnknownKey) {
		return Tokens{}, refuse(TokenExpired, "refresh_token_key_unknown", msgSignInAgain)
	}
	if err != nil {
		return Tokens{}, err
	}
	if subtle.ConstantTimeCompare([]byte(refreshToken(key, keyID, family, gen)), []byte(r.Token.Reveal())) != 1 {
		return Tokens{}, refuse(TokenExpired, "refresh_token_invalid", msgSignInAgain)
	}
	// Each lost compare-and-swap is another call's progress: a family has
	// as many racing refreshes as processes sharing its cache file.
	for range maxRaces {
		now := s.o.Clock.Now()
		rec, err := s.o.Store.GetRecord(ctx, kindFamily, family, now)
		if errors.Is(err, storage.ErrNotFound) {
			return Tokens{}, refuse(TokenExpired, "family_unknown", msgSignInAgain)
		}
		if err != nil {
			return Tokens{}, err
		}
		var f familyState
		if err := json.Unmarshal(rec.Data, &f); err != nil {
			return Tokens{}, err
		}
		switch {
		case f.Ended == "credentials_changed":
			return Tokens{}, refuse(CredentialsChanged, "family_ended_"+f.Ended, "The session was ended because the user's credentials changed or its sessions were revoked; sign in again.")
		case f.Ended != "":
			return Tokens{}, refuse(TokenExpired, "family_ended_"+f.Ended, msgSignInAgain)
		case r.Client != f.Client:
			return Tokens{}, refuse(InvalidRequest, "refresh_client_mismatch", "The refresh token was issued to another client.")
		case r.Proof.JKT != f.JKT:
			return Tokens{}, refuse(InvalidRequest, "dpop_key_mismatch", "The DPoP proof is not signed with the key the refresh token is bound to.")
		case !now.Before(f.Ends):
			return Tokens{}, refuse(TokenExpired, "session_ended", "The sign-in session has reached its maximum duration; sign in again.")
		}
		if f.replayed(r.Proof.JTI, now) {
			return Tokens{}, refuse(InvalidRequest, "dpop_replayed", "The DPoP proof was already used; make a new one for every call.")
		}
		if err := s.o.Issuer.Check(ctx, f.Principal, f.Client, f.SignedInAt, r.Origin); err != nil {
			var e *Error
			if errors.As(err, &e) && e.Code == CredentialsChanged {
				f.Ended = "credentials_changed"
				_ = s.put(ctx, family, f, rec.Version+1, now)
			}
			return Tokens{}, err
		}
		graced := false
		// Within the grace window either way of the rotation: nodes'
		// clocks differ a little.
		since := now.Sub(f.RotatedAt)
		switch {
		case gen == f.Gen:
			active, _, err := s.o.Keys.ActiveMACKey()
			if err != nil {
				return Tokens{}, err
			}
			f.Gen, f.KeyID, f.RotatedAt = f.Gen+1, active, now
		case gen+1 == f.Gen && since <= s.o.Grace && since >= -s.o.Grace:
			graced = true
		default:
			f.Ended = "refresh_token_reused"
			if err := s.put(ctx, family, f, rec.Version+1, now); errors.Is(err, storage.ErrConflict) {
				continue
			} else if err != nil {
				return Tokens{}, err
			}
			return Tokens{}, &Error{Code: TokenExpired, Reason: "refresh_token_reused", Principal: f.Principal, Family: family,
				Msg: "The refresh token was already replaced; the session has been ended. Sign in again."}
		}
		f.seen(r.Proof, now)
		// Issued before the new generation is stored, so that a stored
		// generation has been handed out (or its issuing failed first).
		t, err := s.tokens(ctx, family, f, now)
		if err != nil {
			return Tokens{}, err
		}
		t.Graced = graced
		if err := s.put(ctx, family, f, rec.Version+1, now); errors.Is(err, storage.ErrConflict) {
			continue // another refresh of this family won; look again
		} else if err != nil {
			return Tokens{}, err
		}
		return t, nil
	}
	return Tokens{}, errors.New("login: the family kept changing under the refresh")
}

const msgSignInAgain = "The refresh token is not valid or has expired; sign in again with aws login."

// maxRaces bounds the compare-and-swap retries of one call.
const maxRaces = 64

// revoke ends a family. One not stored yet (its redemption is still
// issuing) is stored ended, so that its redemption's store fails.
func (s *Service) revoke(ctx context.Context, family string, p Principal, why string) error {
	for range maxRaces {
		now := s.o.Clock.Now()
		rec, err := s.o.Store.GetRecord(ctx, kindFamily, family, now)
		if errors.Is(err, storage.ErrNotFound) {
			err = s.put(ctx, family, familyState{Principal: p, Ends: now.Add(s.o.SessionMax), Ended: why}, 1, now)
			if !errors.Is(err, storage.ErrConflict) {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		var f familyState
		if err := json.Unmarshal(rec.Data, &f); err != nil {
			return err
		}
		if f.Ended != "" {
			return nil
		}
		f.Ended = why
		if err := s.put(ctx, family, f, rec.Version+1, now); !errors.Is(err, storage.ErrConflict) {
			return err
		}
	}
	return errors.New("login: the family kept changing under its revocation")
}

func (s *Service) randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(s.o.Random, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// A refresh token is base64url(version 1 | key id | family | generation |
// HMAC-SHA256 of the rest under the key).
const (
	tokenVersion = 1
	familyLen    = 16
	tokenLen     = 1 + 4 + familyLen + 4 + sha256.Size
)

func refreshToken(key []byte, keyID uint32, family string, gen uint32) string {
	fb, _ := hex.DecodeString(family)
	b := make([]byte, 0, tokenLen)
	b = append(b, tokenVersion)
	b = binary.BigEndian.AppendUint32(b, keyID)
	b = append(b, fb...)
	b = binary.BigEndian.AppendUint32(b, gen)
	m := hmac.New(sha256.New, key)
	m.Write([]byte("keyless login refresh token\x00"))
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(b))
}

// parseRefreshToken reads a token's fields; its MAC is checked by
// recomputing the token.
func parseRefreshToken(t string) (family string, gen, keyID uint32, ok bool) {
	if len(t) != base64.RawURLEncoding.EncodedLen(tokenLen) {
		return "", 0, 0, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(t)
	if err != nil || len(b) != tokenLen || b[0] != tokenVersion {
		return "", 0, 0, false
	}
	keyID = binary.BigEndian.Uint32(b[1:5])
	family = hex.EncodeToString(b[5 : 5+familyLen])
	gen = binary.BigEndian.Uint32(b[5+familyLen : 9+familyLen])
	return family, gen, keyID, true
}

// verifier reports whether v is an RFC 7636 section 4.1 code verifier.
func verifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// pkce checks a verifier against an S256 challenge (RFC 7636 section
// 4.6; the CLI names the method SHA-256).
func pkce(v, challenge string) bool {
	sum := sha256.Sum256([]byte(v))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}
