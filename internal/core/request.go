package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/logical"
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
	st := &requestState{}
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
	if te != nil {
		fillCaller(req, te)
	}
	if rt.IsCubby {
		if te == nil {
			return nil, logical.ErrPermissionDenied
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
		acl, err := c.acl(ctx, te.Policies)
		if err != nil {
			return nil, fmt.Errorf("build ACL: %w", err)
		}
		allowed := acl.Allowed(fullPath, req.Operation)
		rootPath := matchesAny(rt.Special.Root, rel)
		if !allowed.Allowed || (rootPath && !allowed.Sudo) {
			return nil, c.deny(ctx, req, res, te, logical.ErrPermissionDenied)
		}
		req.Sudo = allowed.Sudo || allowed.Root
	}
	in := &audit.LogInput{Request: req, Auth: callerAuth(te)}
	if err := c.audit.LogRequest(ctx, in); err != nil {
		c.logger.Error("audit request failed; refusing the request", "path", fullPath, "error", err)
		return nil, logical.Errorf(http.StatusInternalServerError, "internal error")
	}
	if te != nil && te.NumUses > 0 {
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
	resp, err := rt.Backend.HandleRequest(ctx, &r)
	req.Operation = r.Operation
	if err == nil && resp != nil && resp.Auth != nil && rt.IsAuth && rt.Entry.Type != "token" {
		err = c.issueLoginToken(ctx, rt, req, resp)
	}
	if err == nil && resp != nil && resp.Secret != nil {
		err = c.registerLease(ctx, rt, req, te, resp)
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
	aerr := c.audit.LogResponse(ctx, in)
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
	in := &audit.LogInput{Request: req, Auth: callerAuth(te), OuterErr: err}
	if aerr := c.audit.LogRequest(ctx, in); aerr != nil {
		c.logger.Error("audit of a denied request failed", "path", req.Path, "error", aerr)
	}
	if aerr := c.audit.LogResponse(ctx, in); aerr != nil {
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

func callerAuth(te *token.Entry) *logical.Auth {
	if te == nil {
		return nil
	}
	return &logical.Auth{
		Accessor:      te.Accessor,
		Policies:      te.Policies,
		TokenPolicies: te.Policies,
		Metadata:      te.Meta,
		DisplayName:   te.DisplayName,
		EntityID:      te.EntityID,
		TokenType:     "service",
		NumUses:       te.NumUses,
	}
}

// issueLoginToken creates the token an auth method's login response asks
// for, under the mount's TTLs, and fills the response's auth from it.
func (c *Core) issueLoginToken(ctx context.Context, rt *mount.Route, req *logical.Request, resp *logical.Response) error {
	a := resp.Auth
	cfg := rt.Entry.LogicalConfig(c.conf.DefaultLeaseTTL, c.conf.MaxLeaseTTL)
	name := strings.TrimSuffix(rt.Entry.Path, "/")
	if a.DisplayName != "" {
		name += "-" + a.DisplayName
	}
	tok, te, err := c.tokens.Create(ctx, token.CreateRequest{
		Policies:       a.Policies,
		Meta:           a.Metadata,
		DisplayName:    name,
		TTL:            a.LeaseDuration,
		ExplicitMaxTTL: a.ExplicitMaxTTL,
		Period:         a.Period,
		NumUses:        a.NumUses,
		Renewable:      true,
		Path:           req.Path,
		DefaultTTL:     cfg.DefaultLeaseTTL,
		MaxTTL:         cfg.MaxLeaseTTL,
	})
	if err != nil {
		if errors.Is(err, logical.ErrInvalidRequest) {
			return err
		}
		return fmt.Errorf("issue login token: %w", err)
	}
	a.ClientToken, a.Accessor, a.Policies, a.TokenPolicies = tok, te.Accessor, te.Policies, te.Policies
	a.LeaseDuration, a.Renewable, a.Orphan, a.TokenType = te.TTL, te.Renewable, true, "service"
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
