package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"github.com/keyless-dev/keyless/internal/password"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage/drivers"
	"github.com/keyless-dev/keyless/internal/totp"
)

// MaxFileSize bounds a configuration file (and a secret file) before
// parsing.
const MaxFileSize = 4 << 20

// Defaults.
const (
	DefaultAddr    = "127.0.0.1:8080"
	DefaultDataDir = "./data"
	DefaultRegion  = "us-east-1"
)

// Config is a loaded configuration, as domain values.
type Config struct {
	Addr        string
	DataDir     string
	TLSCertFile string
	TLSKeyFile  string
	// PublicURL is keyless's base URL as clients reach it, without a
	// trailing slash; see ResolvePublicURL.
	PublicURL string
	// publicURLSet: the file gave it (server.public_url, or the
	// deprecated exchange.endpoint), rather than the listen address.
	publicURLSet     bool
	AdminAddr        string
	AdminAllowRemote bool
	StorageDriver    string
	Regions          []string // empty: any
	Region           string
	LogLevel         slog.Level
	MFAMaxFailures   int
	MFALockoutWindow time.Duration
	KeyRotateEvery   time.Duration
	// KeyEncryption names where the key-encryption key comes from; the
	// server reads it (and may reload it) itself.
	KeyEncryption KeyEncryption
	// MinFreeBytes is the data directory's free-space watermark (0: off).
	MinFreeBytes int64
	// Refused limits each source's refused requests.
	Refused RefusedLimits
	// Audit shapes the audit trail.
	Audit AuditConfig
	// Identities are the accounts, users, roles, keys and devices the file
	// declares. Users and roles whose id the file does not pin have an
	// empty UniqueID, in the user and in every Owner that names them; the
	// caller assigns ids and binds trust policies to them.
	Identities iam.Contents
	// IdentityProviders admit workloads to the token exchange.
	IdentityProviders []exchange.Provider
	Exchange          ExchangeConfig
	SAML              SAMLConfig
	Issuer            IssuerConfig
	SignIn            SignInConfig
	Integrations      IntegrationsConfig
	// Notes are what `keyless config validate` and `keyless serve` say
	// about a valid file: deprecated keys and what replaces them.
	Notes []string
	// Digest is the SHA-256 of the file's bytes, as loaded.
	Digest string
}

// Load reads, decodes, validates and converts the file at path. Secrets
// named by *_env keys are looked up with lookupEnv; *_file paths are
// relative to the configuration file's directory. The error, if any, is a
// Problems listing everything wrong.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Problems{{File: path, Msg: err.Error(), Err: err}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, Problems{{File: path, Msg: err.Error(), Err: err}}
	}
	return Parse(path, data, filepath.Dir(path), lookupEnv)
}

// Parse is Load for bytes already read; name is used in messages.
func Parse(name string, data []byte, dir string, lookupEnv func(string) (string, bool)) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, Problems{{File: name, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize)}}
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, Problems{{File: name, Msg: "not valid YAML: " + err.Error()}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, Problems{{File: name, Pos: Pos{extra.Line, extra.Column}, Msg: "only one YAML document is allowed"}}
	}
	d := &decoder{file: name, pos: map[string]Pos{}}
	var file File
	d.decode(&root, reflect.ValueOf(&file).Elem(), "")
	// Validate what did decode, so that one run reports everything, but
	// say nothing more about fields that already failed to decode.
	v := &validator{decoder: d, dir: dir, env: lookupEnv, undecoded: map[string]bool{}, now: time.Now()}
	for _, p := range d.problems {
		v.undecoded[p.Field] = true
	}
	cfg := v.convert(&file)
	if len(d.problems) > 0 {
		return nil, d.problems
	}
	sum := sha256.Sum256(data)
	cfg.Digest = hex.EncodeToString(sum[:])
	return cfg, nil
}

