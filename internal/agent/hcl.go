package agent

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-secure-stdlib/parseutil"
	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// ConfigError is one problem in an agent configuration file.
type ConfigError struct {
	File string
	Line int // 1-based; 0 when unknown
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// decoder collects every problem of one file so the user sees them all.
type decoder struct {
	file      string
	errs      []error
	proxyOnly bool              // strongbox proxy: no templates or exit_after_auth
	refused   map[string]string // top-level keys refused as agent-only
}

func (d *decoder) errorf(line int, format string, args ...any) {
	d.errs = append(d.errs, &ConfigError{File: d.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// body is one object's items by lower-cased key, checked against the keys
// its stanza accepts.
type body struct {
	d     *decoder
	where string
	line  int
	items map[string][]*ast.ObjectItem
}

// notYet are keys Vault's agent knows that this agent does not implement:
// refused by name rather than as unknown, so the user knows why.
var notYet = map[string]bool{
	"wrap_ttl": true, "dh_type": true, "dh_path": true, "aad": true, "aad_env_var": true, "derive_key": true,
	"left_delimiter": true, "right_delimiter": true,
	"create_dest_dirs": true, "command_timeout": true, "wait": true, "user": true, "group": true, "uid": true, "gid": true,
	"sandbox_path": true, "function_denylist": true, "error_fatal": true, "lease_renewal_threshold": true,
	"max_connections_per_host": true, "reload": true, "ca_cert": true, "client_cert": true, "client_key": true,
	"cache": true, "listener": true, "api_proxy": true, "telemetry": true,
	"secret_id_response_wrapping_path": true, "namespace": true, "wrap_ttl_env": true,
	"disable_idle_connections": true, "disable_keep_alives": true, "log_file": true,
	"enable_reauth_on_new_credentials": true, "ca_path": true, "tls_server_name": true,
}

func (d *decoder) body(list *ast.ObjectList, where string, line int, known ...string) *body {
	b := &body{d: d, where: where, line: line, items: map[string][]*ast.ObjectItem{}}
	if list == nil {
		return b
	}
	ok := map[string]bool{}
	for _, k := range known {
		ok[k] = true
	}
	for _, it := range list.Items {
		if len(it.Keys) == 0 {
			continue
		}
		k := keyName(it.Keys[0])
		switch {
		case d.refused != nil && hasKey(d.refused, k):
			d.errorf(itemLine(it), "%q is an agent setting; strongbox proxy does not take it", k)
		case ok[k]:
			b.items[k] = append(b.items[k], it)
		case notYet[k]:
			d.errorf(itemLine(it), "%s%q is not supported by strongbox agent", prefix(where), k)
		default:
			sort.Strings(known)
			d.errorf(itemLine(it), "%sunknown key %q (accepted: %s)", prefix(where), k, strings.Join(known, ", "))
		}
	}
	return b
}

func prefix(where string) string {
	if where == "" {
		return ""
	}
	return where + ": "
}

func keyName(k *ast.ObjectKey) string {
	if k.Token.Type == token.STRING {
		if s, err := tokenString(k.Token); err == nil {
			return strings.ToLower(s)
		}
	}
	return strings.ToLower(k.Token.Text)
}

func itemLine(it *ast.ObjectItem) int {
	if len(it.Keys) > 0 && it.Keys[0].Token.Pos.Line > 0 {
		return it.Keys[0].Token.Pos.Line
	}
	return it.Assign.Line
}

func tokenString(tok token.Token) (s string, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = "", fmt.Errorf("malformed string %.40s", tok.Text)
		}
	}()
	if tok.Type != token.STRING && tok.Type != token.HEREDOC {
		return "", fmt.Errorf("expected a string, got %s", strings.ToLower(tok.Type.String()))
	}
	v, ok := tok.Value().(string)
	if !ok {
		return "", fmt.Errorf("malformed string %.40s", tok.Text)
	}
	return v, nil
}

// scalar returns the single literal set for key, or nil when unset.
func (b *body) scalar(key string) (*ast.LiteralType, int) {
	its := b.items[key]
	if len(its) == 0 {
		return nil, 0
	}
	if len(its) > 1 {
		b.d.errorf(itemLine(its[1]), "%s%q is set more than once", prefix(b.where), key)
	}
	it := its[0]
	if len(it.Keys) > 1 {
		b.d.errorf(itemLine(it), "%s%q takes a value, not a block", prefix(b.where), key)
		return nil, 0
	}
	lit, ok := it.Val.(*ast.LiteralType)
	if !ok {
		b.d.errorf(itemLine(it), "%s%q must be a single value", prefix(b.where), key)
		return nil, 0
	}
	return lit, itemLine(it)
}

func (b *body) str(key string, dst *string) {
	lit, line := b.scalar(key)
	if lit == nil {
		return
	}
	switch lit.Token.Type {
	case token.STRING, token.HEREDOC:
		s, err := tokenString(lit.Token)
		if err != nil {
			b.d.errorf(line, "%s%s: %v", prefix(b.where), key, err)
			return
		}
		*dst = s
	case token.NUMBER, token.FLOAT, token.BOOL:
		*dst = lit.Token.Text
	}
}

func (b *body) boolean(key string, dst *bool) {
	lit, line := b.scalar(key)
	if lit == nil {
		return
	}
	text := lit.Token.Text
	if lit.Token.Type == token.STRING {
		text, _ = tokenString(lit.Token)
	}
	v, err := strconv.ParseBool(text)
	if err != nil {
		b.d.errorf(line, "%s%s: expected true or false, got %s", prefix(b.where), key, lit.Token.Text)
		return
	}
	*dst = v
}

func (b *body) integer(key string, dst *int) {
	lit, line := b.scalar(key)
	if lit == nil {
		return
	}
	text := lit.Token.Text
	if lit.Token.Type == token.STRING {
		text, _ = tokenString(lit.Token)
	}
	v, err := strconv.ParseInt(text, 10, 32)
	if err != nil {
		b.d.errorf(line, "%s%s: expected an integer, got %s", prefix(b.where), key, lit.Token.Text)
		return
	}
	*dst = int(v)
}

// mode reads a file mode: a number written in octal in HCL (0640), or a
// string of octal digits ("0640"), as Vault's file sink takes it.
func (b *body) mode(key string, dst *uint32) {
	lit, line := b.scalar(key)
	if lit == nil {
		return
	}
	var v int64
	var err error
	switch lit.Token.Type {
	case token.NUMBER:
		v, err = strconv.ParseInt(lit.Token.Text, 0, 32)
	case token.STRING:
		s, _ := tokenString(lit.Token)
		v, err = strconv.ParseInt(s, 8, 32)
	default:
		err = fmt.Errorf("not a number")
	}
	if err != nil || v < 0 || v > 0o777 {
		b.d.errorf(line, "%s%s: expected a file mode such as 0640, got %s", prefix(b.where), key, lit.Token.Text)
		return
	}
	*dst = uint32(v)
}

func (b *body) duration(key string, dst *time.Duration) {
	lit, line := b.scalar(key)
	if lit == nil {
		return
	}
	var raw any = lit.Token.Text
	if lit.Token.Type == token.STRING {
		raw, _ = tokenString(lit.Token)
	}
	v, err := parseutil.ParseDurationSecond(raw)
	if err != nil || v < 0 {
		b.d.errorf(line, "%s%s: expected a duration such as 30s, got %s", prefix(b.where), key, lit.Token.Text)
		return
	}
	*dst = v
}

// block is one stanza: its label (when it takes one) and body.
type block struct {
	label string
	line  int
	list  *ast.ObjectList
	flat  bool // built from keys hcl flattened (nested JSON objects)
}

// blocks returns every `key ["label"] { … }` stanza for key.
func (b *body) blocks(key string, labelled bool) []block {
	var out []block
	for _, it := range b.items[key] {
		line := itemLine(it)
		label := ""
		keys := it.Keys
		if labelled {
			if len(keys) < 2 {
				b.d.errorf(line, "%s%s needs a type: %s \"<type>\" { … }", prefix(b.where), key, key)
				continue
			}
			label = keys[1].Token.Text
			if keys[1].Token.Type == token.STRING {
				label, _ = tokenString(keys[1].Token)
			}
			keys = keys[2:]
		} else {
			keys = keys[1:]
		}
		if len(keys) > 0 {
			// `a "b" c { … }`, which is also what hcl makes of nested JSON
			// objects, is block a "b" holding block c.
			rest := &ast.ObjectItem{Keys: keys, Assign: it.Assign, Val: it.Val}
			out = append(out, block{label: label, line: line, list: &ast.ObjectList{Items: []*ast.ObjectItem{rest}}, flat: true})
			continue
		}
		obj, ok := it.Val.(*ast.ObjectType)
		if !ok {
			b.d.errorf(line, "%s%s must be a block { … }", prefix(b.where), key)
			continue
		}
		out = append(out, block{label: label, line: line, list: obj.List})
	}
	return out
}

// one returns the single unlabelled stanza for key, or nil.
func (b *body) one(key string) *block {
	bs := b.blocks(key, false)
	if len(bs) == 0 {
		return nil
	}
	merged := block{label: bs[0].label, line: bs[0].line, list: &ast.ObjectList{}}
	for i, bl := range bs {
		if i > 0 && !(bl.flat && bs[0].flat) {
			b.d.errorf(bl.line, "%s%s is given more than once", prefix(b.where), key)
			break
		}
		if bl.list != nil {
			merged.list.Items = append(merged.list.Items, bl.list.Items...)
		}
	}
	return &merged
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// strList reads a list of strings (a single string is a list of one).
func (b *body) strList(key string, dst *[]string) {
	its := b.items[key]
	if len(its) == 0 {
		return
	}
	it := its[0]
	if len(its) > 1 {
		b.d.errorf(itemLine(its[1]), "%s%q is set more than once", prefix(b.where), key)
	}
	var out []string
	switch v := it.Val.(type) {
	case *ast.LiteralType:
		s, err := tokenString(v.Token)
		if err != nil {
			b.d.errorf(itemLine(it), "%s%s: %v", prefix(b.where), key, err)
			return
		}
		out = []string{s}
	case *ast.ListType:
		for _, e := range v.List {
			lit, ok := e.(*ast.LiteralType)
			if !ok {
				b.d.errorf(itemLine(it), "%s%s must be a list of strings", prefix(b.where), key)
				return
			}
			s, err := tokenString(lit.Token)
			if err != nil {
				b.d.errorf(itemLine(it), "%s%s: %v", prefix(b.where), key, err)
				return
			}
			out = append(out, s)
		}
	default:
		b.d.errorf(itemLine(it), "%s%s must be a list of strings", prefix(b.where), key)
		return
	}
	*dst = out
}
