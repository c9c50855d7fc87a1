package config_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/config"
)

const minimal = "accounts: [{id: '111122223333'}]\n"

// The key-encryption key's sources, the free-space watermark and the
// per-source limits: defaults, every type of value, and refusals.
func TestHardeningSettings(t *testing.T) {
	c, err := config.Parse("x.yaml", []byte(minimal), "/etc/keyless", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyEncryption.Set() || c.MinFreeBytes != 256<<20 ||
		c.Refused != (config.RefusedLimits{PerSecond: 1, Burst: 30, ReportEvery: time.Minute}) {
		t.Fatalf("defaults: %+v %d %+v", c.KeyEncryption, c.MinFreeBytes, c.Refused)
	}
	c, err = config.Parse("x.yaml", []byte(minimal+`
keys:
  encryption_key_file: kek
  previous_encryption_key_files: [/var/lib/old-kek]
  previous_encryption_key_envs: [OLD_KEK]
storage: {min_free_mib: 1024}
limits: {refused_per_second: 0.5, refused_burst: 10, report_every: 30s}
`), "/etc/keyless", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := config.KeyEncryption{File: filepath.Clean("/etc/keyless/kek"), PreviousFiles: []string{"/var/lib/old-kek"}, PreviousEnvs: []string{"OLD_KEK"}}
	if !c.KeyEncryption.Equal(want) || c.MinFreeBytes != 1<<30 || c.Refused != (config.RefusedLimits{PerSecond: 0.5, Burst: 10, ReportEvery: 30 * time.Second}) {
		t.Fatalf("set: %+v %d %+v", c.KeyEncryption, c.MinFreeBytes, c.Refused)
	}
	if c, err := config.Parse("x.yaml", []byte(minimal+"storage: {min_free_mib: 0}\nlimits: {refused_per_second: 3}\n"), ".", noEnv); err != nil ||
		c.MinFreeBytes != 0 || c.Refused.PerSecond != 3 {
		t.Fatalf("off and an integer rate: %+v %v", c, err)
	}
	for src, problem := range map[string]string{
		"keys: {encryption_key_file: a, encryption_key_env: B}":             "at most one of encryption_key_file and encryption_key_env",
		"keys: {previous_encryption_key_files: [a]}":                        "need a current one",
		"keys: {encryption_key_env: A, previous_encryption_key_envs: ['']}": "must not be empty",
		"storage: {min_free_mib: -1}":                                       "between 0 (off)",
		"storage: {min_free_mib: 1.5}":                                      "expected an integer",
		"limits: {refused_per_second: 0}":                                   "more than 0",
		"limits: {refused_per_second: .nan}":                                "expected a number",
		"limits: {refused_per_second: fast}":                                "expected a number",
		"limits: {refused_burst: 0}":                                        "between 1 and",
		"limits: {report_every: 2h}":                                        "between 1s and 1h",
		"limits: {refused_per_minute: 5}":                                   "refused_per_minute",
	} {
		_, err := config.Parse("x.yaml", []byte(minimal+src+"\n"), ".", noEnv)
		if err == nil || !strings.Contains(err.Error(), problem) {
			t.Errorf("%s: %v, want %q", src, err, problem)
		}
	}
}
