package core

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/strongbox/strongbox/internal/core/policy"
)

// aclCache keeps compiled ACLs by policy set (and, for templated ones, by
// entity and identity generation), so a request does not recompile its
// token's policies. Any policy write clears it.
type aclCache struct {
	mu   sync.RWMutex
	acls map[string]*policy.ACL
	// gen changes on every clear; an ACL compiled under an older
	// generation may predate a policy write and is not cached.
	gen uint64
}

// maxCachedACLs bounds the cache; past it the cache starts over, which is
// cheap compared to letting distinct policy sets grow memory without end.
const maxCachedACLs = 4096

func (c *Core) acl(ctx context.Context, names []string) (*policy.ACL, error) {
	return c.cachedACL(aclKey(names), func() (*policy.ACL, error) {
		return c.policies.ACL(ctx, names...)
	})
}

// cachedACL returns the ACL cached under key, or builds and caches it.
func (c *Core) cachedACL(key string, build func() (*policy.ACL, error)) (*policy.ACL, error) {
	c.acls.mu.RLock()
	a, ok := c.acls.acls[key]
	gen := c.acls.gen
	c.acls.mu.RUnlock()
	if ok {
		return a, nil
	}
	a, err := build()
	if err != nil {
		return nil, err
	}
	c.acls.mu.Lock()
	if c.acls.gen == gen {
		if c.acls.acls == nil || len(c.acls.acls) >= maxCachedACLs {
			c.acls.acls = map[string]*policy.ACL{}
		}
		c.acls.acls[key] = a
	}
	c.acls.mu.Unlock()
	return a, nil
}

func (c *Core) clearACLs() {
	c.acls.mu.Lock()
	c.acls.acls = nil
	c.acls.gen++
	c.acls.mu.Unlock()
}

func aclKey(names []string) string {
	if sort.StringsAreSorted(names) {
		return strings.Join(names, "\x00")
	}
	s := append([]string(nil), names...)
	sort.Strings(s)
	return strings.Join(s, "\x00")
}
