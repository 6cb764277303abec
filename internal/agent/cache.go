package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// cachedResponse is a response that created a token or a leased secret,
// replayed for the same request until it expires or is revoked.
type cachedResponse struct {
	status  int
	header  http.Header
	body    []byte
	expires time.Time // zero: no expiry (a token without TTL)
	// reqToken is the token the request was made with; token and lease
	// are what the response created. Revoking any of them evicts it.
	reqToken string
	token    string
	lease    string
	path     string
}

// responseCache holds cached responses by request key. Safe for
// concurrent use.
type responseCache struct {
	mu      sync.Mutex
	entries map[string]*cachedResponse
	now     func() time.Time
}

func newResponseCache() *responseCache {
	return &responseCache{entries: map[string]*cachedResponse{}, now: time.Now}
}

// cacheKey identifies a request: what it asks for and with which token,
// so two tokens never share an entry.
func cacheKey(r *http.Request, token string, body []byte) string {
	h := sha256.New()
	for _, s := range []string{r.Method, r.URL.Path, r.URL.RawQuery, token, r.Header.Get("X-Vault-Namespace")} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func (c *responseCache) get(key string) *cachedResponse {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e != nil && !e.expires.IsZero() && !c.now().Before(e.expires) {
		delete(c.entries, key)
		return nil
	}
	return e
}

func (c *responseCache) put(key string, e *cachedResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = e
}

// evict removes the entries match selects and returns how many.
func (c *responseCache) evict(match func(*cachedResponse) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, e := range c.entries {
		if match(e) {
			delete(c.entries, k)
			n++
		}
	}
	return n
}

// evictToken drops what token created and everything requested with it
// (revoking a token revokes its children and their leases).
func (c *responseCache) evictToken(token string) int {
	if token == "" {
		return 0
	}
	return c.evict(func(e *cachedResponse) bool { return e.token == token || e.reqToken == token })
}

func (c *responseCache) evictLease(lease string, prefix bool) int {
	if lease == "" {
		return 0
	}
	return c.evict(func(e *cachedResponse) bool {
		if prefix {
			return e.lease != "" && strings.HasPrefix(e.lease, lease)
		}
		return e.lease == lease
	})
}
