package core

import (
	"context"
	"strings"
	"sync"

	"github.com/strongbox/strongbox/internal/logical"
)

// route is one mounted backend.
type route struct {
	entry   *MountEntry
	mount   string // full path, e.g. "secret/" or "auth/token/"
	backend logical.Backend
	storage *view
	special *logical.Paths
	isAuth  bool
	isCubby bool
}

// router finds the mount of a request path by longest prefix. Lookups walk
// the path's own segments (O(depth) map probes), so the mount count does not
// slow routing.
type router struct {
	mu     sync.RWMutex
	routes map[string]*route
}

func newRouter() *router { return &router{routes: map[string]*route{}} }

func (r *router) add(rt *route) {
	rt.special = rt.backend.SpecialPaths()
	if rt.special == nil {
		rt.special = &logical.Paths{}
	}
	r.mu.Lock()
	r.routes[rt.mount] = rt
	r.mu.Unlock()
}

func (r *router) remove(mount string) *route {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt := r.routes[mount]
	delete(r.routes, mount)
	return rt
}

// match returns the route serving path and the path relative to the mount.
// "secret" matches the mount "secret/" too, as in Vault.
func (r *router) match(path string) (*route, string) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if rt, ok := r.routes[path+"/"]; ok && !strings.HasSuffix(path, "/") {
		return rt, ""
	}
	for i := len(path); i > 0; i-- {
		if path[i-1] != '/' {
			continue
		}
		if rt, ok := r.routes[path[:i]]; ok {
			return rt, path[i:]
		}
	}
	return nil, ""
}

func (r *router) all() []*route {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*route, 0, len(r.routes))
	for _, rt := range r.routes {
		out = append(out, rt)
	}
	return out
}

func (r *router) cleanup(ctx context.Context) {
	for _, rt := range r.all() {
		rt.backend.Cleanup(ctx)
	}
}

func matchesAny(patterns []string, path string) bool {
	for _, p := range patterns {
		if logical.PathMatches(p, path) {
			return true
		}
	}
	return false
}
