package snapshot

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestInspect(t *testing.T) {
	data := archive(t, testKey(t))
	total := 0
	for k, v := range testEntries {
		total += len(k) + len(v)
	}
	cases := []struct {
		name  string
		opts  InspectOptions
		want  map[string]int // prefix: count
		first string         // the largest group, sorted first
	}{
		{"depth 1", InspectOptions{Depth: 1}, map[string]int{"logical": 4, "sys": 3, "core": 2, "auth": 1}, "logical"},
		{"depth 2", InspectOptions{Depth: 2}, map[string]int{"logical/aaa": 3, "logical/bbb": 1, "core/keyring": 1,
			"core/seal-config": 1, "sys/token": 2, "sys/policy": 1, "auth/ccc": 1}, "logical/aaa"},
		{"whole keys", InspectOptions{Depth: 0, Filter: "logical/aaa/"}, map[string]int{"logical/aaa/one": 1,
			"logical/aaa/two": 1, "logical/aaa/deeper/three/four": 1}, "logical/aaa/deeper/three/four"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.opts.TempDir = dir
			info, err := Inspect(context.Background(), bytes.NewReader(data), c.opts)
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			got := map[string]int{}
			count := 0
			for _, s := range info.Stats {
				got[s.Name] = s.Count
				count += s.Count
			}
			if len(got) != len(c.want) {
				t.Fatalf("stats %v, want %v", got, c.want)
			}
			for k, n := range c.want {
				if got[k] != n {
					t.Fatalf("stats %v, want %v", got, c.want)
				}
			}
			if info.Stats[0].Name != c.first || info.TotalCount != count {
				t.Fatalf("order/total: %+v", info)
			}
			if c.opts.Filter == "" && info.TotalSize != total {
				t.Fatalf("total size %d, want %d", info.TotalSize, total)
			}
			if info.Meta.Index == 0 || info.Meta.Size == 0 {
				t.Fatalf("meta %+v", info.Meta)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
				t.Fatalf("temporary files left: %v", left)
			}
		})
	}
}

func TestInspectRejectsDamage(t *testing.T) {
	data := archive(t, testKey(t))
	for name, d := range map[string][]byte{
		"truncated": data[:len(data)*2/3],
		"flipped":   func() []byte { b := bytes.Clone(data); b[len(b)/2] ^= 0xff; return b }(),
		"garbage":   []byte("nope"),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Inspect(context.Background(), bytes.NewReader(d), InspectOptions{TempDir: dir, Depth: 1}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Inspect: %v, want ErrInvalid", err)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Fatalf("temporary files left: %v", left)
			}
		})
	}
	if _, err := Inspect(context.Background(), bytes.NewReader(data), InspectOptions{Depth: -1}); err == nil {
		t.Fatal("negative depth accepted")
	}
}

func TestKeyPrefix(t *testing.T) {
	for _, c := range []struct {
		key   string
		depth int
		want  string
	}{
		{"a/b/c", 1, "a"}, {"a/b/c", 2, "a/b"}, {"a/b/c", 3, "a/b/c"}, {"a/b/c", 9, "a/b/c"},
		{"a/b/c", 0, "a/b/c"}, {"plain", 2, "plain"}, {"a/", 1, "a"},
	} {
		if got := keyPrefix(c.key, c.depth); got != c.want {
			t.Errorf("keyPrefix(%q, %d) = %q, want %q", c.key, c.depth, got, c.want)
		}
	}
}
