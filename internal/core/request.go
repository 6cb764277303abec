package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/core/diag"
	"github.com/strongbox/strongbox/internal/core/identity"
	"github.com/strongbox/strongbox/internal/core/lockout"
	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/core/policy"
	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

// Result is HandleRequest's answer with what the HTTP layer needs to render
// it: the mount type, and the response itself.
type Result struct {
	Response  *logical.Response
	MountType string
}

type postAction int

const (
	postNone postAction = iota
	postSeal
	postStepDown
)

type requestStateKey struct{}

// requestState is what a handler asks HandleRequest to do once the
// request's hold on the state lock is released.
type requestState struct {
	action   postAction
	unlocked func(context.Context) (*logical.Response, error)
	// pending is the audit input whose response entry waits for unlocked.
	pending *audit.LogInput
	// conn is the client's connection, handed to an auth method asked to
	// renew one of its tokens (the cert method checks the certificate).
	conn *logical.Connection
}

// afterRequest asks HandleRequest to run an action once the request's hold
// on the state lock is released (sealing needs the lock exclusively).
func afterRequest(ctx context.Context, a postAction) {
	if st, ok := ctx.Value(requestStateKey{}).(*requestState); ok {
		st.action = a
	}
}

// HandleRequest runs one API request through the pipeline: seal check,
// routing, token and ACL checks, audit, the backend, token issue for logins,
// audit of the response.
func (c *Core) HandleRequest(ctx context.Context, req *logical.Request) (*Result, error) {
	defer diag.MeasureRequest(req, time.Now())
	st := &requestState{conn: req.Connection}
	ctx = context.WithValue(ctx, requestStateKey{}, st)
	res, err := c.handle(ctx, req)
	if err == nil && st.pending != nil {
		res.Response, err = c.finishUnlocked(ctx, st)
		if errors.Is(err, errAuditResponse) {
			res = nil
		}
	}
	switch st.action {
	case postSeal:
		if serr := c.Seal(context.WithoutCancel(ctx)); serr != nil && err == nil {
			err = serr
		}
	case postStepDown:
		// The answer goes out first; the step-down runs once this request
		// no longer holds the state lock it must drain.
		go func() {
			if serr := c.StepDown(context.WithoutCancel(ctx)); serr != nil {
				c.logger.Warn("step-down", "error", serr)
			}
		}()
	}
	return res, err
}

