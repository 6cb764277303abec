package config

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// KnownStorageTypes returns the storage types Strongbox can run, sorted.
func KnownStorageTypes() []string {
	return []string{"file", "inmem", "raft"}
}

// tlsVersions are the accepted tls_min_version / tls_max_version values, in order.
var tlsVersions = []string{"tls10", "tls11", "tls12", "tls13"}

// Validate checks what a server needs to start: one known storage, at
// least one well-formed listener, consistent seals and settings. It
// reports every problem, each naming its file and line where known.
func (c *Config) Validate() error {
	var errs []error
	add := func(file string, line int, format string, args ...any) {
		if file == "" {
			file = "config"
		}
		errs = append(errs, &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	known := KnownStorageTypes()
	switch {
	case c.Storage == nil:
		add("", 0, `a storage stanza is required, e.g. storage "raft" { … }`)
	case !slices.Contains(known, c.Storage.Type):
		add(c.Storage.File, c.Storage.Line, "unknown storage type %q (known: %s)", c.Storage.Type, strings.Join(known, ", "))
	case c.Storage.Type == "raft":
		if c.DisableClustering {
			add(c.Storage.File, c.Storage.Line, "disable_clustering cannot be true with raft storage: raft needs the cluster port")
		} else if c.ClusterAddr == "" {
			add(c.Storage.File, c.Storage.Line, "raft storage needs cluster_addr (or VAULT_CLUSTER_ADDR) so nodes can reach each other")
		}
		if c.HAStorage != nil {
			add(c.HAStorage.File, c.HAStorage.Line, "ha_storage cannot be used with raft storage: raft provides HA itself")
		}
	}
	if c.Storage != nil && c.Storage.Type != "raft" && len(c.Storage.RetryJoin) > 0 {
		add(c.Storage.File, c.Storage.Line, "retry_join belongs in raft storage, not %q", c.Storage.Type)
	}
	c.refusals(add)

	if len(c.Listeners) == 0 {
		add("", 0, `at least one listener is required, e.g. listener "tcp" { address = "127.0.0.1:8200" }`)
	}
	for _, l := range c.Listeners {
		for _, msg := range l.problems() {
			add(l.File, l.Line, "listener %q: %s", l.Type, msg)
		}
		for _, msg := range l.refusals() {
			key, _, _ := strings.Cut(msg, ":")
			key, _, _ = strings.Cut(key, " ")
			add(l.File, l.line(key), "listener %q: %s", l.Type, msg)
		}
	}

	// One disabled seal alone is a migration from it to Shamir; two are a
	// migration from the disabled one to the other.
	switch len(c.Seals) {
	case 0, 1:
	case 2:
		a, b := c.Seals[0], c.Seals[1]
		if a.Disabled == b.Disabled {
			add(b.File, b.Line, "two seal stanzas mean a seal migration: exactly one must have disabled = true")
		}
	default:
		s := c.Seals[2]
		add(s.File, s.Line, "at most two seal stanzas are allowed (the old and the new one, during a migration)")
	}

	switch strings.ToLower(c.LogLevel) {
	case "", "trace", "debug", "info", "warn", "warning", "error", "err":
	default:
		add("", 0, "log_level %q is not one of trace, debug, info, warn, error", c.LogLevel)
	}
	switch strings.ToLower(c.LogFormat) {
	case "", "standard", "json":
	default:
		add("", 0, "log_format %q is not standard or json", c.LogFormat)
	}
	switch strings.ToLower(c.LogRequestsLevel) {
	case "", "trace", "debug", "info", "warn", "warning", "error", "err":
	default:
		p := c.pos["log_requests_level"]
		add(p.File, p.Line, "log_requests_level %q is not one of trace, debug, info, warn, error", c.LogRequestsLevel)
	}
	if c.LogRotateMaxFiles < -1 {
		p := c.pos["log_rotate_max_files"]
		add(p.File, p.Line, "log_rotate_max_files must be -1 (keep none), 0 (keep all) or a number of files")
	}
	if c.LogRotateBytes < 0 {
		p := c.pos["log_rotate_bytes"]
		add(p.File, p.Line, "log_rotate_bytes must not be negative")
	}
	maxTTL := c.MaxLeaseTTL
	if maxTTL == 0 {
		maxTTL = DefaultLeaseTTL
	}
	if c.DefaultLeaseTTL > maxTTL {
		add("", 0, "default_lease_ttl (%s) is longer than max_lease_ttl (%s)", c.DefaultLeaseTTL, maxTTL)
	}
	return errors.Join(errs...)
}

// problems lists what is wrong with one listener.
func (l *Listener) problems() []string {
	var out []string
	switch l.Type {
	case "tcp":
		if _, _, err := net.SplitHostPort(l.Address); err != nil {
			out = append(out, fmt.Sprintf("address %q is not host:port", l.Address))
		}
		if l.ClusterAddress != "" {
			if _, _, err := net.SplitHostPort(l.ClusterAddress); err != nil {
				out = append(out, fmt.Sprintf("cluster_address %q is not host:port", l.ClusterAddress))
			}
		}
	case "unix":
		if l.Address == "" {
			out = append(out, "address (the socket path) is required")
		}
		if l.SocketMode != "" {
			if _, err := strconv.ParseUint(l.SocketMode, 8, 32); err != nil {
				out = append(out, fmt.Sprintf("socket_mode %q is not an octal file mode", l.SocketMode))
			}
		}
	default:
		return []string{"unknown listener type (known: tcp, unix)"}
	}
	if !l.TLSDisable {
		if l.TLSCertFile == "" || l.TLSKeyFile == "" {
			out = append(out, "tls_cert_file and tls_key_file are required unless tls_disable = true")
		}
	}
	minV, maxV := -1, len(tlsVersions)
	if l.TLSMinVersion != "" {
		if minV = slices.Index(tlsVersions, l.TLSMinVersion); minV < 0 {
			out = append(out, fmt.Sprintf("tls_min_version %q is not one of %s", l.TLSMinVersion, strings.Join(tlsVersions, ", ")))
		}
	}
	if l.TLSMaxVersion != "" {
		if maxV = slices.Index(tlsVersions, l.TLSMaxVersion); maxV < 0 {
			out = append(out, fmt.Sprintf("tls_max_version %q is not one of %s", l.TLSMaxVersion, strings.Join(tlsVersions, ", ")))
			maxV = len(tlsVersions)
		}
	}
	if minV > maxV {
		out = append(out, fmt.Sprintf("tls_min_version %s is above tls_max_version %s", l.TLSMinVersion, l.TLSMaxVersion))
	}
	if l.TLSRequireAndVerifyClientCert && l.TLSDisableClientCerts {
		out = append(out, "tls_require_and_verify_client_cert and tls_disable_client_certs contradict each other")
	}
	switch l.ProxyProtocolBehavior {
	case "", "use_always":
	case "allow_authorized", "deny_unauthorized":
		if len(l.ProxyProtocolAuthorizedAddrs) == 0 {
			out = append(out, fmt.Sprintf("proxy_protocol_behavior %q needs proxy_protocol_authorized_addrs", l.ProxyProtocolBehavior))
		}
	default:
		out = append(out, fmt.Sprintf("proxy_protocol_behavior %q is not use_always, allow_authorized or deny_unauthorized", l.ProxyProtocolBehavior))
	}
	if l.XForwardedForHopSkips < 0 {
		out = append(out, "x_forwarded_for_hop_skips must not be negative")
	}
	if len(l.XForwardedForAuthorizedAddrs) == 0 && (l.XForwardedForRejectNotAuthorized || l.XForwardedForRejectNotPresent || l.XForwardedForHopSkips > 0) {
		out = append(out, "x_forwarded_for_* settings need x_forwarded_for_authorized_addrs")
	}
	for _, field := range []struct {
		name string
		v    []string
	}{{"x_forwarded_for_authorized_addrs", l.XForwardedForAuthorizedAddrs}, {"proxy_protocol_authorized_addrs", l.ProxyProtocolAuthorizedAddrs}} {
		for _, a := range field.v {
			if !validAddrOrCIDR(a) {
				out = append(out, fmt.Sprintf("%s: %q is not an IP address or CIDR block", field.name, a))
			}
		}
	}
	if l.MaxRequestDuration < 0 {
		out = append(out, "max_request_duration must not be negative")
	}
	return out
}

func validAddrOrCIDR(s string) bool {
	if net.ParseIP(s) != nil {
		return true
	}
	_, _, err := net.ParseCIDR(s)
	return err == nil
}
