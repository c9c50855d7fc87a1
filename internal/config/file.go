package config

import "time"

// File is the shape of a keyless configuration file. The doc comments are
// the reference for each key; docs/configuration.md points here.
type File struct {
	Server   Server   `yaml:"server"`
	Storage  Storage  `yaml:"storage"`
	STS      STS      `yaml:"sts"`
	Keys     Keys     `yaml:"keys"`
	Audit    Audit    `yaml:"audit"`
	Limits   Limits   `yaml:"limits"`
	Exchange Exchange `yaml:"exchange"`
	SAML     SAML     `yaml:"saml"`
	Issuer   Issuer   `yaml:"issuer"`
	SignIn   SignIn   `yaml:"signin"`
	// Integrations are the deployment-wide settings of the integrations
	// declared under accounts[].spaces.
	Integrations Integrations `yaml:"integrations"`
	Accounts     []Account    `yaml:"accounts"`
}

// Server is how keyless listens and where it keeps state.
type Server struct {
	// Addr is host:port to listen on. Default 127.0.0.1:8080; the
	// --addr flag overrides it.
	Addr string `yaml:"addr"`
	// DataDir holds the embedded database. Default ./data; the
	// --data-dir flag overrides it.
	DataDir string `yaml:"data_dir"`
	// TLSCertFile and TLSKeyFile, when both set, make keyless serve HTTPS.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// PublicURL is keyless's externally visible base URL, from which
	// every absolute URL it writes is derived: credential documents, the
	// SAML sign-in URLs and recipients, and the OIDC issuer and sign-in
	// server to come. https, or http on a loopback address only; a path
	// is allowed (a reverse proxy's prefix), a query or fragment is not.
	// Default: http://ADDR (https://ADDR with TLS) from the address
	// keyless listens on, which must then be a loopback address or, with
	// TLS, a named one.
	PublicURL string `yaml:"public_url"`
	// AdminAddr, if set, is host:port of the admin listener: profiling
	// (net/http/pprof under /debug/pprof/) and POST /reload. Off by
	// default; a loopback address unless AdminAllowRemote.
	AdminAddr string `yaml:"admin_addr"`
	// AdminAllowRemote lets AdminAddr be a non-loopback address. The
	// admin listener has no authentication of its own: put it behind one.
	AdminAllowRemote bool `yaml:"admin_allow_remote"`
	// Regions lists the SigV4 signing regions accepted. Empty accepts any
	// well-formed region name, because clients pointed at a custom
	// endpoint sign with whatever region they are configured with.
	Regions []string `yaml:"regions"`
	// Region is the region reported in audit events for unsigned
	// requests. Default us-east-1.
	Region string `yaml:"region"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
}

// Storage chooses where keyless keeps its state.
type Storage struct {
	// Driver is embedded (the default: SQLite tables and an append-only
	// audit file in server.data_dir) or memory (nothing kept; tests and
	// demonstrations).
	Driver string `yaml:"driver"`
	// MinFreeMiB is the free-space watermark of the data directory's
	// filesystem, in MiB: below it keyless stops issuing (503
	// ServiceUnavailable) and reports unready, so that the audit trail
	// never runs out of room mid-write. Default 256; 0 turns it off.
	MinFreeMiB *int64 `yaml:"min_free_mib"`
}

// Audit shapes the audit trail of the embedded storage driver: the log's
// segments, how long they are kept, and how often a signed digest of it
// is made (docs/operations.md). Changes need a restart.
type Audit struct {
	// SegmentMaxMiB closes the log's open segment once it holds this many
	// MiB; closed segments are compressed. Default 64.
	SegmentMaxMiB *int64 `yaml:"segment_max_mib"`
	// SegmentMaxAge closes the open segment once its events span this
	// long. Default 24h.
	SegmentMaxAge time.Duration `yaml:"segment_max_age"`
	// RetainFor deletes closed segments once they closed this long ago;
	// each deletion is recorded in the trail first. Default 2160h (90
	// days); 0s keeps them forever.
	RetainFor *time.Duration `yaml:"retain_for"`
	// RetainMaxMiB deletes the oldest closed segments while the log takes
	// more than this many MiB on disk. Default 4096 (4 GiB); 0 means no
	// limit.
	RetainMaxMiB *int64 `yaml:"retain_max_mib"`
	// DigestInterval is how often a digest of the new events is signed
	// (and once more when the server stops). Default 1h.
	DigestInterval time.Duration `yaml:"digest_interval"`
}

// STS tunes the token service.
type STS struct {
	// MFAMaxFailures is how many wrong MFA codes one device may see in one
	// lockout window before every attempt is refused until the window
	// ends. Default 10.
	MFAMaxFailures int `yaml:"mfa_max_failures"`
	// MFALockoutWindow is the length of that window. Default 5m.
	MFALockoutWindow time.Duration `yaml:"mfa_lockout_window"`
}

// Limits bound what a source that does not authenticate can cost. Every
// request is audited (about a kilobyte each), so each source address (an
// IPv6 /64) has a budget that every audited request spends unless it was
// signed by a caller of this deployment who passed every check, or was
// issued credentials: refusals, 503s and unauthenticated requests that
// issue nothing. Past it, its requests are answered Throttling and
// recorded as one aggregated event per source and ReportEvery.
type Limits struct {
	// RefusedPerSecond is the budget's sustained rate. Default 1.
	RefusedPerSecond *float64 `yaml:"refused_per_second"`
	// RefusedBurst is the budget's size. Default 30.
	RefusedBurst *int `yaml:"refused_burst"`
	// ReportEvery is the interval of the aggregated events. Default 1m.
	ReportEvery time.Duration `yaml:"report_every"`
}

// Keys tunes the master keys that seal session tokens, and names the
// key-encryption key that seals them at rest.
type Keys struct {
	// RotateEvery rotates the active key once it is this old. Default
	// 720h (30 days); 0s disables automatic rotation.
	RotateEvery *time.Duration `yaml:"rotate_every"`
	// EncryptionKeyFile is a file, outside data_dir and readable by its
	// owner only, holding the key-encryption key (`keyless keys
	// encryption-key FILE` makes one). EncryptionKeyEnv names an
	// environment variable holding it instead. One of them is required
	// outside development mode (serve --dev).
	EncryptionKeyFile string `yaml:"encryption_key_file"`
	EncryptionKeyEnv  string `yaml:"encryption_key_env"`
	// PreviousEncryptionKeyFiles and PreviousEncryptionKeyEnvs are earlier
	// key-encryption keys: keys sealed under them are re-sealed under the
	// current one at start and reload, after which they can go.
	PreviousEncryptionKeyFiles []string `yaml:"previous_encryption_key_files"`
	PreviousEncryptionKeyEnvs  []string `yaml:"previous_encryption_key_envs"`
}

