package logical

import (
	"context"
	"fmt"
	"time"
)

// LeaseOptions are the lease terms of a Secret.
type LeaseOptions struct {
	// TTL is the lease's duration from IssueTime (from now on renewal);
	// the envelope's lease_duration. Zero means the mount's default.
	TTL time.Duration
	// MaxTTL caps the lease's whole life, counted from IssueTime; zero
	// means the mount's max lease TTL.
	MaxTTL time.Duration
	// Renewable reports whether the lease may be renewed.
	Renewable bool
	// Increment is the extension a renewal asks for (set by the core on
	// RenewOperation; zero means "the lease's own TTL").
	Increment time.Duration
	// IssueTime is when the lease began (set by the core).
	IssueTime time.Time
}

// Secret describes a leased response: what an engine hands out that the
// core must renew and revoke through the engine later (a database user, a
// cloud credential). An engine builds it with SecretType.Response.
type Secret struct {
	LeaseOptions
	// InternalData is what the engine needs to renew or revoke the secret
	// later (a user name, the role it came from). The lease manager keeps
	// it with the lease and hands it back in req.Secret; it is never shown
	// to clients and never audited in clear. SecretType.Response puts the
	// secret's type under SecretTypeKey so the framework can dispatch.
	InternalData map[string]any
	// LeaseID is filled by the core when it registers the lease
	// ("<request path>/<random id>"); engines leave it empty.
	LeaseID string
}

// SecretTypeKey is the InternalData key naming a Secret's SecretType.
const SecretTypeKey = "secret_type"

// SecretType is one kind of leased secret a FrameworkBackend issues,
// declared in FrameworkBackend.Secrets. The core calls Renew and Revoke
// through the backend's HandleRequest with req.Secret set to what the
// engine returned (InternalData included).
type SecretType struct {
	// Type names the secret; unique within the backend ("kv", "creds").
	Type string
	// Fields describe the response data (documentation; the framework
	// does not validate responses against them).
	Fields map[string]*FieldSchema
	// DefaultDuration is the TTL Response gives the lease; zero leaves it
	// to the mount's default lease TTL.
	DefaultDuration time.Duration
	// Renew extends the lease. It returns a response whose Secret carries
	// the new TTL (and, if it changed, InternalData). Nil means the secret
	// is not renewable.
	Renew OperationFunc
	// Revoke destroys what the secret grants (drops the database user).
	// It must be idempotent: the core retries it until it succeeds. Nil
	// means revocation has nothing to undo in the engine.
	Revoke OperationFunc
}

// Renewable reports whether the type can be renewed.
func (s *SecretType) Renewable() bool { return s.Renew != nil }

// Response builds a response carrying a secret of this type: data for the
// client, internal for the lease (copied, with SecretTypeKey added).
func (s *SecretType) Response(data, internal map[string]any) *Response {
	in := make(map[string]any, len(internal)+1)
	for k, v := range internal {
		in[k] = v
	}
	in[SecretTypeKey] = s.Type
	return &Response{
		Data: data,
		Secret: &Secret{
			LeaseOptions: LeaseOptions{TTL: s.DefaultDuration, Renewable: s.Renewable()},
			InternalData: in,
		},
	}
}

// handleRenew serves RenewOperation for a secret of this type.
func (s *SecretType) handleRenew(ctx context.Context, req *Request) (*Response, error) {
	if s.Renew == nil {
		return nil, fmt.Errorf("%w: secret type %q is not renewable", ErrUnsupportedOperation, s.Type)
	}
	d := secretFieldData(s, req)
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return s.Renew(ctx, req, d)
}

// handleRevoke serves RevokeOperation for a secret of this type. A type
// without Revoke has nothing to undo: the lease just ends.
func (s *SecretType) handleRevoke(ctx context.Context, req *Request) (*Response, error) {
	if s.Revoke == nil {
		return nil, nil
	}
	d := secretFieldData(s, req)
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return s.Revoke(ctx, req, d)
}

// secretFieldData exposes the request body (a renewal's increment, for
// instance) to the handler, under the secret type's schema.
func secretFieldData(s *SecretType, req *Request) *FieldData {
	raw := make(map[string]any, len(req.Data))
	for k, v := range req.Data {
		raw[k] = v
	}
	schema := s.Fields
	if schema == nil {
		schema = map[string]*FieldSchema{}
	}
	return &FieldData{Raw: raw, Schema: schema}
}
