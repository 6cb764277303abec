package logical

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// OperationFunc handles one operation on a path.
type OperationFunc func(ctx context.Context, req *Request, d *FieldData) (*Response, error)

// ExistenceFunc reports whether a write's target exists.
type ExistenceFunc func(ctx context.Context, req *Request, d *FieldData) (bool, error)

// Path is one route of a FrameworkBackend.
type Path struct {
	// Pattern is a regular expression anchored at both ends; named groups
	// become fields: "data/(?P<path>.+)".
	Pattern    string
	Fields     map[string]*FieldSchema
	Operations map[Operation]OperationFunc
	// ExistenceCheck lets the core tell create from update.
	ExistenceCheck ExistenceFunc
	HelpSynopsis   string

	re *regexp.Regexp
}

// FrameworkBackend routes requests to Paths by regular expression. The first
// path whose pattern matches serves the request.
type FrameworkBackend struct {
	Paths        []*Path
	PathsSpecial *Paths
	// Clean runs on Cleanup.
	Clean func(ctx context.Context)

	once sync.Once
}

func (b *FrameworkBackend) init() {
	b.once.Do(func() {
		for _, p := range b.Paths {
			p.re = regexp.MustCompile("^" + p.Pattern + "$")
		}
	})
}

func (b *FrameworkBackend) route(path string) (*Path, map[string]string) {
	b.init()
	for _, p := range b.Paths {
		m := p.re.FindStringSubmatch(path)
		if m == nil {
			continue
		}
		caps := map[string]string{}
		for i, name := range p.re.SubexpNames() {
			if name != "" && m[i] != "" {
				caps[name] = m[i]
			}
		}
		return p, caps
	}
	return nil, nil
}

func fieldData(p *Path, req *Request, caps map[string]string) *FieldData {
	raw := make(map[string]any, len(req.Data)+len(caps))
	// Raw keeps JSON nulls: FieldData's getters read them as "not given",
	// and a handler that reads Raw itself may give null a meaning (a merge
	// patch's "remove", KV metadata's "reset", as in Vault).
	for k, v := range req.Data {
		raw[k] = v
	}
	// Path captures win over body fields of the same name.
	for k, v := range caps {
		raw[k] = v
	}
	schema := p.Fields
	if schema == nil {
		schema = map[string]*FieldSchema{}
	}
	return &FieldData{Raw: raw, Schema: schema}
}

// HandleRequest implements Backend.
func (b *FrameworkBackend) HandleRequest(ctx context.Context, req *Request) (*Response, error) {
	p, caps := b.route(req.Path)
	if p == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedPath, req.Path)
	}
	op := req.Operation
	fn := p.Operations[op]
	if fn == nil && op == CreateOperation {
		fn = p.Operations[UpdateOperation]
	}
	if fn == nil && op == UpdateOperation {
		fn = p.Operations[CreateOperation]
	}
	if fn == nil {
		return nil, ErrUnsupportedOperation
	}
	d := fieldData(p, req, caps)
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return fn(ctx, req, d)
}

// ExistenceCheck implements Backend.
func (b *FrameworkBackend) ExistenceCheck(ctx context.Context, req *Request) (bool, bool, error) {
	p, caps := b.route(req.Path)
	if p == nil || p.ExistenceCheck == nil {
		return false, false, nil
	}
	d := fieldData(p, req, caps)
	ok, err := p.ExistenceCheck(ctx, req, d)
	return true, ok, err
}

// SpecialPaths implements Backend.
func (b *FrameworkBackend) SpecialPaths() *Paths {
	if b.PathsSpecial == nil {
		return &Paths{}
	}
	return b.PathsSpecial
}

// Cleanup implements Backend.
func (b *FrameworkBackend) Cleanup(ctx context.Context) {
	if b.Clean != nil {
		b.Clean(ctx)
	}
}

// PathMatches reports whether path matches a special-paths pattern (exact,
// or by prefix when the pattern ends in "*").
func PathMatches(pattern, path string) bool {
	if strings.HasSuffix(pattern, "*") {
		return strings.HasPrefix(path, strings.TrimSuffix(pattern, "*"))
	}
	return pattern == path
}
