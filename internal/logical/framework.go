package logical

import (
	"context"
	"errors"
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

// PeriodicFunc is a backend's periodic job (key auto-rotation, tidying
// expired entries).
type PeriodicFunc func(ctx context.Context, req *Request) error

// RollbackFunc undoes what an interrupted operation left half done (Vault's
// WAL rollback).
type RollbackFunc func(ctx context.Context, req *Request) error

// FrameworkBackend routes requests to Paths by regular expression. The first
// path whose pattern matches serves the request. Renew, revoke and rollback
// do not route by path: they go to Secrets, AuthRenew, PeriodicFunc and
// Rollback.
type FrameworkBackend struct {
	Paths        []*Path
	PathsSpecial *Paths
	// Secrets are the kinds of leased secret the backend issues; a renew
	// or revoke of a lease goes to the type named in its InternalData.
	Secrets []*SecretType
	// AuthRenew renews a login token this auth method issued (a
	// RenewOperation with req.Auth set): it checks the login is still
	// valid (the user still exists, the role still allows it) and returns
	// a response whose Auth carries the new TTL. Nil: not renewable here.
	// Its FieldData has no schema (d.Raw is the request body): read
	// req.Auth.
	AuthRenew OperationFunc
	// PeriodicFunc runs about once a minute (core Config.PeriodicInterval)
	// on the active node only, never on a standby, with the mount's
	// storage in req.Storage. ctx is cancelled when the node seals or
	// steps down: return promptly then (the core waits a moment, then
	// leaves a run behind). A run still going when the next is due is not
	// started twice. A panic or an error is logged; the next run comes
	// anyway.
	PeriodicFunc PeriodicFunc
	// Rollback runs right after PeriodicFunc on the same schedule (Vault's
	// rollback manager): it finds work that a crash interrupted (entries
	// the engine wrote ahead of an external change, as Vault's WAL) and
	// finishes or undoes it. It must be idempotent and safe to run
	// concurrently with requests; same context rules as PeriodicFunc.
	Rollback RollbackFunc
	// Clean runs on Cleanup.
	Clean func(ctx context.Context)

	once    sync.Once
	secrets map[string]*SecretType
}

func (b *FrameworkBackend) init() {
	b.once.Do(func() {
		for _, p := range b.Paths {
			p.re = regexp.MustCompile("^" + p.Pattern + "$")
		}
		b.secrets = make(map[string]*SecretType, len(b.Secrets))
		for _, s := range b.Secrets {
			// Two types of one name would make leases ambiguous: a
			// programming error, caught at the first request like a bad
			// Pattern.
			if _, dup := b.secrets[s.Type]; dup || s.Type == "" {
				panic(fmt.Sprintf("logical: secret type %q declared twice or empty", s.Type))
			}
			b.secrets[s.Type] = s
		}
	})
}

// Secret returns the backend's secret type named typ, or nil.
func (b *FrameworkBackend) Secret(typ string) *SecretType {
	b.init()
	return b.secrets[typ]
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
	switch req.Operation {
	case RenewOperation, RevokeOperation:
		return b.handleLease(ctx, req)
	case RollbackOperation:
		return nil, b.handleRollback(ctx, req)
	}
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

// handleLease sends a renew or revoke to the handler that owns the lease:
// AuthRenew for a login token, else the secret type named in the secret.
func (b *FrameworkBackend) handleLease(ctx context.Context, req *Request) (*Response, error) {
	if req.Operation == RenewOperation && req.Auth != nil {
		if b.AuthRenew == nil {
			return nil, fmt.Errorf("%w: this auth method does not renew its tokens", ErrUnsupportedOperation)
		}
		raw := make(map[string]any, len(req.Data))
		for k, v := range req.Data {
			raw[k] = v
		}
		return b.AuthRenew(ctx, req, &FieldData{Raw: raw, Schema: map[string]*FieldSchema{}})
	}
	if req.Secret == nil {
		return nil, fmt.Errorf("%w: %s request carries no secret", ErrInvalidRequest, req.Operation)
	}
	typ, _ := req.Secret.InternalData[SecretTypeKey].(string)
	st := b.Secret(typ)
	if st == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownSecretType, typ)
	}
	if req.Operation == RenewOperation {
		return st.handleRenew(ctx, req)
	}
	return st.handleRevoke(ctx, req)
}

// handleRollback runs the periodic job, then the rollback hook; both run
// even when the first fails.
func (b *FrameworkBackend) handleRollback(ctx context.Context, req *Request) error {
	var errs []error
	if b.PeriodicFunc != nil {
		if err := b.PeriodicFunc(ctx, req); err != nil {
			errs = append(errs, fmt.Errorf("periodic func: %w", err))
		}
	}
	if b.Rollback != nil {
		if err := b.Rollback(ctx, req); err != nil {
			errs = append(errs, fmt.Errorf("rollback: %w", err))
		}
	}
	return errors.Join(errs...)
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
