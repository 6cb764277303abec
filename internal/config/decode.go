package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// Error is one problem in a configuration file. Parse, Load and Validate
// return these (joined with errors.Join when there are several).
type Error struct {
	File string // the name given to Parse, or the path Load read
	Line int    // 1-based; 0 when unknown
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// decoder walks one file's syntax tree, collecting every problem so the
// user sees them all at once.
type decoder struct {
	file        string
	errs        []error
	ignored     []string
	unsupported []keyAt
}

func (d *decoder) errorf(line int, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) ignore(line int, key string) {
	d.ignored = append(d.ignored, fmt.Sprintf("%s:%d: %s", d.file, line, key))
	d.unsupported = append(d.unsupported, keyAt{File: d.file, Line: line, Key: key})
}

// unknown reports an unknown key, suggesting the closest known one.
func (d *decoder) unknown(line int, where, key string, known []string) {
	msg := fmt.Sprintf("unknown key %q", key)
	if where != "" {
		msg = where + ": " + msg
	}
	if s := closest(key, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Msg: msg})
}

// seen reports (once) a key that appears twice in one object. HCL's parser
// already refuses repeated assignments; JSON objects reach us with them.
func (d *decoder) seen(seen map[string]bool, line int, where, key string) bool {
	if seen[key] {
		d.errorf(line, "%s%q is set more than once", prefix(where), key)
		return true
	}
	seen[key] = true
	return false
}

func prefix(where string) string {
	if where == "" {
		return ""
	}
	return where + ": "
}

// itemLine is the line of an item's key, or of its ":" in JSON, whose
// keys carry no position.
func itemLine(it *ast.ObjectItem) int {
	if len(it.Keys) > 0 && it.Keys[0].Token.Pos.Line > 0 {
		return it.Keys[0].Token.Pos.Line
	}
	if it.Assign.Line > 0 {
		return it.Assign.Line
	}
	switch v := it.Val.(type) {
	case *ast.LiteralType:
		return v.Token.Pos.Line
	case *ast.ObjectType:
		return v.Lbrace.Line
	case *ast.ListType:
		return v.Lbrack.Line
	}
	return 0
}

// keyName is an object key's text, unquoted, lower-cased: Vault matches
// keys case-insensitively.
func keyName(k *ast.ObjectKey) string {
	if k.Token.Type == token.STRING {
		if s, err := tokenString(k.Token); err == nil {
			return strings.ToLower(s)
		}
	}
	return strings.ToLower(k.Token.Text)
}

// block returns the label (when labelled) and the body of a stanza item.
// Extra keys nest: `listener "tcp" "telemetry" {…}`, which is also what
// hcl makes of JSON objects holding only objects, becomes a tcp listener
// whose body holds a telemetry block.
func (d *decoder) block(it *ast.ObjectItem, what string, labelled bool) (string, *ast.ObjectList, bool) {
	skip, label := 1, ""
	if labelled && len(it.Keys) > 1 {
		tok := it.Keys[1].Token
		label = tok.Text
		if tok.Type == token.STRING {
			if s, err := tokenString(tok); err == nil {
				label = s
			}
		}
		skip = 2
	}
	if len(it.Keys) > skip {
		rest := &ast.ObjectItem{Keys: it.Keys[skip:], Assign: it.Assign, Val: it.Val}
		return label, &ast.ObjectList{Items: []*ast.ObjectItem{rest}}, true
	}
	if obj, ok := it.Val.(*ast.ObjectType); ok {
		if obj.List == nil {
			return label, &ast.ObjectList{}, true
		}
		return label, obj.List, true
	}
	d.errorf(itemLine(it), "%s must be a block { … }, got %s", what, describe(it.Val))
	return label, nil, false
}

// objects returns the bodies of a repeatable block: `retry_join { … }`
// given several times, or `retry_join = [{ … }, { … }]`.
func (d *decoder) objects(it *ast.ObjectItem, what string) []*ast.ObjectList {
	if len(it.Keys) > 1 {
		d.errorf(itemLine(it), "%s takes no label", what)
		return nil
	}
	switch v := it.Val.(type) {
	case *ast.ObjectType:
		if v.List == nil {
			return []*ast.ObjectList{{}}
		}
		return []*ast.ObjectList{v.List}
	case *ast.ListType:
		out := make([]*ast.ObjectList, 0, len(v.List))
		for _, elem := range v.List {
			obj, ok := elem.(*ast.ObjectType)
			if !ok {
				d.errorf(itemLine(it), "%s must be a block or a list of blocks, got a list holding %s", what, describe(elem))
				return nil
			}
			if obj.List == nil {
				obj.List = &ast.ObjectList{}
			}
			out = append(out, obj.List)
		}
		return out
	}
	d.errorf(itemLine(it), "%s must be a block { … }, got %s", what, describe(it.Val))
	return nil
}

