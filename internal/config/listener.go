package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
)

// listenerFields maps a listener key to the field it sets.
var listenerFields = map[string]func(*Listener) any{
	"address":                               func(l *Listener) any { return &l.Address },
	"cluster_address":                       func(l *Listener) any { return &l.ClusterAddress },
	"tls_disable":                           func(l *Listener) any { return &l.TLSDisable },
	"tls_cert_file":                         func(l *Listener) any { return &l.TLSCertFile },
	"tls_key_file":                          func(l *Listener) any { return &l.TLSKeyFile },
	"tls_client_ca_file":                    func(l *Listener) any { return &l.TLSClientCAFile },
	"tls_min_version":                       func(l *Listener) any { return &l.TLSMinVersion },
	"tls_max_version":                       func(l *Listener) any { return &l.TLSMaxVersion },
	"tls_cipher_suites":                     func(l *Listener) any { return &l.TLSCipherSuites },
	"tls_require_and_verify_client_cert":    func(l *Listener) any { return &l.TLSRequireAndVerifyClientCert },
	"tls_disable_client_certs":              func(l *Listener) any { return &l.TLSDisableClientCerts },
	"max_request_size":                      func(l *Listener) any { return &l.MaxRequestSize },
	"max_request_duration":                  func(l *Listener) any { return &l.MaxRequestDuration },
	"require_request_header":                func(l *Listener) any { return &l.RequireRequestHeader },
	"http_read_timeout":                     func(l *Listener) any { return &l.HTTPReadTimeout },
	"http_read_header_timeout":              func(l *Listener) any { return &l.HTTPReadHeaderTimeout },
	"http_write_timeout":                    func(l *Listener) any { return &l.HTTPWriteTimeout },
	"http_idle_timeout":                     func(l *Listener) any { return &l.HTTPIdleTimeout },
	"proxy_protocol_behavior":               func(l *Listener) any { return &l.ProxyProtocolBehavior },
	"proxy_protocol_authorized_addrs":       func(l *Listener) any { return &l.ProxyProtocolAuthorizedAddrs },
	"x_forwarded_for_authorized_addrs":      func(l *Listener) any { return &l.XForwardedForAuthorizedAddrs },
	"x_forwarded_for_hop_skips":             func(l *Listener) any { return &l.XForwardedForHopSkips },
	"x_forwarded_for_reject_not_authorized": func(l *Listener) any { return &l.XForwardedForRejectNotAuthorized },
	"x_forwarded_for_reject_not_present":    func(l *Listener) any { return &l.XForwardedForRejectNotPresent },
	"socket_mode":                           func(l *Listener) any { return &l.SocketMode },
	"socket_user":                           func(l *Listener) any { return &l.SocketUser },
	"socket_group":                          func(l *Listener) any { return &l.SocketGroup },
	"cors_enabled":                          func(l *Listener) any { return &l.CORSEnabled },
	"cors_allowed_origins":                  func(l *Listener) any { return &l.CORSAllowedOrigins },
	"cors_allowed_headers":                  func(l *Listener) any { return &l.CORSAllowedHeaders },
	"chroot_namespace":                      func(l *Listener) any { return &l.ChrootNamespace },
	"redact_addresses":                      func(l *Listener) any { return &l.RedactAddresses },
	"redact_cluster_name":                   func(l *Listener) any { return &l.RedactClusterName },
	"redact_version":                        func(l *Listener) any { return &l.RedactVersion },
	"disable_replication_status_endpoints":  func(l *Listener) any { return &l.DisableReplicationStatusEndpoints },
	"disable_request_limiter":               func(l *Listener) any { return &l.DisableRequestLimiter },
}

// listenerMatching are listener keys Vault knows whose one value here is
// what Strongbox always does: that value is accepted, any other refused.
// (Go's TLS server always chooses the cipher suite by its own preference.)
var listenerMatching = map[string]string{
	"role":                            "default",
	"tls_prefer_server_cipher_suites": "true",
}

// listenerIgnored are listener keys Vault knows that Strongbox does not
// act on (JSON limits, client-cert forwarding, agent/proxy-only settings);
// Validate refuses them.
var listenerIgnored = map[string]bool{
	"purpose":                                     true,
	"agent_api":                                   true,
	"proxy_api":                                   true,
	"max_json_depth":                              true,
	"max_json_string_value_length":                true,
	"max_json_object_entry_count":                 true,
	"max_json_array_element_count":                true,
	"max_json_token":                              true,
	"max_token_header_size":                       true,
	"x_forwarded_for_client_cert_header":          true,
	"x_forwarded_for_client_cert_header_decoders": true,
}