// Account is an AWS-style account and the identities in it.
type Account struct {
	// ID is the 12-digit account id. Quote it in YAML if it has leading
	// zeros.
	ID    string `yaml:"id"`
	Alias string `yaml:"alias"`
	// Root holds the account root user's access keys, if any. AWS advises
	// against root access keys; keyless supports them for compatibility.
	Root  *Root  `yaml:"root"`
	Users []User `yaml:"users"`
	Roles []Role `yaml:"roles"`
	// ManagedPolicies are customer managed policies, declared once and
	// attached to users and roles by ARN
	// (arn:aws:iam::ACCOUNT:policy/PATH/NAME).
	ManagedPolicies []ManagedPolicy `yaml:"managed_policies"`
	// OIDCProviders are the identity providers roles of this account may
	// trust for AssumeRoleWithWebIdentity.
	OIDCProviders []OIDCProvider `yaml:"oidc_providers"`
	// IdentityProviders admit workloads to the token exchange
	// (POST /SecureTokenService/ExchangeExternalToken, /v1/token): each
	// matches proofs from one issuer and grants a role of this account.
	IdentityProviders []IdentityProvider `yaml:"identity_providers"`
	// SAMLProviders are the SAML identity providers roles of this account
	// may trust for AssumeRoleWithSAML.
	SAMLProviders []SAMLProvider `yaml:"saml_providers"`
	// OutboundWebIdentityFederation lets the account's principals get
	// tokens from keyless's issuer with GetWebIdentityToken, as AWS's
	// EnableOutboundWebIdentityFederation does. The account gets an
	// issuer of its own (ISSUER/tokens/ID, printed by `keyless token
	// --issuer`), stable across restarts. Default false: the call is
	// refused with OutboundWebIdentityFederationDisabledException.
	OutboundWebIdentityFederation bool `yaml:"outbound_web_identity_federation"`
	// OutboundIssuerID pins the id in the account's issuer URL (8 to 64
	// lower-case letters, digits and hyphens), for a configuration that
	// must name that issuer itself, such as the quickstart's. Leave it out
	// and keyless makes a random one, kept across restarts.
	OutboundIssuerID string `yaml:"outbound_issuer_id"`
	// Spaces are tenants' namespaces in the account, each with the
	// integrations that reach other accounts (docs/integrations.md).
	Spaces []Space `yaml:"spaces"`
}

