package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"unicode"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	hclparser "github.com/hashicorp/hcl/hcl/parser"
)

// topFields maps each top-level scalar key to the field it sets.
var topFields = map[string]func(*Config) any{
	"api_addr":                            func(c *Config) any { return &c.APIAddr },
	"disable_api_audit_creation":          func(c *Config) any { return &c.DisableAPIAuditCreation },
	"cluster_addr":                        func(c *Config) any { return &c.ClusterAddr },
	"cluster_name":                        func(c *Config) any { return &c.ClusterName },
	"ui":                                  func(c *Config) any { return &c.UI },
	"disable_mlock":                       func(c *Config) any { return &c.DisableMlock },
	"disable_cache":                       func(c *Config) any { return &c.DisableCache },
	"raw_storage_endpoint":                func(c *Config) any { return &c.RawStorageEndpoint },
	"log_level":                           func(c *Config) any { return &c.LogLevel },
	"log_format":                          func(c *Config) any { return &c.LogFormat },
	"log_file":                            func(c *Config) any { return &c.LogFile },
	"pid_file":                            func(c *Config) any { return &c.PidFile },
	"default_lease_ttl":                   func(c *Config) any { return &c.DefaultLeaseTTL },
	"max_lease_ttl":                       func(c *Config) any { return &c.MaxLeaseTTL },
	"default_max_request_duration":        func(c *Config) any { return &c.DefaultMaxRequestDuration },
	"plugin_directory":                    func(c *Config) any { return &c.PluginDirectory },
	"cache_size":                          func(c *Config) any { return &c.CacheSize },
	"disable_clustering":                  func(c *Config) any { return &c.DisableClustering },
	"disable_performance_standby":         func(c *Config) any { return &c.DisablePerformanceStandby },
	"disable_printable_check":             func(c *Config) any { return &c.DisablePrintableCheck },
	"introspection_endpoint":              func(c *Config) any { return &c.IntrospectionEndpoint },
	"enable_response_header_hostname":     func(c *Config) any { return &c.EnableResponseHeaderHostname },
	"enable_response_header_raft_node_id": func(c *Config) any { return &c.EnableResponseHeaderRaftNodeID },
	"log_requests_level":                  func(c *Config) any { return &c.LogRequestsLevel },
	"cluster_cipher_suites":               func(c *Config) any { return &c.ClusterCipherSuites },
	"log_rotate_duration":                 func(c *Config) any { return &c.LogRotateDuration },
	"log_rotate_bytes":                    func(c *Config) any { return &c.LogRotateBytes },
	"log_rotate_max_files":                func(c *Config) any { return &c.LogRotateMaxFiles },
}

// topIgnored are top-level keys and stanzas Vault knows that Strongbox
// does not act on; they end up in Config.Ignored, and Validate refuses them
// with their file and line.
var topIgnored = map[string]bool{
	"service_registration":          true,
	"entropy":                       true,
	"kms":                           true,
	"kms_library":                   true,
	"cloud":                         true,
	"replication":                   true,
	"reporting":                     true,
	"sentinel":                      true,
	"request_limiter":               true,
	"adaptive_overload_protection":  true,
	"license_path":                  true,
	"plugin_file_uid":               true,
	"plugin_file_permissions":       true,
	"plugin_tmpdir":                 true,
	"disable_sealwrap":              true,
	"disable_indexing":              true,
	"disable_sentinel_trace":        true,
	"experiments":                   true,
	"imprecise_lease_role_tracking": true,
	"enable_post_unseal_trace":      true,
	"post_unseal_trace_directory":   true,
	"detect_deadlocks":              true,
	"administrative_namespace_path": true,
	"enable_multiseal":              true,
}

// stanzas are the top-level blocks, for suggestions on misspellings.
var stanzas = []string{"storage", "backend", "ha_storage", "ha_backend", "listener", "seal", "hsm", "telemetry", "user_lockout", "audit"}

// ParseFile reads and parses one configuration file (HCL or JSON).
func ParseFile(path string) (*Config, error) {
	c, err := parseFile(path)
	if err != nil {
		return nil, err
	}
	c.finish()
	return c, nil
}

func parseFile(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(path, src)
}

// Parse parses one configuration. name is used in error messages. The
// format is told from the content, as Vault does: JSON when it starts
// with "{", HCL otherwise (so a .hcl file may hold JSON).
func Parse(name string, src []byte) (*Config, error) {
	c, err := parse(name, src)
	if err != nil {
		return nil, err
	}
	c.finish()
	return c, nil
}

func parse(name string, src []byte) (*Config, error) {
	f, err := parseSyntax(name, src)
	if err != nil {
		return nil, err
	}
	list, ok := f.Node.(*ast.ObjectList)
	if !ok {
		return nil, &Error{File: name, Msg: "the file must hold key = value settings and stanzas"}
	}
	d := &decoder{file: name}
	c := &Config{set: map[string]bool{}, pos: map[string]keyAt{}}
	d.topLevel(c, list)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	c.Ignored = d.ignored
	c.unsupported = d.unsupported
	return c, nil
}

// posRE finds "line:col" in hcl errors that carry no structured position.
var posRE = regexp.MustCompile(`(\d+):\d+`)

