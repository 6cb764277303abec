package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
)

var retryJoinFields = map[string]func(*RetryJoin) any{
	"leader_api_addr":         func(r *RetryJoin) any { return &r.LeaderAPIAddr },
	"auto_join":               func(r *RetryJoin) any { return &r.AutoJoin },
	"auto_join_scheme":        func(r *RetryJoin) any { return &r.AutoJoinScheme },
	"auto_join_port":          func(r *RetryJoin) any { return &r.AutoJoinPort },
	"leader_tls_servername":   func(r *RetryJoin) any { return &r.LeaderTLSServerName },
	"leader_ca_cert_file":     func(r *RetryJoin) any { return &r.LeaderCACertFile },
	"leader_client_cert_file": func(r *RetryJoin) any { return &r.LeaderClientCertFile },
	"leader_client_key_file":  func(r *RetryJoin) any { return &r.LeaderClientKeyFile },
	"leader_ca_cert":          func(r *RetryJoin) any { return &r.LeaderCACert },
	"leader_client_cert":      func(r *RetryJoin) any { return &r.LeaderClientCert },
	"leader_client_key":       func(r *RetryJoin) any { return &r.LeaderClientKey },
	"leader_allow_http":       func(r *RetryJoin) any { return &r.LeaderAllowHTTP },
}

// storage decodes a storage (or ha_storage) stanza. Its keys belong to the
// backend, so any key is accepted, but each must hold a single value.
func (d *decoder) storage(it *ast.ObjectItem, stanza string) *Storage {
	label, body, ok := d.block(it, stanza, true)
	if !ok {
		return nil
	}
	line := itemLine(it)
	if label == "" {
		d.errorf(line, `%s needs a type: %s "raft" { … }`, stanza, stanza)
		return nil
	}
	s := &Storage{Type: strings.ToLower(label), Config: map[string]string{}, File: d.file, Line: line, lines: map[string]int{}, stanza: stanza}
	where := fmt.Sprintf("%s %q", stanza, s.Type)
	seen := map[string]bool{}
	for _, sub := range body.Items {
		if len(sub.Keys) == 0 {
			continue
		}
		name, subLine := keyName(sub.Keys[0]), itemLine(sub)
		s.lines[name] = subLine
		if name == "retry_join" {
			for _, obj := range d.objects(sub, where+": retry_join") {
				s.RetryJoin = append(s.RetryJoin, d.retryJoin(obj, where, subLine))
			}
			continue
		}
		if d.seen(seen, subLine, where, name) {
			continue
		}
		if len(sub.Keys) > 1 {
			d.errorf(subLine, "%s: %s: expected a single value, got a block", where, name)
			continue
		}
		v, err := render(sub.Val)
		if err != nil {
			d.errorf(subLine, "%s: %s: %v", where, name, err)
			continue
		}
		// Vault reads disable_clustering here as a boolean; check it now so
		// the error has a line.
		if name == "disable_clustering" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				d.errorf(subLine, "%s: disable_clustering: expected a boolean, got %q", where, v)
				continue
			}
			v = strconv.FormatBool(b)
		}
		s.Config[name] = v
	}
	return s
}

func (d *decoder) retryJoin(body *ast.ObjectList, where string, line int) *RetryJoin {
	r := &RetryJoin{}
	where += ": retry_join"
	decodeObject(d, body, where, r, retryJoinFields, nil)
	switch {
	case r.LeaderAPIAddr == "" && r.AutoJoin == "":
		d.errorf(line, "%s: needs leader_api_addr or auto_join", where)
	case r.LeaderAPIAddr != "" && r.AutoJoin != "":
		d.errorf(line, "%s: cannot have both leader_api_addr and auto_join", where)
	}
	if r.AutoJoinScheme != "" && r.AutoJoinScheme != "http" && r.AutoJoinScheme != "https" {
		d.errorf(line, "%s: auto_join_scheme must be http or https, got %q", where, r.AutoJoinScheme)
	}
	if r.AutoJoinPort < 0 || r.AutoJoinPort > 65535 {
		d.errorf(line, "%s: auto_join_port %d is not a port", where, r.AutoJoinPort)
	}
	return r
}

// seal decodes a seal (or hsm) stanza: disabled, name, priority are
// Strongbox's; every other key goes to the seal as a string.
func (d *decoder) seal(it *ast.ObjectItem, stanza string) *Seal {
	label, body, ok := d.block(it, stanza, true)
	if !ok {
		return nil
	}
	line := itemLine(it)
	if label == "" {
		d.errorf(line, `%s needs a type: %s "transit" { … }`, stanza, stanza)
		return nil
	}
	s := &Seal{Type: strings.ToLower(label), Config: map[string]string{}, File: d.file, Line: line, lines: map[string]int{}}
	where := fmt.Sprintf("%s %q", stanza, s.Type)
	fields := map[string]func(*Seal) any{
		"disabled": func(s *Seal) any { return &s.Disabled },
		"name":     func(s *Seal) any { return &s.Name },
		"priority": func(s *Seal) any { return &s.Priority },
	}
	seen := map[string]bool{}
	decodeObject(d, body, where, s, fields, func(name string, sub *ast.ObjectItem) bool {
		subLine := itemLine(sub)
		s.lines[name] = subLine
		if _, ok := fields[name]; ok {
			return false
		}
		if name == "purpose" {
			d.ignore(subLine, stanza+".purpose")
			return true
		}
		if d.seen(seen, subLine, where, name) {
			return true
		}
		v, err := render(sub.Val)
		if err != nil || len(sub.Keys) > 1 {
			if err == nil {
				err = fmt.Errorf("expected a single value, got a block")
			}
			d.errorf(subLine, "%s: %s: %v", where, name, err)
			return true
		}
		s.Config[name] = v
		return true
	})
	return s
}