type validator struct {
	*decoder
	dir       string
	env       func(string) (string, bool)
	undecoded map[string]bool
	idps      []exchange.Provider // the token exchange's, from every account
	upstreams []string            // hosts of the exchange's configured STS upstreams
	// now is when the file is loaded, for checking certificates' validity
	// (verification checks them again at its own time).
	now time.Time
}

// at records a problem at path, placed at the nearest recorded position.
func (v *validator) at(path, format string, args ...any) {
	for p := path; p != ""; p = parent(p) {
		if v.undecoded[p] {
			return
		}
	}
	p := path
	pos, ok := v.pos[p]
	for !ok && p != "" {
		p = parent(p)
		pos, ok = v.pos[p]
	}
	v.problems = append(v.problems, Problem{File: v.file, Pos: pos, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// parent strips the last ".key" or "[index]" from a field path.
func parent(p string) string {
	if i := strings.LastIndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return ""
}

func idx(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func (v *validator) convert(f *File) *Config {
	c := &Config{
		Addr:             or(f.Server.Addr, DefaultAddr),
		DataDir:          or(f.Server.DataDir, DefaultDataDir),
		TLSCertFile:      f.Server.TLSCertFile,
		TLSKeyFile:       f.Server.TLSKeyFile,
		Regions:          f.Server.Regions,
		Region:           or(f.Server.Region, DefaultRegion),
		MFAMaxFailures:   f.STS.MFAMaxFailures,
		MFALockoutWindow: f.STS.MFALockoutWindow,
		KeyRotateEvery:   30 * 24 * time.Hour,
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		v.at("server.addr", "must be host:port: %v", err)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		v.at("server", "tls_cert_file and tls_key_file must be set together")
	}
	c.AdminAddr, c.AdminAllowRemote = f.Server.AdminAddr, f.Server.AdminAllowRemote
	if c.AdminAddr != "" {
		if host, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
			v.at("server.admin_addr", "must be host:port: %v", err)
		} else if !IsLoopback(host) && !c.AdminAllowRemote {
			v.at("server.admin_addr", "must be a loopback address (127.0.0.1:PORT, [::1]:PORT, localhost:PORT) unless server.admin_allow_remote is true")
		}
	}
	c.StorageDriver = or(f.Storage.Driver, drivers.Default)
	if _, ok := drivers.Lookup(c.StorageDriver); !ok {
		v.at("storage.driver", "must be one of %s", strings.Join(drivers.Names(), ", "))
	}
	for i, r := range append(append([]string(nil), c.Regions...), c.Region) {
		if !IsRegion(r) {
			path := idx("server.regions", i)
			if i == len(c.Regions) {
				path = "server.region"
			}
			v.at(path, "%q is not a region name (lower-case letters, digits and hyphens)", r)
		}
	}
	switch strings.ToLower(or(f.Server.LogLevel, "info")) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		v.at("server.log_level", "must be debug, info, warn or error")
	}
	if c.MFAMaxFailures == 0 {
		c.MFAMaxFailures = 10
	} else if c.MFAMaxFailures < 1 || c.MFAMaxFailures > 1000 {
		v.at("sts.mfa_max_failures", "must be between 1 and 1000")
	}
	if c.MFALockoutWindow == 0 {
		c.MFALockoutWindow = 5 * time.Minute
	} else if c.MFALockoutWindow < time.Minute || c.MFALockoutWindow > 24*time.Hour {
		v.at("sts.mfa_lockout_window", "must be between 1m and 24h")
	}
	if f.Keys.RotateEvery != nil {
		c.KeyRotateEvery = *f.Keys.RotateEvery
		if c.KeyRotateEvery != 0 && c.KeyRotateEvery < time.Hour {
			v.at("keys.rotate_every", "must be 0s (never) or at least 1h")
		}
	}
	c.KeyEncryption = v.keyEncryption(f.Keys)
	c.MinFreeBytes = 256 << 20
	if m := f.Storage.MinFreeMiB; m != nil {
		if *m < 0 || *m > 1<<30 {
			v.at("storage.min_free_mib", "must be between 0 (off) and %d", 1<<30)
		}
		c.MinFreeBytes = *m << 20
	}
	c.Refused = v.refusedLimits(f.Limits)
	c.Audit = v.audit(f.Audit)
	c.Exchange = v.exchange(f.Exchange) // first: identity providers name its upstreams
	c.SAML = v.saml(f.SAML, c)
	v.publicURL(f, c)
	c.Issuer = v.issuer(f.Issuer, c)
	c.SignIn = v.signIn(f.SignIn)
	issuerNotes(c)
	c.Integrations = v.integrationDefaults(f.Integrations)
	c.Identities = v.identities(f.Accounts)
	for i, a := range f.Accounts {
		c.Integrations.Specs = append(c.Integrations.Specs, v.spaces(idx("accounts", i), a.ID, a.Spaces, f.Integrations)...)
	}
	c.IdentityProviders = v.idps
	v.checkSignInOIDC(c)
	return c
}

func (v *validator) identities(accounts []Account) iam.Contents {
	var out iam.Contents
	if len(accounts) == 0 {
		v.at("accounts", "at least one account is required")
	}
	seenAccount := map[string]bool{}
	issuerIDs := map[string]string{} // pinned account issuer ids, to their account
	seenAlias := map[string]string{} // aliases, to their account
	var rolePaths []string           // field path of each of out.Roles
	seenKey := map[string]string{}
	seenSerial := map[string]string{}
	for i, a := range accounts {
		path := idx("accounts", i)
		if !arn.IsAccountID(a.ID) {
			v.at(path+".id", "must be a 12-digit account id (quote it in YAML if it has leading zeros)")
		} else if seenAccount[a.ID] {
			v.at(path+".id", "account %s is declared twice", a.ID)
		}
		seenAccount[a.ID] = true
		switch {
		case a.Alias == "":
		case !isAlias(a.Alias) || arn.IsAccountID(a.Alias):
			// A 12-digit alias would read as another account's id at sign-in.
			v.at(path+".alias", "must be 3 to 63 lower-case letters, digits and hyphens, and not 12 digits")
		case seenAlias[a.Alias] != "":
			v.at(path+".alias", "%q is account %s's alias already: people sign in with it", a.Alias, seenAlias[a.Alias])
		default:
			seenAlias[a.Alias] = a.ID
		}
		if a.OutboundIssuerID != "" && (!outboundIssuerRE.MatchString(a.OutboundIssuerID) || !a.OutboundWebIdentityFederation) {
			v.at(path+".outbound_issuer_id", "must be 8 to 64 lower-case letters, digits and hyphens, with outbound_web_identity_federation: true")
		} else if owner := issuerIDs[a.OutboundIssuerID]; a.OutboundIssuerID != "" && owner != "" {
			v.at(path+".outbound_issuer_id", "%s is account %s's issuer id already: each account has an issuer of its own", a.OutboundIssuerID, owner)
		}
		if a.OutboundIssuerID != "" {
			issuerIDs[a.OutboundIssuerID] = a.ID
		}
		out.Accounts = append(out.Accounts, iam.Account{ID: a.ID, Alias: a.Alias, OutboundWebIdentityFederation: a.OutboundWebIdentityFederation,
			OutboundIssuerID: a.OutboundIssuerID})
		managed := map[string]policy.Named{}
		v.managedPolicies(path, a.ID, a.ManagedPolicies, managed)
		for _, mp := range managed {
			out.ManagedPolicies = append(out.ManagedPolicies, mp)
		}
		if a.Root != nil {
			root := iam.Principal{Type: iam.Root, Account: a.ID, UniqueID: a.ID}
			for j, k := range a.Root.AccessKeys {
				out.AccessKeys = append(out.AccessKeys, v.accessKey(idx(path+".root.access_keys", j), k, root, seenKey))
			}
		}
		seenUser := map[string]bool{}
		for j, u := range a.Users {
			upath := idx(path+".users", j)
			p := iam.Principal{Type: iam.User, Account: a.ID, Name: u.Name, Path: or(u.Path, "/"), UniqueID: u.ID}
			if !arn.IsName(u.Name) {
				v.at(upath+".name", "must be 1 to 64 characters of letters, digits and _+=,.@-")
			} else if seenUser[strings.ToLower(u.Name)] {
				v.at(upath+".name", "user %q is declared twice in account %s (IAM names are case-insensitive)", u.Name, a.ID)
			}
			seenUser[strings.ToLower(u.Name)] = true
			if !arn.IsPath(p.Path) {
				v.at(upath+".path", `must be "/" or "/segment/.../", at most 512 printable ASCII characters`)
			}
			if u.ID != "" && !isUniqueID(u.ID, "AIDA") {
				v.at(upath+".id", "must be AIDA followed by 16 to 124 upper-case letters and digits")
			}
			v.tags(upath+".tags", u.Tags)
			info := iam.UserInfo{Principal: p, Tags: u.Tags}
			if u.ConsolePassword != "" {
				if pw, err := password.Parse(u.ConsolePassword); err != nil {
					v.at(upath+".console_password", "must be an argon2id or bcrypt hash, as `keyless password hash` prints (%v)", err)
				} else {
					info.Password = &pw
				}
			}
			info.Policies, info.Boundary = v.attached(upath, "user/"+u.Name, u.Policies, u.ManagedPolicies, u.PermissionsBoundary, maxUserInlineChars, managed)
			out.Users = append(out.Users, info)
			for k, key := range u.AccessKeys {
				out.AccessKeys = append(out.AccessKeys, v.accessKey(idx(upath+".access_keys", k), key, p, seenKey))
			}
			for k, dev := range u.MFADevices {
				out.MFADevices = append(out.MFADevices, v.mfaDevice(idx(upath+".mfa_devices", k), dev, p, seenSerial))
			}
		}
		seenIssuer := map[string]bool{}
		var providers []iam.OIDCProvider
		for j, op := range a.OIDCProviders {
			if p, ok := v.oidcProvider(idx(path+".oidc_providers", j), a.ID, op, seenIssuer); ok {
				providers = append(providers, p)
			}
		}
		out.OIDCProviders = append(out.OIDCProviders, providers...)
		out.SAMLProviders = append(out.SAMLProviders, v.samlProviders(path+".saml_providers", a.ID, a.SAMLProviders)...)
		seenRole := map[string]bool{}
		for j, r := range a.Roles {
			rpath := idx(path+".roles", j)
			if seenRole[strings.ToLower(r.Name)] {
				v.at(rpath+".name", "role %q is declared twice in account %s (IAM names are case-insensitive)", r.Name, a.ID)
			}
			seenRole[strings.ToLower(r.Name)] = true
			role := v.role(rpath, a.ID, r, managed)
			v.scopedFederation(rpath, &role, providers)
			out.Roles = append(out.Roles, role)
			rolePaths = append(rolePaths, rpath)
		}
		v.idps = append(v.idps, v.identityProviders(path+".identity_providers", a.ID, a.IdentityProviders, providers, out.Roles)...)
	}
	// A sign-in page tries at most 8 providers for one issuer (the
	// accounts that trust one IdP); more would be skipped there.
	perIssuer := map[string]int{}
	for _, p := range out.SAMLProviders {
		if perIssuer[p.EntityID]++; perIssuer[p.EntityID] == maxProvidersPerIssuer+1 {
			v.at("accounts", "more than %d SAML providers have the entity ID %q; the sign-in pages try at most %d for one issuer",
				maxProvidersPerIssuer, p.EntityID, maxProvidersPerIssuer)
		}
	}
	// Trust policies may name principals of any account in the file.
	exists := map[string]bool{}
	for _, u := range out.Users {
		exists[strings.ToLower(u.ARN())] = true
	}
	for i := range out.Roles {
		exists[strings.ToLower(out.Roles[i].ARN())] = true
	}
	for i := range out.Roles {
		v.trustPrincipals(rolePaths[i], &out.Roles[i], seenAccount, exists)
	}
	return out
}

func (v *validator) accessKey(path string, k AccessKey, owner iam.Principal, seen map[string]string) iam.AccessKey {
	if !isAccessKeyID(k.ID) {
		v.at(path+".id", "must be AKIA followed by 12 to 124 upper-case letters and digits (temporary ASIA... ids cannot be configured)")
	} else if prev, dup := seen[k.ID]; dup {
		v.at(path+".id", "access key %s is already declared at %s", k.ID, prev)
	}
	seen[k.ID] = path
	s := v.secretValue(path, "secret", k.Secret, k.SecretFile, k.SecretEnv)
	if n := len(s.Reveal()); !s.IsZero() && (n < 16 || n > 128) {
		v.at(path+".secret", "must be 16 to 128 characters (AWS secrets are 40)")
	}
	active := true
	switch k.Status {
	case "", "Active":
	case "Inactive":
		active = false
	default:
		v.at(path+".status", "must be Active or Inactive")
	}
	return iam.AccessKey{ID: k.ID, Secret: s, Active: active, Owner: owner}
}

func (v *validator) mfaDevice(path string, m MFADevice, owner iam.Principal, seen map[string]string) iam.MFADevice {
	if !isSerial(m.Serial) {
		v.at(path+".serial", "must be 9 to 256 characters of letters, digits and _+=/:,.@-")
	} else if prev, dup := seen[m.Serial]; dup {
		v.at(path+".serial", "device %s is already declared at %s", m.Serial, prev)
	} else if a, err := arn.Parse(m.Serial); err == nil && (a.Service != "iam" || a.AccountID != owner.Account || !strings.HasPrefix(a.Resource, "mfa/")) {
		v.at(path+".serial", "a virtual MFA device ARN must be arn:aws:iam::%s:mfa/NAME", owner.Account)
	}
	seen[m.Serial] = path
	params := totp.Default()
	switch m.Algorithm {
	case "", "SHA1":
	case "SHA256":
		params.Algorithm = totp.SHA256
	case "SHA512":
		params.Algorithm = totp.SHA512
	default:
		v.at(path+".algorithm", "must be SHA1, SHA256 or SHA512")
	}
	if m.Period != 0 {
		if m.Period < 15*time.Second || m.Period > 5*time.Minute || m.Period%time.Second != 0 {
			v.at(path+".period", "must be whole seconds between 15s and 5m")
		}
		params.Period = m.Period
	}
	raw := v.secretValue(path, "seed", m.Seed, m.SeedFile, m.SeedEnv)
	var seed []byte
	if !raw.IsZero() {
		var err error
		seed, err = decodeBase32(raw.Reveal())
		switch {
		case err != nil:
			v.at(path+".seed", "must be base32 (A-Z, 2-7)")
		case len(seed) < 16:
			v.at(path+".seed", "must be at least 128 bits (26 base32 characters), RFC 4226 section 4")
		}
	}
	return iam.MFADevice{Serial: m.Serial, Seed: secret.NewBytes(seed), TOTP: params, Owner: owner}
}

// RefusedLimits is the per-source budget of requests that answer for
// nothing (file.go's Limits).
type RefusedLimits struct {
	PerSecond   float64
	Burst       int
	ReportEvery time.Duration
}

func (v *validator) refusedLimits(l Limits) RefusedLimits {
	out := RefusedLimits{PerSecond: 1, Burst: 30, ReportEvery: time.Minute}
	if l.RefusedPerSecond != nil {
		out.PerSecond = *l.RefusedPerSecond
		if out.PerSecond <= 0 || out.PerSecond > 1e6 {
			v.at("limits.refused_per_second", "must be more than 0 and at most 1000000")
		}
	}
	if l.RefusedBurst != nil {
		out.Burst = *l.RefusedBurst
		if out.Burst < 1 || out.Burst > 1e6 {
			v.at("limits.refused_burst", "must be between 1 and 1000000")
		}
	}
	if l.ReportEvery != 0 {
		out.ReportEvery = l.ReportEvery
		if out.ReportEvery < time.Second || out.ReportEvery > time.Hour {
			v.at("limits.report_every", "must be between 1s and 1h")
		}
	}
	return out
}

// AuditConfig shapes the audit trail (file.go's Audit).
type AuditConfig struct {
	SegmentMaxBytes int64
	SegmentMaxAge   time.Duration
	RetainFor       time.Duration // 0: forever
	RetainMaxBytes  int64         // 0: no limit
	DigestInterval  time.Duration
}

func (v *validator) audit(a Audit) AuditConfig {
	out := AuditConfig{SegmentMaxBytes: 64 << 20, SegmentMaxAge: 24 * time.Hour, RetainFor: 90 * 24 * time.Hour,
		RetainMaxBytes: 4 << 30, DigestInterval: time.Hour}
	if m := a.SegmentMaxMiB; m != nil {
		if *m < 1 || *m > 4096 {
			v.at("audit.segment_max_mib", "must be between 1 and 4096")
		}
		out.SegmentMaxBytes = *m << 20
	}
	if a.SegmentMaxAge != 0 {
		out.SegmentMaxAge = a.SegmentMaxAge
		if out.SegmentMaxAge < time.Minute || out.SegmentMaxAge > 30*24*time.Hour {
			v.at("audit.segment_max_age", "must be between 1m and 720h")
		}
	}
	if r := a.RetainFor; r != nil {
		out.RetainFor = *r
		if out.RetainFor != 0 && out.RetainFor < time.Hour {
			v.at("audit.retain_for", "must be 0s (forever) or at least 1h")
		}
	}
	if m := a.RetainMaxMiB; m != nil {
		out.RetainMaxBytes = *m << 20
		if *m < 0 || *m > 1<<30 || (*m != 0 && out.RetainMaxBytes < 2*out.SegmentMaxBytes) {
			v.at("audit.retain_max_mib", "must be 0 (no limit), or at least twice segment_max_mib (the open segment is never deleted) and at most %d", 1<<30)
		}
	}
	if a.DigestInterval != 0 {
		out.DigestInterval = a.DigestInterval
		if out.DigestInterval < time.Minute || out.DigestInterval > 24*time.Hour {
			v.at("audit.digest_interval", "must be between 1m and 24h")
		}
	}
	return out
}

// KeyEncryption names the sources of the key-encryption key: a file
// (absolute) or an environment variable, and the previous keys'.
type KeyEncryption struct {
	File, Env                   string
	PreviousFiles, PreviousEnvs []string
}

// Set reports whether the file names a key-encryption key.
func (k KeyEncryption) Set() bool { return k.File != "" || k.Env != "" }

// Equal reports whether k and o name the same sources.
func (k KeyEncryption) Equal(o KeyEncryption) bool {
	return k.File == o.File && k.Env == o.Env && slices.Equal(k.PreviousFiles, o.PreviousFiles) && slices.Equal(k.PreviousEnvs, o.PreviousEnvs)
}

func (v *validator) keyEncryption(k Keys) KeyEncryption {
	abs := func(p string) string {
		if p != "" && !filepath.IsAbs(p) {
			p = filepath.Join(v.dir, p)
		}
		return filepath.Clean(p)
	}
	out := KeyEncryption{Env: k.EncryptionKeyEnv, PreviousEnvs: k.PreviousEncryptionKeyEnvs}
	if k.EncryptionKeyFile != "" {
		out.File = abs(k.EncryptionKeyFile)
	}
	if out.File != "" && out.Env != "" {
		v.at("keys", "give at most one of encryption_key_file and encryption_key_env")
	}
	if !out.Set() && (len(k.PreviousEncryptionKeyFiles) > 0 || len(k.PreviousEncryptionKeyEnvs) > 0) {
		v.at("keys", "previous key-encryption keys need a current one (encryption_key_file or encryption_key_env)")
	}
	for i, p := range k.PreviousEncryptionKeyFiles {
		if p == "" {
			v.at(fmt.Sprintf("keys.previous_encryption_key_files[%d]", i), "must not be empty")
			continue
		}
		out.PreviousFiles = append(out.PreviousFiles, abs(p))
	}
	for i, e := range k.PreviousEncryptionKeyEnvs {
		if e == "" {
			v.at(fmt.Sprintf("keys.previous_encryption_key_envs[%d]", i), "must not be empty")
		}
	}
	return out
}

// secretValue resolves exactly one of an inline value, a file or an
// environment variable.
func (v *validator) secretValue(path, name, inline, file, env string) secret.String {
	n := 0
	for _, s := range []string{inline, file, env} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		v.at(path, "give exactly one of %s, %s_file or %s_env", name, name, name)
		return secret.String{}
	}
	switch {
	case file != "":
		if !filepath.IsAbs(file) {
			file = filepath.Join(v.dir, file)
		}
		f, err := os.Open(file)
		if err != nil {
			v.at(path+"."+name+"_file", "%v", err)
			return secret.String{}
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, 4096))
		if err != nil {
			v.at(path+"."+name+"_file", "%v", err)
			return secret.String{}
		}
		return secret.NewString(strings.TrimRight(string(b), "\r\n"))
	case env != "":
		s, ok := v.env(env)
		if !ok || s == "" {
			v.at(path+"."+name+"_env", "environment variable %s is not set", env)
			return secret.String{}
		}
		return secret.NewString(s)
	}
	return secret.NewString(inline)
}

