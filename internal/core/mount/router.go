package mount

import (
	"context"
	"strings"
	"sync"

	"github.com/strongbox/strongbox/internal/logical"
)

// Route is one mounted backend. A route is not changed once added to a
// Router: tuning or moving a mount adds a new Route in its place.
type Route struct {
	// Entry is the mount's table row.
	Entry *Entry
	// Mount is the full path, e.g. "secret/" or "auth/token/".
	Mount   string
	Backend logical.Backend
	// Storage is the mount's storage view; nil for the system and token
	// backends, which keep their own storage.
	Storage *View
	// Special is the backend's special paths (never nil once routed).
	Special *logical.Paths
	IsAuth  bool
	// IsCubby marks the cubbyhole, whose storage is divided per token.
	IsCubby bool
}

// Router finds the mount of a request path by longest prefix. Lookups walk
// the path's own segments (O(depth) map probes), so the mount count does not
// slow routing. Its methods are safe for concurrent use.
type Router struct {
	mu     sync.RWMutex
	routes map[string]*Route
}

func newRouter() *Router { return &Router{routes: map[string]*Route{}} }

func (r *Router) add(rt *Route) {
	rt.Special = rt.Backend.SpecialPaths()
	if rt.Special == nil {
		rt.Special = &logical.Paths{}
	}
	r.mu.Lock()
	r.routes[rt.Mount] = rt
	r.mu.Unlock()
}

func (r *Router) remove(mount string) *Route {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt := r.routes[mount]
	delete(r.routes, mount)
	return rt
}

func (r *Router) get(mount string) *Route {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.routes[mount]
}

// Match returns the route serving path and the path relative to the mount,
// or nil when no mount serves it. "secret" matches the mount "secret/" too,
// as in Vault.
func (r *Router) Match(path string) (*Route, string) {
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

// All returns every route, in no particular order.
func (r *Router) All() []*Route {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Route, 0, len(r.routes))
	for _, rt := range r.routes {
		out = append(out, rt)
	}
	return out
}

func (r *Router) cleanup(ctx context.Context) {
	for _, rt := range r.All() {
		rt.Backend.Cleanup(ctx)
	}
}