func describe(n ast.Node) string {
	switch v := n.(type) {
	case nil:
		return "nothing"
	case *ast.ObjectType:
		return "a block"
	case *ast.ListType:
		return "a list"
	case *ast.LiteralType:
		switch v.Token.Type {
		case token.STRING, token.HEREDOC:
			return "a string"
		case token.NUMBER, token.FLOAT:
			return "a number"
		case token.BOOL:
			return "a boolean"
		}
	}
	return fmt.Sprintf("%T", n)
}

// literal returns the token of a single value.
func literal(n ast.Node) (token.Token, error) {
	lit, ok := n.(*ast.LiteralType)
	if !ok {
		return token.Token{}, fmt.Errorf("expected a single value, got %s", describe(n))
	}
	return lit.Token, nil
}

// tokenString unquotes a string or heredoc token. hcl's Token.Value
// panics on malformed input it let through; that becomes an error here.
func tokenString(tok token.Token) (s string, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = "", fmt.Errorf("malformed string %.40s", tok.Text)
		}
	}()
	if tok.Type != token.STRING && tok.Type != token.HEREDOC {
		return "", fmt.Errorf("expected a string, got %s", tok.Type)
	}
	v, ok := tok.Value().(string)
	if !ok {
		return "", fmt.Errorf("malformed string %.40s", tok.Text)
	}
	return v, nil
}

// asString accepts a string, or a number or boolean rendered as text.
func asString(n ast.Node) (string, error) {
	tok, err := literal(n)
	if err != nil {
		return "", err
	}
	switch tok.Type {
	case token.STRING, token.HEREDOC:
		return tokenString(tok)
	case token.NUMBER:
		i, err := strconv.ParseInt(tok.Text, 0, 64)
		if err != nil {
			return "", fmt.Errorf("number %s is out of range", tok.Text)
		}
		return strconv.FormatInt(i, 10), nil
	case token.FLOAT, token.BOOL:
		return tok.Text, nil
	}
	return "", fmt.Errorf("expected a string, got %s", tok.Type)
}

// asBool accepts true/false, 1/0 and strings strconv.ParseBool knows.
func asBool(n ast.Node) (bool, error) {
	tok, err := literal(n)
	if err != nil {
		return false, err
	}
	switch tok.Type {
	case token.BOOL:
		return tok.Text == "true", nil
	case token.NUMBER:
		switch tok.Text {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
	case token.STRING, token.HEREDOC:
		s, err := tokenString(tok)
		if err != nil {
			return false, err
		}
		if b, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
			return b, nil
		}
		return false, fmt.Errorf("expected a boolean, got %q", s)
	}
	return false, fmt.Errorf("expected a boolean, got %s", tok.Text)
}

// asInt accepts an integer as a number or a string.
func asInt(n ast.Node) (int64, error) {
	tok, err := literal(n)
	if err != nil {
		return 0, err
	}
	switch tok.Type {
	case token.NUMBER:
		i, err := strconv.ParseInt(tok.Text, 0, 64)
		if err != nil {
			return 0, fmt.Errorf("number %s is out of range", tok.Text)
		}
		return i, nil
	case token.FLOAT:
		f, err := strconv.ParseFloat(tok.Text, 64)
		if err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<62 {
			return int64(f), nil
		}
	case token.STRING, token.HEREDOC:
		s, err := tokenString(tok)
		if err != nil {
			return 0, err
		}
		if i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			return i, nil
		}
		return 0, fmt.Errorf("expected an integer, got %q", s)
	}
	return 0, fmt.Errorf("expected an integer, got %s", tok.Text)
}

