package wrapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/strongbox/strongbox/internal/logical"
)

// UnauthenticatedPaths are the room's sys/ paths served without a token:
// anyone holding a wrapping token may look it up, and check a JWT one.
var UnauthenticatedPaths = []string{"wrapping/lookup", "wrapping/pubkey"}

// Paths are the room's sys/ endpoints (patterns relative to sys/).
func (m *Manager) Paths() []*logical.Path {
	tokenField := map[string]*logical.FieldSchema{
		"token": {Type: logical.TypeString, Description: "Wrapping token; the request's token when empty."},
	}
	return []*logical.Path{
		{
			Pattern:      "wrapping/wrap",
			Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: m.handleWrap},
			HelpSynopsis: "Response-wraps the posted data.",
		},
		{
			Pattern:      "wrapping/unwrap",
			Fields:       tokenField,
			Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: m.handleUnwrap},
			HelpSynopsis: "Unwraps a wrapping token: the wrapped response, once.",
		},
		{
			Pattern: "wrapping/lookup",
			Fields:  tokenField,
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: m.handleLookup,
				logical.ReadOperation:   m.handleLookup,
			},
			HelpSynopsis: "Looks up a wrapping token's creation TTL, time and path.",
		},
		{
			Pattern:      "wrapping/pubkey",
			Operations:   map[logical.Operation]logical.OperationFunc{logical.ReadOperation: m.handlePubKey},
			HelpSynopsis: "The public key JWT wrapping tokens are signed with (ES512, P-521).",
		},
		{
			Pattern:      "wrapping/rewrap",
			Fields:       tokenField,
			Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: m.handleRewrap},
			HelpSynopsis: "Moves a wrapped response to a new wrapping token; the old one stops working.",
		},
	}
}

// handleWrap answers the posted data; the pipeline wraps it, which the
// request must ask for (Vault refuses the endpoint otherwise).
func (m *Manager) handleWrap(_ context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	if req.WrapInfo == nil || req.WrapInfo.TTL <= 0 {
		return nil, logical.BadRequest("endpoint requires response wrapping to be used")
	}
	data := make(map[string]any, len(req.Data))
	for k, v := range req.Data {
		data[k] = v
	}
	return &logical.Response{Data: data}, nil
}

// claim finds the wrapping token a request names: "token" in the body (a
// third party unwrapping with its own token: its use is spent here), or
// the request's own token (already spent by the pipeline). release
// revokes a token spent here; it must run once the cubbyhole is read.
func (m *Manager) claim(ctx context.Context, req *logical.Request, d *logical.FieldData, spend bool) (*Token, func(context.Context), error) {
	raw := d.Get("token").(string)
	thirdParty := raw != "" && raw != req.ClientToken
	if raw == "" {
		raw = req.ClientToken
	}
	if raw == "" {
		return nil, nil, logical.BadRequest(`missing "token" value in input`)
	}
	tok, err := m.host.LookupToken(ctx, raw)
	if err != nil {
		return nil, nil, fmt.Errorf("look up wrapping token: %w", err)
	}
	if tok == nil || !tok.Wrapping {
		return nil, nil, ErrInvalidToken
	}
	release := func(context.Context) {}
	if spend && thirdParty {
		revoke, ok, err := m.host.SpendToken(ctx, raw)
		if err != nil {
			return nil, nil, fmt.Errorf("spend wrapping token: %w", err)
		}
		if !ok {
			// Another unwrap took it between the lookup and now.
			return nil, nil, ErrInvalidToken
		}
		release = revoke
	}
	return tok, release, nil
}

func (m *Manager) handleUnwrap(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	tok, release, err := m.claim(ctx, req, d, true)
	if err != nil {
		return nil, err
	}
	defer release(context.WithoutCancel(ctx))
	var body stored
	if err := m.read(ctx, tok.ID, responseKey, &body); err != nil {
		return nil, err
	}
	// The body goes back verbatim: exactly what the client would have
	// had, with the status and type of a raw response.
	status, ct := body.Status, body.ContentType
	if status == 0 {
		status, ct = http.StatusOK, "application/json"
	}
	return &logical.Response{Raw: []byte(body.Response), RawStatus: status, RawContentType: ct}, nil
}

