package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/config"
)

const minimalAccounts = "accounts:\n  - id: \"111122223333\"\n"

// TestPublicURL: the public URL is https, or http on loopback; it is
// derived from the listen address only where that names a URL clients can
// use; the deprecated keys still set it, under the same rules, with a note.
func TestPublicURL(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       string // PublicURL, or "" when refused
		problem    string // the field refused
	}{
		{"default loopback", "", "http://127.0.0.1:8080", ""},
		{"localhost", "server: {addr: 'localhost:9000'}\n", "http://localhost:9000", ""},
		{"explicit https with a path", "server: {public_url: 'https://sts.example.com/keyless/'}\n", "https://sts.example.com/keyless", ""},
		{"explicit http on loopback", "server: {public_url: 'http://[::1]:8080'}\n", "http://[::1]:8080", ""},
		{"TLS on a named host", "server: {addr: 'sts.example.com:8443', tls_cert_file: c.pem, tls_key_file: k.pem}\n", "https://sts.example.com:8443", ""},
		{"http on a non-loopback address", "server: {addr: '10.0.0.5:8080'}\n", "", "server.public_url"},
		{"every interface", "server: {addr: '0.0.0.0:8443', tls_cert_file: c.pem, tls_key_file: k.pem}\n", "", "server.public_url"},
		{"explicit http off loopback", "server: {public_url: 'http://sts.example.com'}\n", "", "server.public_url"},
		{"user information", "server: {public_url: 'https://user:pass@sts.example.com'}\n", "", "server.public_url"},
		{"query", "server: {public_url: 'https://sts.example.com/?a=b'}\n", "", "server.public_url"},
		{"empty host", "server: {public_url: 'https://:443'}\n", "", "server.public_url"},
		{"not a URL", "server: {public_url: 'sts.example.com'}\n", "", "server.public_url"},
		{"deprecated exchange.endpoint", "exchange: {endpoint: 'https://old.example.com'}\n", "https://old.example.com", ""},
		{"deprecated exchange.endpoint, http off loopback", "exchange: {endpoint: 'http://10.0.0.5:8080'}\n", "", "exchange.endpoint"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Parse("keyless.yaml", []byte(c.yaml+minimalAccounts), t.TempDir(), noEnv)
			if c.problem != "" {
				var ps config.Problems
				if !errors.As(err, &ps) || !strings.Contains(err.Error(), c.problem) {
					t.Fatalf("got %v, want a problem at %s", err, c.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.PublicURL != c.want {
				t.Errorf("PublicURL %q, want %q", cfg.PublicURL, c.want)
			}
		})
	}
	cfg, err := config.Parse("keyless.yaml", []byte("exchange: {endpoint: 'https://old.example.com'}\nsaml: {base_url: 'https://old.example.com'}\n"+minimalAccounts), ".", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Notes) != 2 || !strings.Contains(cfg.Notes[0], "exchange.endpoint is deprecated") || !strings.Contains(cfg.Notes[1], "saml.base_url is deprecated") {
		t.Errorf("notes %q", cfg.Notes)
	}
	// The listen address once bound (--addr 127.0.0.1:0).
	cfg, err = config.Parse("keyless.yaml", []byte(minimalAccounts), ".", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ResolvePublicURL("127.0.0.1:43123"); err != nil || cfg.PublicURL != "http://127.0.0.1:43123" {
		t.Errorf("resolved %q, %v", cfg.PublicURL, err)
	}
	if err := cfg.ResolvePublicURL("192.0.2.1:8080"); err == nil {
		t.Error("plain http on a non-loopback address resolved")
	}
}

// TestRunning: a reload keeps the running values of the settings that
// need a restart, and says which it would have changed.
func TestRunning(t *testing.T) {
	running, err := config.Parse("keyless.yaml", []byte("server: {addr: '127.0.0.1:8080'}\n"+minimalAccounts), ".", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	next, err := config.Parse("keyless.yaml", []byte("server: {addr: '127.0.0.1:9090', log_level: debug, region: eu-west-1}\n"+
		"storage: {driver: memory}\nexchange: {endpoint: 'https://new.example.com'}\n"+minimalAccounts), ".", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	changed := config.Running(running, next)
	want := "server.addr,server.public_url,exchange.endpoint,server.log_level,storage.driver"
	if strings.Join(changed, ",") != want {
		t.Errorf("changed %v, want %s", changed, want)
	}
	if next.Addr != running.Addr || next.PublicURL != running.PublicURL || next.ExchangeEndpoint() != running.ExchangeEndpoint() ||
		next.StorageDriver != running.StorageDriver || next.LogLevel != running.LogLevel {
		t.Errorf("running values not kept: %+v", next)
	}
	if next.Region != "eu-west-1" {
		t.Errorf("a reloadable setting was not taken: region %s", next.Region)
	}
}
