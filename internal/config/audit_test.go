package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/config"
)

// The audit trail's settings: defaults, values, refusals, and that a
// reload keeps the running ones.
func TestAuditSettings(t *testing.T) {
	c, err := config.Parse("x.yaml", []byte(minimal), ".", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := config.AuditConfig{SegmentMaxBytes: 64 << 20, SegmentMaxAge: 24 * time.Hour, RetainFor: 90 * 24 * time.Hour,
		RetainMaxBytes: 4 << 30, DigestInterval: time.Hour}
	if c.Audit != want {
		t.Fatalf("defaults: %+v", c.Audit)
	}
	set, err := config.Parse("x.yaml", []byte(minimal+`
audit:
  segment_max_mib: 8
  segment_max_age: 1h
  retain_for: 0s
  retain_max_mib: 0
  digest_interval: 5m
`), ".", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if want := (config.AuditConfig{SegmentMaxBytes: 8 << 20, SegmentMaxAge: time.Hour, DigestInterval: 5 * time.Minute}); set.Audit != want {
		t.Fatalf("set: %+v", set.Audit)
	}
	if changed := config.Running(c, set); len(changed) != 1 || changed[0] != "audit" || set.Audit != c.Audit {
		t.Errorf("a reload changing audit: %v, %+v", changed, set.Audit)
	}
	for src, want := range map[string]string{
		"audit: {segment_max_mib: 0}":                       "audit.segment_max_mib",
		"audit: {segment_max_mib: 5000}":                    "audit.segment_max_mib",
		"audit: {segment_max_age: 10s}":                     "audit.segment_max_age",
		"audit: {retain_for: 30m}":                          "audit.retain_for",
		"audit: {retain_max_mib: 100}":                      "audit.retain_max_mib", // under two 64 MiB segments
		"audit: {segment_max_mib: 8, retain_max_mib: 15}":   "audit.retain_max_mib",
		"audit: {retain_max_mib: -1}":                       "audit.retain_max_mib",
		"audit: {digest_interval: 30s}":                     "audit.digest_interval",
		"audit: {digest_interval: 48h}":                     "audit.digest_interval",
		"audit: {segment_max_mib: 8, retain_max_mib: 16}\n": "",
	} {
		_, err := config.Parse("x.yaml", []byte(minimal+src+"\n"), ".", noEnv)
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", src, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a problem at %s", src, err, want)
		}
	}
}