// ManagedPolicy is a customer managed policy. Give the IAM JSON policy
// document in exactly one of document or document_file; at most 6144
// characters other than white space.
type ManagedPolicy struct {
	Name         string `yaml:"name"`
	Path         string `yaml:"path"`
	Description  string `yaml:"description"`
	Document     string `yaml:"document"`
	DocumentFile string `yaml:"document_file"`
}

// InlinePolicy is a policy embedded in one user or role. Give the document
// in exactly one of document or document_file.
type InlinePolicy struct {
	Name         string `yaml:"name"`
	Document     string `yaml:"document"`
	DocumentFile string `yaml:"document_file"`
}

// Role is an IAM role.
type Role struct {
	Name string `yaml:"name"`
	// Path is the IAM path, "/" by default. It appears in the role's ARN
	// but not in its sessions' ARNs.
	Path string `yaml:"path"`
	// ID pins the role's unique id (AROA...). Leave it out and keyless
	// assigns one, stored; a role removed and added again gets a new one,
	// so trust in it does not carry over.
	ID          string `yaml:"id"`
	Description string `yaml:"description"`
	// TrustPolicy is the role's trust policy (IAM JSON; sts actions only;
	// at most 4096 characters other than white space). Give exactly one
	// of trust_policy or trust_policy_file.
	TrustPolicy     string `yaml:"trust_policy"`
	TrustPolicyFile string `yaml:"trust_policy_file"`
	// BroadTrustIntended must be true for a trust policy that, without a
	// condition, trusts every principal, every principal of another
	// account, or every identity of an identity provider; keyless refuses
	// such a policy otherwise.
	BroadTrustIntended bool `yaml:"broad_trust_intended"`
	// Policies are inline permission policies (together at most 10240
	// characters other than white space).
	Policies []InlinePolicy `yaml:"policies"`
	// ManagedPolicies are ARNs of managed policies of the same account,
	// at most 20.
	ManagedPolicies []string `yaml:"managed_policies"`
	// PermissionsBoundary is the ARN of a managed policy that caps the
	// role's permissions.
	PermissionsBoundary string `yaml:"permissions_boundary"`
	// MaxSessionDuration is between 1h (the default) and 12h.
	MaxSessionDuration time.Duration     `yaml:"max_session_duration"`
	Tags               map[string]string `yaml:"tags"`
}

// Root is the account root user.
type Root struct {
	AccessKeys []AccessKey `yaml:"access_keys"`
}

// User is an IAM user.
type User struct {
	Name string `yaml:"name"`
	// Path is the IAM path, "/" by default.
	Path string `yaml:"path"`
	// ID pins the user's unique id (AIDA...). Leave it out and keyless
	// assigns one, stored so that it survives restarts; a user removed and
	// added again gets a new one.
	ID         string            `yaml:"id"`
	Tags       map[string]string `yaml:"tags"`
	AccessKeys []AccessKey       `yaml:"access_keys"`
	MFADevices []MFADevice       `yaml:"mfa_devices"`
	// Policies are inline permission policies (together at most 2048
	// characters other than white space).
	Policies []InlinePolicy `yaml:"policies"`
	// ManagedPolicies are ARNs of managed policies of the same account,
	// at most 20.
	ManagedPolicies []string `yaml:"managed_policies"`
	// PermissionsBoundary is the ARN of a managed policy that caps the
	// user's permissions.
	PermissionsBoundary string `yaml:"permissions_boundary"`
	// ConsolePassword lets the user sign in on keyless's sign-in pages:
	// an argon2id or bcrypt hash (`keyless password hash` makes one).
	// Changing it ends the user's sign-in sessions.
	ConsolePassword string `yaml:"console_password"`
}

// AccessKey is a long-term access key. Give the secret in exactly one of
// secret (inline, for development), secret_file or secret_env.
type AccessKey struct {
	ID         string `yaml:"id"`
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	SecretEnv  string `yaml:"secret_env"`
	// Status is Active (default) or Inactive.
	Status string `yaml:"status"`
}

// MFADevice is a virtual (TOTP) MFA device. Give its base32 seed in exactly
// one of seed, seed_file or seed_env.
type MFADevice struct {
	// Serial is the device's serial number, usually
	// arn:aws:iam::ACCOUNT:mfa/NAME.
	Serial   string `yaml:"serial"`
	Seed     string `yaml:"seed"`
	SeedFile string `yaml:"seed_file"`
	SeedEnv  string `yaml:"seed_env"`
	// Algorithm is SHA1 (default, what authenticator apps use), SHA256 or
	// SHA512. Codes are always 6 digits, the length STS accepts.
	Algorithm string `yaml:"algorithm"`
	// Period is the TOTP time step. Default 30s.
	Period time.Duration `yaml:"period"`
}
