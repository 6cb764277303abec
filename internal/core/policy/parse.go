package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	hclstrconv "github.com/hashicorp/hcl/hcl/strconv"
	"github.com/hashicorp/hcl/hcl/token"

	"github.com/strongbox/strongbox/internal/logical"
)

// Parse parses an ACL policy written in HCL or JSON (the same structure:
// {"path": {"secret/*": {"capabilities": ["read"]}}}). The name is
// sanitized (trimmed, lowercased) and may be empty; "root" is refused
// (ErrImmutablePolicy) so that no text can pose as the root policy. Any
// problem in the text is an error wrapping ErrInvalidPolicy, naming the path
// and line when known. Empty text is a valid policy that grants nothing.
func Parse(name, raw string) (p *Policy, err error) {
	name = SanitizeName(name)
	if name == RootName {
		return nil, userErrorf(ErrImmutablePolicy, "cannot update %q policy", RootName)
	}
	// The HCL v1 library panics on a few malformed token forms; a policy
	// is user input, so turn any such panic into a parse error.
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, invalidf("%v", r)
		}
	}()
	file, err := hcl.Parse(raw)
	if err != nil {
		return nil, invalidf("%v", err)
	}
	list, ok := file.Node.(*ast.ObjectList)
	if !ok {
		return nil, invalidf("does not contain a root object")
	}
	root, err := objectOf(list)
	if err != nil {
		return nil, invalidf("%v", err)
	}
	p = &Policy{Name: name, Raw: raw, Paths: []*PathRules{}}
	for _, e := range root.entries {
		switch e.key {
		case "name":
			// Accepted for Vault compatibility; the stored name wins.
			if e.val.kind != stringVal {
				return nil, invalidf("%q must be a string%s", e.key, onLine(e.line))
			}
		case "path":
			rules, err := parsePathBlocks(e.val)
			if err != nil {
				return nil, err
			}
			p.Paths = append(p.Paths, rules...)
		default:
			return nil, invalidf("invalid key %q%s", e.key, onLine(e.line))
		}
	}
	return p, nil
}

