package logical

import "testing"

func TestReadCacheNeverResurrects(t *testing.T) {
	c := NewReadCache(10, func(v []string) []string { return append([]string(nil), v...) })
	_, _, gen := c.Get("a") // a reader snapshots, then reads storage
	c.Invalidate("a")       // a writer deletes the key
	c.Fill("a", []string{"stale"}, gen)
	if _, ok, _ := c.Get("a"); ok {
		t.Fatal("a stale fill resurrected a deleted value")
	}
	_, _, gen = c.Get("a")
	c.Set("a", []string{"new"})
	c.Fill("a", []string{"stale"}, gen)
	if v, _, _ := c.Get("a"); len(v) != 1 || v[0] != "new" {
		t.Fatalf("cache holds %v, want the last write", v)
	}
	v, _, _ := c.Get("a")
	v[0] = "changed by caller"
	if again, _, _ := c.Get("a"); again[0] != "new" {
		t.Fatal("a caller's change leaked into the cache")
	}
	for i := 0; i < 20; i++ {
		c.Set(string(rune('b'+i)), []string{"x"})
	}
	c.mu.RLock()
	n := len(c.m)
	c.mu.RUnlock()
	if n > 10 {
		t.Fatalf("cache grew to %d past its bound", n)
	}
	c.Clear()
	if _, ok, _ := c.Get("a"); ok {
		t.Fatal("Clear kept values")
	}
}