// asDuration accepts a Go duration string ("768h", "30m"), a number of
// days ("7d"), or whole seconds as a number or a string.
func asDuration(n ast.Node) (time.Duration, error) {
	tok, err := literal(n)
	if err != nil {
		return 0, err
	}
	switch tok.Type {
	case token.NUMBER:
		i, err := strconv.ParseInt(tok.Text, 0, 64)
		if err != nil {
			return 0, fmt.Errorf("duration %s is out of range", tok.Text)
		}
		return seconds(i)
	case token.FLOAT:
		f, err := strconv.ParseFloat(tok.Text, 64)
		if err != nil || f < 0 || f > math.MaxInt64/float64(time.Second) {
			return 0, fmt.Errorf("invalid duration %s", tok.Text)
		}
		return time.Duration(f * float64(time.Second)), nil
	case token.STRING, token.HEREDOC:
		s, err := tokenString(tok)
		if err != nil {
			return 0, err
		}
		return parseDuration(s)
	}
	return 0, fmt.Errorf("expected a duration, got %s", tok.Text)
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return seconds(i)
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if i, err := strconv.ParseInt(days, 10, 64); err == nil {
			if i < 0 || i > math.MaxInt64/int64(24*time.Hour) {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			return time.Duration(i) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use a number of seconds or a duration like \"30m\" or \"768h\"", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	return d, nil
}

func seconds(i int64) (time.Duration, error) {
	if i < 0 || i > math.MaxInt64/int64(time.Second) {
		return 0, fmt.Errorf("invalid duration %d: must be between 0 and %d seconds", i, math.MaxInt64/int64(time.Second))
	}
	return time.Duration(i) * time.Second, nil
}

// asStringList accepts a list of scalars or one comma-separated string.
func asStringList(n ast.Node) ([]string, error) {
	if list, ok := n.(*ast.ListType); ok {
		out := make([]string, 0, len(list.List))
		for _, elem := range list.List {
			s, err := asString(elem)
			if err != nil {
				return nil, fmt.Errorf("list element: %w", err)
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := asString(n)
	if err != nil {
		return nil, errors.New("expected a list or a comma-separated string, got " + describe(n))
	}
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out, nil
}

// render turns a scalar into the string a backend's Config map holds.
func render(n ast.Node) (string, error) {
	tok, err := literal(n)
	if err != nil {
		return "", err
	}
	if tok.Type == token.FLOAT {
		if _, err := strconv.ParseFloat(tok.Text, 64); err != nil {
			return "", fmt.Errorf("malformed number %s", tok.Text)
		}
	}
	return asString(n)
}

// setScalar decodes n into the field p points at.
func setScalar(p any, n ast.Node) error {
	var err error
	switch p := p.(type) {
	case *string:
		*p, err = asString(n)
	case *bool:
		*p, err = asBool(n)
	case *int64:
		*p, err = asInt(n)
	case *time.Duration:
		*p, err = asDuration(n)
	case *[]string:
		*p, err = asStringList(n)
	case **bool:
		var b bool
		if b, err = asBool(n); err == nil {
			*p = &b
		}
	default:
		panic(fmt.Sprintf("config: no decoder for %T", p))
	}
	return err
}

// copyField copies the field src points at into dst's.
func copyField(dst, src any) {
	switch d := dst.(type) {
	case *string:
		*d = *src.(*string)
	case *bool:
		*d = *src.(*bool)
	case *int64:
		*d = *src.(*int64)
	case *time.Duration:
		*d = *src.(*time.Duration)
	case *[]string:
		*d = append([]string(nil), *src.(*[]string)...)
	default:
		panic(fmt.Sprintf("config: cannot copy %T", dst))
	}
}

// decodeObject decodes the scalar keys of body into t through fields,
// handing any other key to other (which reports whether it knew it).
// where names the object in messages ("listener \"tcp\"").
func decodeObject[T any](d *decoder, body *ast.ObjectList, where string, t *T,
	fields map[string]func(*T) any, other func(name string, it *ast.ObjectItem) bool,
) {
	seen := map[string]bool{}
	for _, it := range body.Items {
		if len(it.Keys) == 0 {
			continue
		}
		name, line := keyName(it.Keys[0]), itemLine(it)
		if other != nil && other(name, it) {
			continue
		}
		ptr, ok := fields[name]
		if !ok {
			known := make([]string, 0, len(fields))
			for k := range fields {
				known = append(known, k)
			}
			d.unknown(line, where, name, known)
			continue
		}
		if d.seen(seen, line, where, name) {
			continue
		}
		if len(it.Keys) > 1 {
			d.errorf(line, "%s%s: expected a single value, got a block", prefix(where), name)
			continue
		}
		if err := setScalar(ptr(t), it.Val); err != nil {
			d.errorf(line, "%s%s: %v", prefix(where), name, err)
		}
	}
}

// closest returns the known key within edit distance 2 of key, if any.
func closest(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(key, k); dist < bestDist || (dist == bestDist && k < best) {
			best, bestDist = k, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