func (c *Core) handle(ctx context.Context, req *logical.Request) (*Result, error) {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	if c.sealed {
		return nil, ErrSealed
	}
	if c.standby {
		return nil, ErrStandby
	}
	if c.ha != nil {
		// Every request on the active node waits for a quorum to confirm
		// its leadership (one heartbeat round shared by all concurrent
		// requests): a deposed leader that has not noticed yet must not
		// answer from its local, possibly stale, state.
		if err := c.ha.VerifyLeader(ctx); err != nil {
			c.logger.Warn("leadership not confirmed; handing the request to the new active node", "error", err)
			return nil, ErrStandby
		}
	}
	fullPath := req.Path
	rt, rel := c.mounts.Router().Match(fullPath)
	if rt == nil {
		return nil, logical.Errorf(http.StatusNotFound, "no handler for route %q. route entry not found.", fullPath)
	}
	req.MountPoint, req.MountType, req.MountAccessor = rt.Mount, rt.Entry.Type, rt.Entry.Accessor
	req.MountConfig = rt.Entry.LogicalConfig(c.conf.DefaultLeaseTTL, c.conf.MaxLeaseTTL)
	req.Storage = rt.Storage
	res := &Result{MountType: rt.Entry.Type}

	if err := c.wrapping.Verify(ctx, fullPath, req); err != nil {
		return nil, err
	}
	unauth := matchesAny(rt.Special.Unauthenticated, rel)
	var te *token.Entry
	if req.ClientToken != "" || !unauth {
		var err error
		te, err = c.tokens.Lookup(ctx, req.ClientToken)
		if err != nil {
			return nil, fmt.Errorf("token lookup: %w", err)
		}
		if te == nil && !unauth {
			return nil, c.deny(ctx, req, res, nil, logical.ErrPermissionDenied)
		}
	}
	// A token bound to CIDRs is worthless elsewhere: refused before any
	// ACL or backend sees the request (and audited as such); on a login
	// path it is ignored as an unknown token would be.
	if te != nil && !tokenutil.ConnAllowed(req.Connection, te.BoundCIDRs) {
		if !unauth {
			return nil, c.deny(ctx, req, res, te, logical.ErrPermissionDenied)
		}
		te = nil
	}
	var ident *identity.Resolved
	if te != nil {
		fillCaller(req, te)
		// The token's entity (a merged one answers as the entity it went
		// into) brings its policies and its groups'; a disabled entity's
		// tokens are refused.
		if ident = c.resolveIdentity(te.EntityID); ident != nil {
			if ident.Entity.Disabled && !unauth {
				return nil, c.deny(ctx, req, res, te, logical.ErrPermissionDenied)
			}
			req.EntityID = ident.Entity.ID
		}
	}
	if rt.IsCubby {
		if te == nil {
			return nil, logical.ErrPermissionDenied
		}
		if te.Type == token.TypeBatch {
			return nil, logical.BadRequest("cubbyhole operations are only supported by \"service\" type tokens")
		}
		req.Storage = rt.Storage.Sub(te.ID + "/")
	}
	// Reduce an update to create when the target does not exist, so the
	// create capability is what ACLs check.
	if req.Operation == logical.UpdateOperation {
		r := *req
		r.Path = rel
		supported, exists, err := rt.Backend.ExistenceCheck(ctx, &r)
		if err != nil {
			return nil, fmt.Errorf("existence check: %w", err)
		}
		if supported && !exists {
			req.Operation = logical.CreateOperation
		}
	}
	if !unauth {
		acl, err := c.aclFor(ctx, te.Policies, ident)
		if err != nil {
			return nil, fmt.Errorf("build ACL: %w", err)
		}
		allowed := acl.Allowed(fullPath, req.Operation)
		rootPath := matchesAny(rt.Special.Root, rel)
		// A path whose rules set min/max_wrapping_ttl is refused like any
		// other unallowed request (Vault's 403) unless the request asks
		// for wrapping within them.
		if !allowed.Allowed || (rootPath && !allowed.Sudo) || !allowed.CheckWrapTTL(wrapTTLOf(req)) {
			return nil, c.deny(ctx, req, res, te, logical.ErrPermissionDenied)
		}
		req.Sudo = allowed.Sudo || allowed.Root
	}
	in := &audit.LogInput{Request: req, Auth: callerAuth(req.ClientToken, te, ident)}
	if err := c.logRequest(ctx, in); err != nil {
		c.logger.Error("audit request failed; refusing the request", "path", fullPath, "error", err)
		return nil, logical.Errorf(http.StatusInternalServerError, "internal error")
	}
	// A token presented on an unauthenticated path (sys/wrapping/lookup
	// with the wrapping token) is not spent, as in Vault.
	if te != nil && te.NumUses > 0 && !unauth {
		used, err := c.tokens.UseToken(ctx, te)
		if err != nil {
			return nil, fmt.Errorf("use token: %w", err)
		}
		if used == nil {
			return nil, logical.ErrPermissionDenied
		}
		if used.NumUses == token.RevocationPending {
			// The last use is served, then the token goes (as in Vault):
			// revoked before the client sees the answer.
			ctx = token.LastUse(ctx, used)
			defer c.tokens.RevokeUsedUp(ctx, used)
		}
	}

	r := *req
	r.Path = rel
	var resp *logical.Response
	var login *lockout.Attempt
	var err error
	if unauth {
		login, err = c.beginLogin(ctx, rt, &r)
	}
	if err == nil {
		resp, err = rt.Backend.HandleRequest(ctx, &r)
		login.End(ctx, resp, err)
	}
	req.Operation = r.Operation
	if err == nil && resp != nil && resp.Auth != nil && rt.IsAuth && rt.Entry.Type != "token" {
		err = c.issueLoginToken(ctx, rt, req, resp)
	}
	if err == nil && resp != nil && resp.Secret != nil {
		err = c.registerLease(ctx, rt, req, te, resp)
	}
	if err == nil && resp != nil {
		// Wrapping comes last, after the lease is registered (a wrapped
		// response carries its lease inside): the response is kept whole
		// in the wrapping token's cubbyhole, and the client gets only the
		// wrap info. Errors are never wrapped.
		resp, err = c.wrapResponse(ctx, req, resp, rt.Entry.Type, in)
	}
	if st, ok := ctx.Value(requestStateKey{}).(*requestState); ok && st.unlocked != nil && err == nil {
		// The handler's work goes on once the state lock is released; the
		// response entry records how that ended.
		st.pending = in
		res.Response = resp
		return res, nil
	}
	if aerr := c.auditResponse(ctx, in, resp, err); aerr != nil {
		return nil, aerr
	}
	res.Response = resp
	return res, err
}