// parsePathBlocks parses the value of a top-level "path" entry: an object
// mapping each path to its block (HCL's `path "x" {}` and JSON's
// {"path": {"x": {}}} both come out this way), or a list of such objects.
func parsePathBlocks(v *value) ([]*PathRules, error) {
	switch v.kind {
	case listVal:
		var out []*PathRules
		for _, item := range v.list {
			rules, err := parsePathBlocks(item)
			if err != nil {
				return nil, err
			}
			out = append(out, rules...)
		}
		return out, nil
	case objectVal:
		out := make([]*PathRules, 0, len(v.entries))
		for _, e := range v.entries {
			r, err := parsePathBlock(e.key, e.line, e.val)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	}
	return nil, invalidf("\"path\"%s must be a block: path \"<path>\" { ... }", onLine(v.line))
}

// parsePathBlock parses one path block's body.
func parsePathBlock(path string, line int, body *value) (*PathRules, error) {
	fail := func(format string, args ...any) error {
		return invalidf("path %q: %s", path, fmt.Sprintf(format, args...))
	}
	if body.kind != objectVal {
		return nil, fail("the path's rules must be a block%s", onLine(line))
	}
	pat, msg := compilePattern(path)
	if msg != "" {
		return nil, fail("%s%s", msg, onLine(line))
	}
	r := &PathRules{Path: pat.key, Line: line}
	var caps capSet
	seen := make(map[string]int, len(body.entries))
	for _, e := range body.entries {
		if first, dup := seen[e.key]; dup {
			return nil, fail("the argument %q%s was already set%s; each argument can only be defined once", e.key, onLine(e.line), onLine(first))
		}
		seen[e.key] = e.line
		var err error
		switch e.key {
		case "capabilities":
			var names []string
			if names, err = e.val.stringList(); err == nil {
				for _, n := range names {
					c, ok := capByName[n]
					if !ok {
						return nil, fail("invalid capability %q%s", n, onLine(e.line))
					}
					caps |= c
				}
			}
		case "policy":
			if r.Policy, err = e.val.str(); err == nil {
				c, ok := legacyCaps[r.Policy]
				if !ok {
					return nil, fail("invalid policy %q%s", r.Policy, onLine(e.line))
				}
				caps |= c
			}
		case "comment":
			r.Comment, err = e.val.str()
		case "allowed_parameters":
			r.AllowedParameters, err = e.val.parameters()
		case "denied_parameters":
			r.DeniedParameters, err = e.val.parameters()
		case "required_parameters":
			r.RequiredParameters, err = e.val.stringList()
		case "min_wrapping_ttl":
			r.MinWrappingTTL, err = e.val.duration()
		case "max_wrapping_ttl":
			r.MaxWrappingTTL, err = e.val.duration()
		case "mfa_methods":
			r.MFAMethods, err = e.val.stringList()
		case "subscribe_event_types":
			r.SubscribeEventTypes, err = e.val.stringList()
		case "control_group":
			return nil, fail("control_group%s is a Vault Enterprise feature Strongbox does not support", onLine(e.line))
		default:
			return nil, fail("invalid key %q%s", e.key, onLine(e.line))
		}
		if err != nil {
			return nil, fail("%q%s: %v", e.key, onLine(e.line), err)
		}
	}
	if caps.has(capDeny) {
		caps = capDeny
	}
	r.Capabilities = caps.names()
	if r.MinWrappingTTL != 0 && r.MaxWrappingTTL != 0 && r.MaxWrappingTTL < r.MinWrappingTTL {
		return nil, fail("max_wrapping_ttl cannot be less than min_wrapping_ttl")
	}
	return r, nil
}

// valueKind is the shape of a decoded HCL/JSON value.
type valueKind int

const (
	stringVal valueKind = iota
	numberVal
	boolVal
	listVal
	objectVal
)

// value is a decoded HCL/JSON value with its line, independent of the
// quirks of the two syntaxes (JSON objects arrive flattened into multi-key
// items; objectOf folds them back).
type value struct {
	kind    valueKind
	line    int
	scalar  any // string, int64, float64 or bool
	list    []*value
	entries []entry
}

type entry struct {
	key  string
	line int
	val  *value
}

// objectOf decodes an object list. An item with keys k1 k2 ... kn is the
// nested object {k1: {k2: ... {kn: val}}}. Repeated keys are kept in order:
// blocks ("path") may repeat; parsePathBlock refuses repeated attributes.
func objectOf(list *ast.ObjectList) (*value, error) {
	obj := &value{kind: objectVal}
	if list == nil {
		return obj, nil
	}
	obj.line = list.Pos().Line
	for _, item := range list.Items {
		if len(item.Keys) == 0 {
			return nil, fmt.Errorf("object item without a key%s", onLine(item.Val.Pos().Line))
		}
		val, err := valueOf(item.Val)
		if err != nil {
			return nil, err
		}
		for i := len(item.Keys) - 1; i >= 1; i-- {
			k, err := keyOf(item.Keys[i])
			if err != nil {
				return nil, err
			}
			val = &value{kind: objectVal, line: item.Keys[i].Pos().Line,
				entries: []entry{{key: k, line: item.Keys[i].Pos().Line, val: val}}}
		}
		k, err := keyOf(item.Keys[0])
		if err != nil {
			return nil, err
		}
		obj.entries = append(obj.entries, entry{key: k, line: item.Keys[0].Pos().Line, val: val})
	}
	return obj, nil
}

func valueOf(n ast.Node) (*value, error) {
	switch n := n.(type) {
	case *ast.ObjectType:
		return objectOf(n.List)
	case *ast.ListType:
		v := &value{kind: listVal, line: n.Lbrack.Line}
		for _, elem := range n.List {
			ev, err := valueOf(elem)
			if err != nil {
				return nil, err
			}
			v.list = append(v.list, ev)
		}
		return v, nil
	case *ast.LiteralType:
		return literalOf(n.Token)
	case nil:
		return nil, fmt.Errorf("missing value")
	}
	return nil, fmt.Errorf("unexpected %T%s", n, onLine(n.Pos().Line))
}

// literalOf decodes a literal without the panics of token.Value.
func literalOf(t token.Token) (*value, error) {
	v := &value{line: t.Pos.Line}
	switch t.Type {
	case token.STRING, token.IDENT:
		s, err := tokenString(t)
		if err != nil {
			return nil, err
		}
		v.kind, v.scalar = stringVal, s
	case token.HEREDOC:
		if !strings.Contains(t.Text, "\n") {
			return nil, fmt.Errorf("malformed heredoc%s", onLine(t.Pos.Line))
		}
		v.kind, v.scalar = stringVal, t.Value()
	case token.NUMBER:
		i, err := strconv.ParseInt(t.Text, 0, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid number %q%s", t.Text, onLine(t.Pos.Line))
		}
		v.kind, v.scalar = numberVal, i
	case token.FLOAT:
		f, err := strconv.ParseFloat(t.Text, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid number %q%s", t.Text, onLine(t.Pos.Line))
		}
		v.kind, v.scalar = numberVal, f
	case token.BOOL:
		v.kind, v.scalar = boolVal, t.Text == "true"
	default:
		return nil, fmt.Errorf("unexpected %s%s", t.Type, onLine(t.Pos.Line))
	}
	return v, nil
}

func keyOf(k *ast.ObjectKey) (string, error) {
	switch k.Token.Type {
	case token.STRING, token.IDENT:
		return tokenString(k.Token)
	}
	return "", fmt.Errorf("invalid key %q%s", k.Token.Text, onLine(k.Token.Pos.Line))
}

func tokenString(t token.Token) (string, error) {
	if t.Type == token.IDENT || t.Text == "" { // "" is JSON null
		return t.Text, nil
	}
	unquote := hclstrconv.Unquote
	if t.JSON {
		unquote = strconv.Unquote
	}
	s, err := unquote(t.Text)
	if err != nil {
		return "", fmt.Errorf("invalid string %s%s: %w", t.Text, onLine(t.Pos.Line), err)
	}
	return s, nil
}

func (v *value) str() (string, error) {
	if v.kind != stringVal {
		return "", fmt.Errorf("must be a string")
	}
	return v.scalar.(string), nil
}

func (v *value) stringList() ([]string, error) {
	if v.kind != listVal {
		return nil, fmt.Errorf("must be a list of strings")
	}
	out := make([]string, 0, len(v.list))
	for _, item := range v.list {
		s, err := item.str()
		if err != nil {
			return nil, fmt.Errorf("must be a list of strings")
		}
		out = append(out, s)
	}
	return out, nil
}

// parameters decodes {"name" = [values...]}, lowercasing names as Vault does.
func (v *value) parameters() (map[string][]any, error) {
	if v.kind != objectVal {
		return nil, fmt.Errorf("must be a map of parameter names to lists of values")
	}
	out := make(map[string][]any, len(v.entries))
	for _, e := range v.entries {
		if e.val.kind != listVal {
			return nil, fmt.Errorf("parameter %q must be a list of values", e.key)
		}
		vals := make([]any, 0, len(e.val.list))
		for _, item := range e.val.list {
			vals = append(vals, item.plain())
		}
		// An empty list means "any value", so keep it non-nil.
		name := strings.ToLower(e.key)
		if prev, ok := out[name]; ok {
			vals = append(prev, vals...)
		}
		out[name] = vals
	}
	return out, nil
}

// plain converts a value to Go's JSON-like types.
func (v *value) plain() any {
	switch v.kind {
	case listVal:
		out := make([]any, 0, len(v.list))
		for _, item := range v.list {
			out = append(out, item.plain())
		}
		return out
	case objectVal:
		out := make(map[string]any, len(v.entries))
		for _, e := range v.entries {
			out[e.key] = e.val.plain()
		}
		return out
	}
	return v.scalar
}

// duration decodes a TTL: seconds as a number or a string ("90", "1h30m").
func (v *value) duration() (time.Duration, error) {
	if v.kind != stringVal && v.kind != numberVal {
		return 0, fmt.Errorf("must be a duration")
	}
	d, err := logical.ParseDuration(v.scalar)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	return d, nil
}

// onLine renders " on line N", or nothing when the line is unknown (the JSON
// parser keeps no positions).
func onLine(n int) string {
	if n <= 0 {
		return ""
	}
	return " on line " + strconv.Itoa(n)
}