// tags checks IAM tag rules: at most 50, keys 1..128 and values 0..256
// characters of [\p{L}\p{Z}\p{N}_.:/=+\-@], keys unique ignoring case and
// not starting with aws:.
func (v *validator) tags(path string, tags map[string]string) {
	if len(tags) > 50 {
		v.at(path, "at most 50 tags")
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lower := map[string]bool{}
	for _, k := range keys {
		val := tags[k]
		p := path + "[" + strconv.Quote(k) + "]"
		switch {
		case len([]rune(k)) < 1 || len([]rune(k)) > 128 || !credential.IsTagText(k):
			v.at(p, "tag keys must be 1 to 128 characters of letters, digits, spaces and _.:/=+-@")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			v.at(p, "tag keys starting with aws: are reserved")
		case lower[strings.ToLower(k)]:
			v.at(p, "tag keys are case-insensitive; this one is repeated")
		}
		lower[strings.ToLower(k)] = true
		if len([]rune(val)) > 256 || (val != "" && !credential.IsTagText(val)) {
			v.at(p, "tag values must be at most 256 characters of letters, digits, spaces and _.:/=+-@")
		}
	}
}

// IsRegion reports whether s looks like a region name.
func IsRegion(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isAlias(s string) bool {
	if len(s) < 3 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isUpperAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func isAccessKeyID(s string) bool {
	return len(s) >= 16 && len(s) <= 128 && strings.HasPrefix(s, "AKIA") && isUpperAlnum(s)
}

func isUniqueID(s, prefix string) bool {
	return len(s) >= 20 && len(s) <= 128 && strings.HasPrefix(s, prefix) && isUpperAlnum(s)
}

// isSerial checks serialNumberType: 9..256 of [\w+=/:,.@-].
func isSerial(s string) bool {
	return len(s) >= 9 && len(s) <= 256 && arn.IsSerialChars(s)
}

// decodeBase32 reads a TOTP seed the way authenticator apps write it:
// case-insensitive, spaces allowed, padding optional.
func decodeBase32(s string) ([]byte, error) {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	s = strings.TrimRight(s, "=")
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
