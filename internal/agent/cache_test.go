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

// A new auto-auth token evicts what the old one requested: those entries
// can no longer be reached and their tokens died with their parent.
func TestProxySetTokenEvictsOldTokensEntries(t *testing.T) {
	p := &proxy{cache: newResponseCache()}
	p.setToken("old")
	p.cache.put("k1", &cachedResponse{reqToken: "old", token: "child"})
	p.cache.put("k2", &cachedResponse{reqToken: "caller", token: "other"})
	p.setToken("old") // the same token again: nothing to evict
	if p.cache.get("k1") == nil {
		t.Fatal("evicted on an unchanged token")
	}
	p.setToken("new")
	if p.cache.get("k1") != nil {
		t.Error("the old token's entry survived")
	}
	if p.cache.get("k2") == nil {
		t.Error("another caller's entry was evicted")
	}
}