// errAuditResponse is the 500 a request answers when no audit device could
// record its response.
var errAuditResponse = logical.Errorf(http.StatusInternalServerError, "internal error")

// auditResponse records the response entry of in; it returns
// errAuditResponse when that fails and the request must not report
// success. The caller holds stateLock.
func (c *Core) auditResponse(ctx context.Context, in *audit.LogInput, resp *logical.Response, err error) error {
	in.Response, in.OuterErr = resp, err
	aerr := c.logResponse(ctx, in)
	if aerr == nil {
		return nil
	}
	path := in.Request.Path
	c.logger.Error("audit response failed", "path", path, "error", aerr)
	// A change to the audit table itself has taken effect by now, and the
	// device set that must record it changed with it: reporting failure
	// would tell the operator the change did not happen.
	if err != nil || !strings.HasPrefix(path, "sys/audit/") {
		return errAuditResponse
	}
	return nil
}

// deny audits a refused request (when devices exist) and returns err.
func (c *Core) deny(ctx context.Context, req *logical.Request, _ *Result, te *token.Entry, err error) error {
	in := &audit.LogInput{Request: req, Auth: callerAuth(req.ClientToken, te, nil), OuterErr: err}
	if aerr := c.logRequest(ctx, in); aerr != nil {
		c.logger.Error("audit of a denied request failed", "path", req.Path, "error", aerr)
	}
	if aerr := c.logResponse(ctx, in); aerr != nil {
		c.logger.Error("audit of a denied response failed", "path", req.Path, "error", aerr)
	}
	return err
}

func fillCaller(req *logical.Request, te *token.Entry) {
	req.ClientTokenAccessor = te.Accessor
	req.DisplayName = te.DisplayName
	req.Policies = te.Policies
	req.EntityID = te.EntityID
}

// callerAuth is the audit entry's auth block: the token as the client sent
// it (HMAC'd by the devices), its TTL, and policies as Vault reports them:
// policies is the union of token_policies and identity_policies.
func callerAuth(clientToken string, te *token.Entry, ident *identity.Resolved) *logical.Auth {
	if te == nil {
		return nil
	}
	var identityPolicies []string
	if ident != nil {
		identityPolicies = ident.Policies
	}
	return &logical.Auth{
		ClientToken:      clientToken,
		LeaseDuration:    te.TTL,
		IdentityPolicies: identityPolicies,
		Accessor:         te.Accessor,
		Policies:         policy.Union(te.Policies, identityPolicies),
		TokenPolicies:    te.Policies,
		Metadata:         te.Meta,
		DisplayName:      te.DisplayName,
		EntityID:         te.EntityID,
		TokenType:        te.Type,
		NumUses:          te.NumUses,
	}
}

// issueLoginToken creates the token an auth method's login response asks
// for, under the mount's TTLs, and fills the response's auth from it. The
// token's display name is the mount path with "/" turned into "-", then
// the method's name for the user ("userpass-alice"), without a trailing
// "-" when the method gives no name (AppRole: "approle"); its path is the
// login request's.
func (c *Core) issueLoginToken(ctx context.Context, rt *mount.Route, req *logical.Request, resp *logical.Response) error {
	a := resp.Auth
	typ, err := token.LoginType(rt.Entry.Config.TokenType, a.TokenType)
	if err != nil {
		return err
	}
	numUses, period := a.NumUses, a.Period
	if typ == token.TypeBatch {
		// A mount that forces batch tokens drops what only service
		// tokens can have (a role or user asking for batch cannot set
		// them).
		numUses, period = 0, 0
	}
	cfg := rt.Entry.LogicalConfig(c.conf.DefaultLeaseTTL, c.conf.MaxLeaseTTL)
	maxTTL := cfg.MaxLeaseTTL
	if a.MaxTTL > 0 && a.MaxTTL < maxTTL {
		maxTTL = a.MaxTTL
	}
	entityID, identityPolicies, err := c.loginIdentity(ctx, rt, a)
	if err != nil {
		return err
	}
	tok, te, err := c.tokens.Create(ctx, token.CreateRequest{
		Policies:        a.Policies,
		NoDefaultPolicy: a.NoDefaultPolicy,
		Meta:            a.Metadata,
		DisplayName:     strings.TrimSuffix(strings.ReplaceAll(rt.Entry.Path, "/", "-")+a.DisplayName, "-"),
		TTL:             a.LeaseDuration,
		ExplicitMaxTTL:  a.ExplicitMaxTTL,
		Period:          period,
		NumUses:         numUses,
		Renewable:       typ == token.TypeService,
		Type:            typ,
		Path:            req.Path,
		DefaultTTL:      cfg.DefaultLeaseTTL,
		MaxTTL:          maxTTL,
		BoundCIDRs:      a.BoundCIDRs,
		EntityID:        entityID,
	})
	if err != nil {
		if errors.Is(err, logical.ErrInvalidRequest) {
			return err
		}
		var ce *logical.CodedError
		if errors.As(err, &ce) && ce.Status < http.StatusInternalServerError {
			return err
		}
		return fmt.Errorf("issue login token: %w", err)
	}
	a.ClientToken, a.Accessor, a.Policies, a.TokenPolicies = tok, te.Accessor, te.Policies, te.Policies
	a.LeaseDuration, a.Renewable, a.Orphan, a.TokenType = te.TTL, te.Renewable, true, te.Type
	a.DisplayName, a.NumUses, a.EntityID = te.DisplayName, te.NumUses, te.EntityID
	// As Vault's login response: policies are the token's and the
	// identity's together, each also shown apart.
	a.IdentityPolicies, a.Policies = identityPolicies, policy.Union(te.Policies, identityPolicies)
	return nil
}

