package agent

import (
	"testing"
	"time"
)

func TestResponseCacheExpiryAndEviction(t *testing.T) {
	c := newResponseCache()
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	c.put("tok", &cachedResponse{token: "t1", reqToken: "parent", expires: now.Add(10 * time.Second)})
	c.put("lease", &cachedResponse{lease: "database/creds/ro/abc", reqToken: "other", expires: now.Add(time.Minute)})
	c.put("forever", &cachedResponse{token: "t2", reqToken: "other"})
	if c.get("tok") == nil {
		t.Fatal("fresh entry missing")
	}
	now = now.Add(10 * time.Second)
	if c.get("tok") != nil {
		t.Fatal("entry served at its expiry")
	}
	if c.get("forever") == nil || c.get("lease") == nil {
		t.Fatal("unexpired entries dropped")
	}
	if n := c.evictLease("database/creds/ro/", false); n != 0 {
		t.Fatalf("exact lease eviction matched a prefix (%d)", n)
	}
	if n := c.evictLease("database/creds/", true); n != 1 || c.get("lease") != nil {
		t.Fatalf("prefix eviction: %d", n)
	}
	// Revoking the requesting token drops what it created.
	if n := c.evictToken("other"); n != 1 || c.get("forever") != nil {
		t.Fatalf("evict by requesting token: %d", n)
	}
	if n := c.evictToken(""); n != 0 {
		t.Fatal("empty token evicted something")
	}
}
