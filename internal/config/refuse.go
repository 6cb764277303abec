package config

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// Settings Strongbox cannot honour are refused when the server starts, each
// naming its file and line, so that no setting is silently ignored: a
// configuration that starts is a configuration that is obeyed.

// errNotBuilt ends the message of a refused setting.
const errNotBuilt = "is not built into Strongbox yet; remove the setting"

// topRefusals are top-level settings refused when set to a value that asks
// for something Strongbox does not do. A setting at its "off" value matches
// what Strongbox does and is accepted.
var topRefusals = map[string]func(c *Config) (bool, string){
	"ui": func(c *Config) (bool, string) { return c.UI, "ui = true: the web UI " + errNotBuilt },
	"raw_storage_endpoint": func(c *Config) (bool, string) {
		return c.RawStorageEndpoint, "raw_storage_endpoint = true: sys/raw " + errNotBuilt
	},
	"plugin_directory": func(c *Config) (bool, string) {
		return c.PluginDirectory != "", "plugin_directory: external plugins " + errNotBuilt
	},
	"cache_size": func(c *Config) (bool, string) {
		return c.CacheSize != 0, "cache_size: the physical read cache " + errNotBuilt
	},
	"introspection_endpoint": func(c *Config) (bool, string) {
		return c.IntrospectionEndpoint, "introspection_endpoint = true: sys/internal/inspect " + errNotBuilt
	},
}

// StorageKeys are the keys each built storage type acts on; any other key
// in its stanza is refused. (redirect_addr, advertise_addr, cluster_addr and
// disable_clustering are taken out of the stanza before this check, as
// top-level stand-ins.)
var StorageKeys = map[string][]string{
	"inmem": {},
	"file":  {"path"},
	"raft": {
		"path", "node_id", "performance_multiplier", "snapshot_threshold", "trailing_logs",
		"snapshot_interval", "non_voter", "retry_join_as_non_voter", "max_entry_size",
		"autopilot_redundancy_zone", "autopilot_upgrade_version", "autopilot_reconcile_interval",
		"autopilot_update_interval", "tls_rotation_interval",
	},
}

// refusals reports every setting Validate must refuse.
func (c *Config) refusals(add func(file string, line int, format string, args ...any)) {
	if s := c.Storage; s != nil {
		if known, ok := StorageKeys[s.Type]; ok {
			for key := range s.Config {
				if !slices.Contains(known, key) {
					add(s.File, s.lineOf(key), "storage %q: %s: not a setting of this storage type (known: %s)", s.Type, key, strings.Join(known, ", "))
				}
			}
		}
		for _, rj := range s.RetryJoin {
			if rj.AutoJoin != "" || rj.AutoJoinScheme != "" || rj.AutoJoinPort != 0 {
				add(s.File, s.lineOf("retry_join"), "storage %q: retry_join: auto_join, auto_join_scheme, auto_join_port: cloud auto-discovery %s; give leader_api_addr", s.Type, errNotBuilt)
			}
		}
	}
	for _, s := range c.Seals {
		for _, key := range []string{"name", "priority"} {
			if _, ok := s.lines[key]; ok {
				add(s.File, s.lines[key], "seal %q: %s: seal high availability (several enabled seals) %s", s.Type, key, errNotBuilt)
			}
		}
	}
	for _, k := range c.unsupported {
		add(k.File, k.Line, "%s: this Vault setting %s", k.Key, errNotBuilt)
	}
	for key, check := range topRefusals {
		if bad, msg := check(c); bad {
			p := c.pos[key]
			add(p.File, p.Line, "%s", msg)
		}
	}
	if t := c.Telemetry; t != nil {
		t.refusals(add)
	}
	if h := c.HAStorage; h != nil {
		stanza := h.stanza
		if stanza == "" {
			stanza = "ha_storage"
		}
		add(h.File, h.Line, "%s %q: a separate HA backend %s (raft storage provides HA itself)", stanza, h.Type, errNotBuilt)
	}
	if c.ClusterCipherSuites != "" {
		if _, err := CipherSuites(c.ClusterCipherSuites); err != nil {
			p := c.pos["cluster_cipher_suites"]
			add(p.File, p.Line, "cluster_cipher_suites: %v", err)
		}
	}
}

// refusals lists what a listener sets that Strongbox cannot honour.
func (l *Listener) refusals() []string {
	var out []string
	if l.ChrootNamespace != "" {
		out = append(out, "chroot_namespace: namespaces "+errNotBuilt)
	}
	if l.TLSCipherSuites != "" {
		if _, err := CipherSuites(l.TLSCipherSuites); err != nil {
			out = append(out, "tls_cipher_suites: "+err.Error())
		}
	}
	for code, headers := range l.CustomResponseHeaders {
		if !validStatusKey(code) {
			out = append(out, fmt.Sprintf("custom_response_headers: %q is not a status code, a class such as \"4xx\", or \"default\"", code))
		}
		for name := range headers {
			if strings.HasPrefix(strings.ToLower(name), "x-vault-") {
				out = append(out, fmt.Sprintf("custom_response_headers: %s: headers starting with X-Vault- are the server's own and cannot be configured", name))
			}
		}
	}
	return out
}

// lineOf is where key was set in the stanza, or the stanza's own line.
func (s *Storage) lineOf(key string) int {
	if n, ok := s.lines[key]; ok {
		return n
	}
	return s.Line
}

// KeyLine is where key was set in the seal stanza, or the stanza's own
// line (a key not in the file, such as one from the environment).
func (s *Seal) KeyLine(key string) int {
	if n, ok := s.lines[key]; ok {
		return n
	}
	return s.Line
}

// line is where key was set in the stanza, or the stanza's own line.
func (l *Listener) line(key string) int {
	if n, ok := l.lines[key]; ok {
		return n
	}
	return l.Line
}

func validStatusKey(code string) bool {
	if code == "default" {
		return true
	}
	if len(code) != 3 || code[0] < '1' || code[0] > '5' {
		return false
	}
	if code[1:] == "xx" {
		return true
	}
	return code[1] >= '0' && code[1] <= '9' && code[2] >= '0' && code[2] <= '9'
}

// CipherSuites turns a comma-separated list of Go cipher suite names (which
// are the names Vault takes, e.g. "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
// into their IDs. Unknown names are an error.
func CipherSuites(list string) ([]uint16, error) {
	known := map[string]uint16{}
	for _, s := range tls.CipherSuites() {
		known[s.Name] = s.ID
	}
	for _, s := range tls.InsecureCipherSuites() {
		known[s.Name] = s.ID
	}
	var out []uint16
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		id, ok := known[strings.ToUpper(name)]
		if !ok {
			return nil, fmt.Errorf("unknown cipher suite %q (use Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", name)
		}
		out = append(out, id)
	}
	return out, nil
}
