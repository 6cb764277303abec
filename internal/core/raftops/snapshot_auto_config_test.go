package raftops

import (
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestAutoConfigValidation(t *testing.T) {
	dir := t.TempDir()
	base := func() map[string]any {
		return map[string]any{"interval": "1h", "path_prefix": dir, "storage_type": "local"}
	}
	with := func(k string, v any) map[string]any {
		m := base()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	s3 := map[string]any{"interval": 60, "path_prefix": "p/", "storage_type": "aws-s3", "aws_s3_bucket": "b", "aws_s3_region": "r"}
	cases := []struct {
		name string
		raw  map[string]any
		ok   bool
	}{
		{"local", base(), true},
		{"integer seconds", with("interval", 30), true},
		{"no interval", with("interval", nil), false},
		{"zero interval", with("interval", 0), false},
		{"relative directory", with("path_prefix", "snaps"), false},
		{"no path", with("path_prefix", nil), false},
		{"zero retain", with("retain", 0), false},
		{"file prefix with slash", with("file_prefix", "a/b"), false},
		{"hidden file prefix", with("file_prefix", ".x"), false},
		{"negative space", with("local_max_space", -1), false},
		{"no storage type", with("storage_type", nil), false},
		{"azure", with("storage_type", "azure-blob"), false},
		{"s3", s3, true},
		{"s3 without bucket", func() map[string]any { m := cloneMap(s3); delete(m, "aws_s3_bucket"); return m }(), false},
		{"s3 half a key", func() map[string]any { m := cloneMap(s3); m["aws_access_key_id"] = "x"; return m }(), false},
		{"s3 two encryptions", func() map[string]any {
			m := cloneMap(s3)
			m["aws_s3_enable_kms"], m["aws_s3_server_side_encryption"] = true, true
			return m
		}(), false},
	}
	for _, c := range cases {
		d := &logical.FieldData{Raw: c.raw, Schema: autoConfigFields}
		cfg := &autoConfig{Name: "x", Retain: 1, FilePrefix: defaultFilePrefix}
		err := d.Validate()
		if err == nil {
			cfg.apply(d)
			err = cfg.validate()
		}
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok=%v", c.name, err, c.ok)
		}
	}
	// An update keeps what it does not send.
	cfg := &autoConfig{Name: "x", Retain: 1, FilePrefix: defaultFilePrefix}
	cfg.apply(&logical.FieldData{Raw: base(), Schema: autoConfigFields})
	cfg.apply(&logical.FieldData{Raw: map[string]any{"retain": 5}, Schema: autoConfigFields})
	if cfg.Retain != 5 || cfg.Interval != 3600 || cfg.PathPrefix != dir || cfg.FilePrefix != defaultFilePrefix {
		t.Fatalf("merged config %+v", cfg)
	}
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
