package core

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

// whenUnlocked asks HandleRequest to finish the request with fn once the
// request's hold on the state lock is released, still inside the one
// request pipeline: the token, ACL, leader check and request audit have
// run, and the response entry is audited with fn's outcome. It is for
// work that streams for a long time (a snapshot going out must not hold up
// a seal or a step-down) or that takes the state lock itself (a restore).
// fn's response replaces the handler's.
func whenUnlocked(ctx context.Context, fn func(context.Context) (*logical.Response, error)) {
	if st, ok := ctx.Value(requestStateKey{}).(*requestState); ok {
		st.unlocked = fn
	}
}

// finishUnlocked runs the unlocked phase of a request and audits its
// response. The node may have sealed or lost its active state meanwhile (a
// restore can seal it): then there is no device left to record to.
func (c *Core) finishUnlocked(ctx context.Context, st *requestState) (*logical.Response, error) {
	resp, err := st.unlocked(ctx)
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	if c.audit == nil {
		c.logger.Warn("the node sealed during the request; its response is not audited", "path", st.pending.Request.Path)
		return resp, err
	}
	if aerr := c.auditResponse(ctx, st.pending, resp, err); aerr != nil {
		return nil, aerr
	}
	return resp, err
}
