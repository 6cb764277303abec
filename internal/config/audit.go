package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// Audit is one `audit "TYPE" "PATH" { … }` stanza: an audit device the
// server keeps enabled. Its body takes the parameters of POST
// sys/audit/:path.
type Audit struct {
	Type        string
	Path        string            // as written; the core normalizes it ("file" → "file/")
	Description string            // description
	Local       bool              // local
	Options     map[string]string // options { … }: the device's options, as strings
	File        string
	Line        int
}

var auditFields = map[string]func(*Audit) any{
	"description": func(a *Audit) any { return &a.Description },
	"local":       func(a *Audit) any { return &a.Local },
}

func (d *decoder) audit(it *ast.ObjectItem) *Audit {
	line := itemLine(it)
	fields, ok := it.Val.(*ast.ObjectType)
	if len(it.Keys) > 3 {
		// hcl's JSON reading turns {"sock/": {"options": {…}}} into the keys
		// audit, socket, sock/, options: put the body back together.
		rest := &ast.ObjectItem{Keys: it.Keys[3:], Assign: it.Assign, Val: it.Val}
		fields, ok = &ast.ObjectType{List: &ast.ObjectList{Items: []*ast.ObjectItem{rest}}}, true
	}
	if len(it.Keys) < 3 || !ok {
		d.errorf(line, `audit needs a type and a path: audit "file" "file" { options { file_path = "…" } }`)
		return nil
	}
	typ, path := labelText(it.Keys[1].Token), labelText(it.Keys[2].Token)
	if strings.TrimSpace(typ) == "" || strings.TrimSpace(path) == "" {
		d.errorf(line, "audit: the type and the path cannot be empty")
		return nil
	}
	a := &Audit{Type: strings.ToLower(typ), Path: path, Options: map[string]string{}, File: d.file, Line: line}
	where := fmt.Sprintf("audit %q %q", a.Type, a.Path)
	list := fields.List
	if list == nil {
		list = &ast.ObjectList{}
	}
	decodeObject(d, list, where, a, auditFields, func(name string, sub *ast.ObjectItem) bool {
		if name != "options" {
			return false
		}
		_, opts, ok := d.block(sub, where+": options", false)
		if !ok {
			return true
		}
		for _, o := range opts.Items {
			if len(o.Keys) != 1 {
				d.errorf(itemLine(o), "%s: options: %s: expected a value, got a block", where, keyName(o.Keys[0]))
				continue
			}
			v, err := render(o.Val)
			if err != nil {
				d.errorf(itemLine(o), "%s: options: %s: %v", where, labelText(o.Keys[0].Token), err)
				continue
			}
			a.Options[labelText(o.Keys[0].Token)] = v
		}
		return true
	})
	return a
}

// labelText is a key's text with the quotes of a string removed and its
// case kept (paths and option names are case-sensitive).
func labelText(tok token.Token) string {
	if tok.Type == token.STRING {
		if s, err := tokenString(tok); err == nil {
			return s
		}
	}
	return tok.Text
}