func (m *Manager) handleLookup(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	tok, _, err := m.claim(ctx, req, d, false)
	if err != nil {
		return nil, err
	}
	var in info
	if err := m.read(ctx, tok.ID, infoKey, &in); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"creation_ttl":  in.CreationTTL,
		"creation_time": in.CreationTime,
		"creation_path": in.CreationPath,
	}}, nil
}

// handleRewrap reads the wrapped response out of the old token (which is
// revoked) and asks the pipeline to wrap it again with the original
// creation TTL and path (Wrap recognizes the rewrap).
func (m *Manager) handleRewrap(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	tok, release, err := m.claim(ctx, req, d, true)
	if err != nil {
		return nil, err
	}
	defer release(context.WithoutCancel(ctx))
	var in info
	if err := m.read(ctx, tok.ID, infoKey, &in); err != nil {
		return nil, err
	}
	var body stored
	if err := m.read(ctx, tok.ID, responseKey, &body); err != nil {
		return nil, err
	}
	data := map[string]any{"response": body.Response}
	if body.Status != 0 {
		data["http_status_code"], data["http_content_type"] = body.Status, body.ContentType
	}
	ttl := secondsToDuration(in.CreationTTL)
	if ttl <= 0 {
		return nil, errors.New("rewrap: wrapping information has no creation TTL")
	}
	return &logical.Response{
		Data:     data,
		WrapInfo: &logical.ResponseWrapInfo{TTL: ttl, CreationPath: in.CreationPath},
	}, nil
}

// read decodes one entry of a wrapping token's cubbyhole. A token without
// it (its cubbyhole already cleared by a revocation under way) is invalid.
func (m *Manager) read(ctx context.Context, id, key string, into any) error {
	cubby := m.host.Cubbyhole(id)
	if cubby == nil {
		return errors.New("no cubbyhole is mounted")
	}
	e, err := cubby.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("read wrapping token's %s: %w", key, err)
	}
	if e == nil {
		return ErrInvalidToken
	}
	if err := json.Unmarshal(e.Value, into); err != nil {
		return fmt.Errorf("decode wrapping token's %s: %w", key, err)
	}
	return nil
}

// tokenPaths are the endpoints that take a wrapping token.
var tokenPaths = map[string]bool{
	"sys/wrapping/lookup": true, "sys/wrapping/unwrap": true, "sys/wrapping/rewrap": true,
}

// Verify refuses, before any token or ACL check, a request to unwrap,
// look up or rewrap that names no valid wrapping token ("token" in the
// body, else the request's token), as Vault does: such a request answers
// ErrInvalidToken (400), not a 403. path is the request's full path.
//
// A JWT wrapping token is checked (signature, expiry) and replaced, in the
// body or as the request's token, by the wrapping token it carries: the
// only place a JWT stands for a token.
func (m *Manager) Verify(ctx context.Context, path string, req *logical.Request) error {
	if !tokenPaths[path] {
		return nil
	}
	raw, inBody := req.ClientToken, false
	if v, ok := req.Data["token"]; ok && v != nil && v != "" {
		s, ok := v.(string)
		if !ok {
			return ErrInvalidToken
		}
		raw, inBody = s, true
	}
	if raw == "" {
		return logical.BadRequest(`missing "token" value in input`)
	}
	if isJWT(raw) {
		inner, err := m.openJWT(ctx, raw)
		if err != nil {
			return err
		}
		if inBody {
			req.Data["token"] = inner
		} else {
			req.ClientToken = inner
		}
		raw = inner
	}
	tok, err := m.host.LookupToken(ctx, raw)
	if err != nil {
		return fmt.Errorf("look up wrapping token: %w", err)
	}
	if tok == nil || !tok.Wrapping {
		return ErrInvalidToken
	}
	return nil
}