// listenerSubBlocks are the small blocks inside a listener, each holding
// one boolean.
var listenerSubBlocks = map[string]struct {
	key string
	ptr func(*Listener) *bool
}{
	"telemetry":                 {"unauthenticated_metrics_access", func(l *Listener) *bool { return &l.UnauthenticatedMetricsAccess }},
	"profiling":                 {"unauthenticated_pprof_access", func(l *Listener) *bool { return &l.UnauthenticatedPProfAccess }},
	"inflight_requests_logging": {"unauthenticated_in_flight_requests_access", func(l *Listener) *bool { return &l.UnauthenticatedInFlightAccess }},
}

func (d *decoder) listener(it *ast.ObjectItem) *Listener {
	label, body, ok := d.block(it, "listener", true)
	if !ok {
		return nil
	}
	l := &Listener{Type: strings.ToLower(label), File: d.file, Line: itemLine(it), lines: map[string]int{}}
	where := fmt.Sprintf("listener %q", l.Type)
	decodeObject(d, body, where, l, listenerFields, func(name string, sub *ast.ObjectItem) bool {
		line := itemLine(sub)
		l.lines[name] = line
		if listenerIgnored[name] {
			d.ignore(line, "listener."+name)
			return true
		}
		if want, ok := listenerMatching[name]; ok {
			v, err := asString(sub.Val)
			switch {
			case err != nil:
				d.errorf(line, "%s: %s: %v", where, name, err)
			case !strings.EqualFold(strings.TrimSpace(v), want):
				d.unsupported = append(d.unsupported, keyAt{File: d.file, Line: line,
					Key: fmt.Sprintf("listener.%s = %q (only %q is built)", name, v, want)})
				d.ignored = append(d.ignored, fmt.Sprintf("%s:%d: listener.%s", d.file, line, name))
			}
			return true
		}
		if name == "type" {
			typ, err := asString(sub.Val)
			switch {
			case err != nil:
				d.errorf(line, "%s: type: %v", where, err)
			case label != "" && !strings.EqualFold(typ, label):
				d.errorf(line, "%s: type %q contradicts the stanza's label", where, typ)
			default:
				l.Type = strings.ToLower(typ)
			}
			return true
		}
		if name == "custom_response_headers" {
			l.CustomResponseHeaders = d.customHeaders(sub, where)
			return true
		}
		sb, ok := listenerSubBlocks[name]
		if !ok {
			return false
		}
		_, sbody, ok := d.block(sub, where+": "+name, false)
		if ok {
			fields := map[string]func(*Listener) any{sb.key: func(l *Listener) any { return sb.ptr(l) }}
			decodeObject(d, sbody, where+": "+name, l, fields, func(inner string, it *ast.ObjectItem) bool {
				l.lines[inner] = itemLine(it)
				return false
			})
		}
		return true
	})
	if l.Type == "" {
		d.errorf(l.Line, `listener needs a type: listener "tcp" { … }`)
		return nil
	}
	if l.Type == "tcp" && l.Address == "" {
		l.Address = DefaultListenAddress
	}
	if l.MaxRequestSize == 0 {
		l.MaxRequestSize = DefaultMaxRequestSize
	}
	return l
}

// customHeaders decodes custom_response_headers: status code (or
// "default", "2xx") → header → list of values.
func (d *decoder) customHeaders(it *ast.ObjectItem, where string) map[string]map[string][]string {
	where += ": custom_response_headers"
	_, body, ok := d.block(it, where, false)
	if !ok {
		return nil
	}
	out := map[string]map[string][]string{}
	for _, codeItem := range body.Items {
		if len(codeItem.Keys) == 0 {
			continue
		}
		code := codeItem.Keys[0].Token.Text
		if s, err := tokenString(codeItem.Keys[0].Token); err == nil {
			code = s
		}
		_, headers, ok := d.block(codeItem, where+": "+code, false)
		if !ok {
			continue
		}
		if out[code] == nil {
			out[code] = map[string][]string{}
		}
		for _, h := range headers.Items {
			if len(h.Keys) != 1 {
				d.errorf(itemLine(h), "%s: %s: a header takes a list of values", where, code)
				continue
			}
			name := h.Keys[0].Token.Text
			if s, err := tokenString(h.Keys[0].Token); err == nil {
				name = s
			}
			values, err := asStringList(h.Val)
			if err != nil {
				d.errorf(itemLine(h), "%s: %s: %s: %v", where, code, name, err)
				continue
			}
			out[code][name] = values
		}
	}
	return out
}
