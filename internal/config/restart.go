package config

import "time"

// restartOnly are the settings a running server cannot change: how it
// listens, where and in what it keeps its state, how it logs, how it
// rotates master keys, its per-source limits and its audit trail's shape.
// Each reads its value from a Config.
var restartOnly = []struct {
	key string
	get func(*Config) any
}{
	{"server.addr", func(c *Config) any { return c.Addr }},
	{"server.data_dir", func(c *Config) any { return c.DataDir }},
	{"server.tls_cert_file", func(c *Config) any { return c.TLSCertFile }},
	{"server.tls_key_file", func(c *Config) any { return c.TLSKeyFile }},
	{"server.public_url", func(c *Config) any {
		if !c.publicURLSet {
			return "" // derived from the address, reported there
		}
		return c.PublicURL
	}},
	// The deprecated aliases of the public URL, for the surfaces they
	// still override.
	{"exchange.endpoint", func(c *Config) any { return c.Exchange.Endpoint }},
	{"saml.base_url", func(c *Config) any { return c.SAML.BaseURL }},
	{"server.admin_addr", func(c *Config) any { return c.AdminAddr }},
	{"server.admin_allow_remote", func(c *Config) any { return c.AdminAllowRemote }},
	{"server.log_level", func(c *Config) any { return c.LogLevel }},
	{"storage.driver", func(c *Config) any { return c.StorageDriver }},
	{"keys.rotate_every", func(c *Config) any { return c.KeyRotateEvery }},
	{"limits", func(c *Config) any { return c.Refused }},
	{"audit", func(c *Config) any { return c.Audit }},
	{"issuer", func(c *Config) any { return c.Issuer }},
	{"integrations", func(c *Config) any {
		return [3]time.Duration{c.Integrations.CheckEvery, c.Integrations.MissingAfter, c.Integrations.AccessKeyMaxAge}
	}},
}

// Running keeps, in next, the values of running for every setting that
// needs a restart, and returns the keys of those next would have changed.
// The rest of next (identities, providers, policies, the exchange and
// SAML settings, regions and MFA limits) takes effect as it is.
func Running(running, next *Config) []string {
	var changed []string
	for _, s := range restartOnly {
		if s.get(running) != s.get(next) {
			changed = append(changed, s.key)
		}
	}
	next.Addr, next.DataDir, next.TLSCertFile, next.TLSKeyFile = running.Addr, running.DataDir, running.TLSCertFile, running.TLSKeyFile
	next.PublicURL, next.publicURLSet = running.PublicURL, running.publicURLSet
	next.Exchange.Endpoint, next.SAML.BaseURL = running.Exchange.Endpoint, running.SAML.BaseURL
	next.AdminAddr, next.AdminAllowRemote = running.AdminAddr, running.AdminAllowRemote
	next.LogLevel, next.StorageDriver, next.KeyRotateEvery = running.LogLevel, running.StorageDriver, running.KeyRotateEvery
	next.Refused = running.Refused
	next.Audit = running.Audit
	next.Issuer = running.Issuer
	next.Integrations.CheckEvery, next.Integrations.MissingAfter = running.Integrations.CheckEvery, running.Integrations.MissingAfter
	next.Integrations.AccessKeyMaxAge = running.Integrations.AccessKeyMaxAge
	return changed
}