// renewLogin is the token store's OnRenew: it asks the auth method that
// issued a login token whether the login still holds (its AuthRenew: the
// user still exists, its policies are the token's), and returns the
// method's current TTLs within the mount's. Tokens of the token store
// itself are not asked about.
func (c *Core) renewLogin(ctx context.Context, e *token.Entry, increment time.Duration) (*token.RenewTerms, error) {
	if !strings.HasPrefix(e.Path, "auth/") || strings.HasPrefix(e.Path, "auth/token/") {
		return nil, nil
	}
	rt, rel := c.mounts.Router().Match(e.Path)
	if rt == nil || !rt.IsAuth {
		return nil, logical.BadRequest("the auth method that issued this token is no longer enabled; not renewing")
	}
	if rt.Entry.Type == "token" {
		return nil, nil
	}
	cfg := rt.Entry.LogicalConfig(c.conf.DefaultLeaseTTL, c.conf.MaxLeaseTTL)
	resp, err := rt.Backend.HandleRequest(ctx, &logical.Request{
		Operation: logical.RenewOperation, Path: rel, Storage: rt.Storage,
		MountPoint: rt.Mount, MountType: rt.Entry.Type, MountAccessor: rt.Entry.Accessor, MountConfig: cfg,
		Connection: requestConn(ctx),
		Auth: &logical.Auth{
			Accessor: e.Accessor, Policies: e.Policies, TokenPolicies: e.Policies, Metadata: e.Meta,
			DisplayName: e.DisplayName, EntityID: e.EntityID, LeaseDuration: e.TTL, Period: e.Period,
			ExplicitMaxTTL: e.ExplicitMaxTTL, NumUses: e.NumUses, Renewable: e.Renewable,
			BoundCIDRs: e.BoundCIDRs, TokenType: e.Type, Orphan: e.Parent == "", Increment: increment,
		},
	})
	if err != nil {
		return nil, err
	}
	if resp == nil || resp.Auth == nil {
		return nil, logical.BadRequest("the auth method did not renew the login; not renewing")
	}
	// As at login, the method's current groups set the entity's external
	// group memberships (Vault refreshes them at renewal).
	if e.EntityID != "" && resp.Auth.GroupAliases != nil && c.identity != nil {
		if err := c.identity.RefreshExternalGroups(ctx, e.EntityID, rt.Entry.Accessor, resp.Auth.GroupAliases); err != nil {
			return nil, err
		}
	}
	terms := &token.RenewTerms{TTL: resp.Auth.LeaseDuration, Period: resp.Auth.Period, MaxTTL: cfg.MaxLeaseTTL}
	if terms.TTL <= 0 {
		terms.TTL = cfg.DefaultLeaseTTL
	}
	if m := resp.Auth.MaxTTL; m > 0 && m < terms.MaxTTL {
		terms.MaxTTL = m
	}
	return terms, nil
}

// requestConn is the connection of the API request ctx belongs to (nil
// outside one).
func requestConn(ctx context.Context) *logical.Connection {
	if st, ok := ctx.Value(requestStateKey{}).(*requestState); ok {
		return st.conn
	}
	return nil
}

func matchesAny(patterns []string, path string) bool {
	for _, p := range patterns {
		if logical.PathMatches(p, path) {
			return true
		}
	}
	return false
}
