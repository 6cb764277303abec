package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Load reads configuration from each path in order, merging as it goes. A
// path is a file, or a directory whose *.hcl and *.json files are read in
// name order (editor backups such as "x.hcl~" and "#x.hcl#" are skipped).
//
// Merging: a later file's top-level settings override earlier ones
// (including explicit false or 0); listeners and seals accumulate; a later
// telemetry stanza replaces an earlier one. Storage and ha_storage may
// appear in several files only if identical: two different ones are an
// error naming both, where Vault would silently keep the last.
func Load(paths ...string) (*Config, error) {
	if len(paths) == 0 {
		return nil, errors.New("config: no configuration path given")
	}
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		found, err := configFiles(p)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("config: directory %s holds no .hcl or .json files", p)
		}
		files = append(files, found...)
	}
	var out *Config
	for _, f := range files {
		c, err := parseFile(f)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = c
			continue
		}
		if err := out.merge(c); err != nil {
			return nil, err
		}
	}
	out.finish()
	return out, nil
}

func configFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, "~") || strings.HasPrefix(name, ".#") ||
			(strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#")) {
			continue
		}
		if ext := strings.ToLower(filepath.Ext(name)); ext == ".hcl" || ext == ".json" {
			out = append(out, filepath.Join(dir, name))
		}
	}
	sort.Strings(out)
	return out, nil
}

// merge folds src (a later file) into c.
func (c *Config) merge(src *Config) error {
	var err error
	if c.Storage, err = mergeStorage("storage", c.Storage, src.Storage); err != nil {
		return err
	}
	if c.HAStorage, err = mergeStorage("ha_storage", c.HAStorage, src.HAStorage); err != nil {
		return err
	}
	c.Listeners = append(c.Listeners, src.Listeners...)
	c.Seals = append(c.Seals, src.Seals...)
	c.Audits = append(c.Audits, src.Audits...)
	if src.Telemetry != nil {
		c.Telemetry = src.Telemetry
	}
	for _, u := range src.UserLockouts {
		c.UserLockouts = slices.DeleteFunc(c.UserLockouts, func(h *UserLockout) bool { return h.Type == u.Type })
		c.UserLockouts = append(c.UserLockouts, u)
	}
	if c.set == nil {
		c.set = map[string]bool{}
	}
	if c.pos == nil {
		c.pos = map[string]keyAt{}
	}
	for name := range src.set {
		field := topFields[name]
		copyField(field(c), field(src))
		c.set[name] = true
		if p, ok := src.pos[name]; ok {
			c.pos[name] = p
		}
	}
	c.Ignored = append(c.Ignored, src.Ignored...)
	c.unsupported = append(c.unsupported, src.unsupported...)
	return nil
}

func mergeStorage(stanza string, have, next *Storage) (*Storage, error) {
	switch {
	case next == nil:
		return have, nil
	case have == nil:
		return next, nil
	case have.Type == next.Type && maps.Equal(have.Config, next.Config) && reflect.DeepEqual(have.RetryJoin, next.RetryJoin):
		return have, nil
	}
	return nil, &Error{File: next.File, Line: next.Line, Msg: fmt.Sprintf(
		"%s %q conflicts with %s %q at %s:%d: give one %s stanza",
		stanza, next.Type, stanza, have.Type, have.File, have.Line, stanza)}
}