func parseSyntax(name string, src []byte) (f *ast.File, err error) {
	// hcl's parser has panicked on malformed input before; a config file
	// must never crash the server.
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, &Error{File: name, Msg: fmt.Sprintf("syntax error: %v", r)}
		}
	}()
	// hcl's JSON parser skips some malformed input (`{"ui": }` parses as
	// an empty file); check JSON with the standard library first so a
	// broken file is an error, not silently missing settings.
	if trimmed := bytes.TrimLeftFunc(src, unicode.IsSpace); len(trimmed) > 0 && trimmed[0] == '{' {
		var v any
		if err := json.Unmarshal(src, &v); err != nil {
			return nil, jsonError(name, src, err)
		}
	}
	f, err = hcl.ParseBytes(src)
	if err == nil {
		if f == nil || f.Node == nil {
			return nil, &Error{File: name, Msg: "syntax error: nothing parsed"}
		}
		return f, nil
	}
	var pe *hclparser.PosError
	if errors.As(err, &pe) {
		return nil, &Error{File: name, Line: pe.Pos.Line, Msg: "syntax error: " + pe.Err.Error()}
	}
	line := 0
	if m := posRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	return nil, &Error{File: name, Line: line, Msg: "syntax error: " + err.Error()}
}

func jsonError(name string, src []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset <= int64(len(src)) {
		line := 1 + bytes.Count(src[:se.Offset], []byte("\n"))
		return &Error{File: name, Line: line, Msg: "syntax error: " + se.Error()}
	}
	return &Error{File: name, Msg: "syntax error: " + err.Error()}
}

func (d *decoder) topLevel(c *Config, list *ast.ObjectList) {
	var storageKey, haKey string
	for _, it := range list.Items {
		if len(it.Keys) == 0 {
			continue
		}
		name, line := keyName(it.Keys[0]), itemLine(it)
		switch name {
		case "storage", "backend":
			if s := d.storage(it, name); s != nil {
				if c.Storage != nil {
					d.errorf(line, "only one storage stanza is allowed; %s %q is already set at line %d", storageKey, c.Storage.Type, c.Storage.Line)
					continue
				}
				c.Storage, storageKey = s, name
			}
		case "ha_storage", "ha_backend":
			if s := d.storage(it, name); s != nil {
				if c.HAStorage != nil {
					d.errorf(line, "only one ha_storage stanza is allowed; %s %q is already set at line %d", haKey, c.HAStorage.Type, c.HAStorage.Line)
					continue
				}
				c.HAStorage, haKey = s, name
			}
		case "listener":
			if l := d.listener(it); l != nil {
				c.Listeners = append(c.Listeners, l)
			}
		case "seal", "hsm":
			if s := d.seal(it, name); s != nil {
				c.Seals = append(c.Seals, s)
			}
		case "user_lockout":
			if u := d.userLockout(it); u != nil {
				for _, have := range c.UserLockouts {
					if have.Type == u.Type {
						d.errorf(line, "user_lockout %q is already set at line %d", u.Type, have.Line)
						u = nil
						break
					}
				}
				if u != nil {
					c.UserLockouts = append(c.UserLockouts, u)
				}
			}
		case "audit":
			if a := d.audit(it); a != nil {
				c.Audits = append(c.Audits, a)
			}
		case "telemetry":
			t := d.telemetry(it)
			if t != nil && c.Telemetry != nil {
				d.errorf(line, "only one telemetry stanza is allowed")
				continue
			}
			c.Telemetry = t
		default:
			ptr, ok := topFields[name]
			switch {
			case ok:
				if d.seen(c.set, line, "", name) {
					continue
				}
				if len(it.Keys) > 1 {
					d.errorf(line, "%s: expected a single value, got a block", name)
					continue
				}
				if err := setScalar(ptr(c), it.Val); err != nil {
					d.errorf(line, "%s: %v", name, err)
				}
				c.pos[name] = keyAt{File: d.file, Line: line, Key: name}
			case topIgnored[name]:
				d.ignore(line, name)
			default:
				known := append([]string(nil), stanzas...)
				for k := range topFields {
					known = append(known, k)
				}
				d.unknown(line, "", name, known)
			}
		}
	}
}

// finish applies what Vault derives once all files are merged: a storage
// stanza's redirect_addr / advertise_addr, cluster_addr and
// disable_clustering stand in for unset top-level values.
func (c *Config) finish() {
	for _, s := range []*Storage{c.Storage, c.HAStorage} {
		if s == nil {
			continue
		}
		for _, key := range []string{"redirect_addr", "advertise_addr"} {
			if v, ok := s.Config[key]; ok {
				if c.APIAddr == "" {
					c.APIAddr = v
				}
				delete(s.Config, key)
			}
		}
		if v, ok := s.Config["cluster_addr"]; ok {
			if c.ClusterAddr == "" {
				c.ClusterAddr = v
			}
			delete(s.Config, "cluster_addr")
		}
		if v, ok := s.Config["disable_clustering"]; ok {
			if !c.set["disable_clustering"] {
				c.DisableClustering = v == "true"
			}
			delete(s.Config, "disable_clustering")
		}
	}
}
