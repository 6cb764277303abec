package token

import (
	"context"
	"errors"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func (s *Store) handleRenew(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	return s.renewResponse(ctx, d.Get("token").(string), d)
}

func (s *Store) handleRenewSelf(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	return s.renewResponse(ctx, req.ClientToken, d)
}

func (s *Store) renewResponse(ctx context.Context, tok string, d *logical.FieldData) (*logical.Response, error) {
	if tok == "" {
		return nil, logical.BadRequest("missing token ID")
	}
	return s.authRenew(ctx, &logical.Request{
		Operation: logical.RenewOperation,
		Auth:      &logical.Auth{ClientToken: tok, Increment: seconds(d.Get("increment").(int))},
	}, d)
}

func (s *Store) handleRenewAccessor(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	acc := d.Get("accessor").(string)
	if acc == "" {
		return nil, logical.BadRequest("missing accessor")
	}
	return s.authRenew(ctx, &logical.Request{
		Operation: logical.RenewOperation,
		Auth:      &logical.Auth{Accessor: acc, Increment: seconds(d.Get("increment").(int))},
	}, d)
}

// authRenew is the token backend's logical.FrameworkBackend.AuthRenew: it
// renews the token named by req.Auth (ClientToken, or Accessor when the
// token is not known) by req.Auth.Increment. The renew paths use it, and so
// will the lease manager when it renews a token's lease through the
// backend (a RenewOperation with req.Auth set). The answer's Auth carries
// the new TTL; the token itself is echoed only when it was given.
func (s *Store) authRenew(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	a := req.Auth
	if a == nil {
		return nil, logical.BadRequest("missing token ID")
	}
	var (
		e   *Entry
		err error
	)
	switch {
	case a.ClientToken != "":
		if e, err = s.Lookup(ctx, a.ClientToken); err == nil && e == nil {
			return nil, logical.BadRequest("token not found")
		}
	case a.Accessor != "":
		if e, err = s.LookupAccessor(ctx, a.Accessor); err == nil && e == nil {
			return nil, logical.BadRequest("invalid accessor")
		}
	default:
		return nil, logical.BadRequest("missing token ID")
	}
	if err != nil {
		return nil, err
	}
	ne, warnings, err := s.Renew(ctx, e, a.Increment)
	if err != nil {
		return nil, err
	}
	resp := &logical.Response{Auth: authOf(a.ClientToken, ne, ne.RemainingTTL(s.now()).Truncate(time.Second))}
	for _, w := range warnings {
		resp.AddWarning(w)
	}
	return resp, nil
}

// handleRevoke revokes a token and its children; an unknown token is not an
// error (Vault answers 204 either way).
func (s *Store) handleRevoke(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	return s.revokeByToken(ctx, d.Get("token").(string))
}

func (s *Store) handleRevokeSelf(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	return s.revokeByToken(ctx, req.ClientToken)
}

func (s *Store) revokeByToken(ctx context.Context, tok string) (*logical.Response, error) {
	if tok == "" {
		return nil, logical.BadRequest("missing token ID")
	}
	e, err := s.Lookup(ctx, tok)
	if err != nil || e == nil {
		return nil, err
	}
	return nil, s.RevokeTree(ctx, e)
}

func (s *Store) handleRevokeAccessor(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	acc := d.Get("accessor").(string)
	if acc == "" {
		return nil, logical.BadRequest("missing accessor")
	}
	id, err := s.idOfAccessor(ctx, acc)
	if err != nil {
		return nil, err
	}
	if id == "" {
		resp := &logical.Response{}
		resp.AddWarning("No token found with this accessor")
		return resp, nil
	}
	e, err := s.lookupID(ctx, id)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, logical.BadRequest("token not found")
	}
	return nil, s.RevokeTree(ctx, e)
}

func (s *Store) handleRevokeOrphan(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	tok := d.Get("token").(string)
	if tok == "" {
		return nil, logical.BadRequest("missing token ID")
	}
	sudo, err := s.callerHasSudo(ctx, req)
	if err != nil {
		return nil, err
	}
	if !sudo {
		return nil, logical.BadRequest("root or sudo privileges required to revoke and orphan")
	}
	e, err := s.Lookup(ctx, tok)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, logical.BadRequest("token to revoke not found")
	}
	return nil, s.RevokeOrphan(ctx, e)
}

// handleTidy runs Tidy within the request (Vault starts it in the
// background and answers 202; here the answer comes when it is done).
func (s *Store) handleTidy(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	resp := &logical.Response{}
	err := s.Tidy(ctx)
	switch {
	case errors.Is(err, ErrTidyInProgress):
		resp.AddWarning("Tidy operation already in progress.")
	case err != nil:
		return nil, err
	default:
		resp.AddWarning("Tidy operation successfully completed.")
	}
	return resp, nil
}
