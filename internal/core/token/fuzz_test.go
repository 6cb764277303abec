package token

import (
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// FuzzCreate feeds arbitrary create bodies to auth/token/create: every
// answer is a token that works or a 4xx, never a panic or a 500, and a
// refused request leaves storage as it was.
func FuzzCreate(f *testing.F) {
	f.Add("1h", "a,b", "k=v", "3", "web", "", "", "", false, false)
	f.Add("soon", "", "", "-1", "", "x.y", "1h", "batch", true, true)
	f.Add("", "root", "k", "", "a b!", "hvs.x", "-5", "", true, false)
	f.Add("99999999999999999", "default", "=", "2147483648", "", "", "9999999h", "service", false, true)
	f.Add("-1", " , ,", "a=b,c=d", "0", "\x00", "s.abc", "0", "SERVICE", true, true)
	f.Add("1h", "a", "k=v", "", "ci", "", "", "batch", false, false)
	f.Add("", "a", "", "", "", "custom", "", "BATCH", true, true)
	f.Fuzz(func(t *testing.T, ttl, policies, meta, numUses, name, id, period, typ string, sudo, noParent bool) {
		h := newBatchHarness(t)
		caller, _ := h.rootCreate(map[string]any{"policies": "a,b", "ttl": "10h"})
		if sudo {
			caller = h.rootTok
		}
		data := map[string]any{
			"ttl": ttl, "policies": policies, "meta": meta, "num_uses": numUses,
			"display_name": name, "id": id, "period": period, "type": typ, "no_parent": noParent,
		}
		before := len(h.dump())
		resp, err := h.call(logical.UpdateOperation, "create", caller, sudo, data)
		if err != nil {
			if code := statusOf(err); code < 400 || code >= 500 {
				t.Fatalf("create %v: status %d: %v", data, code, err)
			}
			if after := len(h.dump()); after != before {
				t.Fatalf("refused create %v changed storage", data)
			}
			return
		}
		tok := resp.Auth.ClientToken
		e := h.lookup(tok)
		if e == nil {
			t.Fatalf("created token %v not found", data)
		}
		secrets := []string{e.Accessor}
		if id == "" {
			// A short custom id ("ab") may occur in any hex string by chance.
			secrets = append(secrets, tok)
		}
		for _, sec := range secrets {
			if sec == "" {
				continue // batch tokens have no accessor
			}
			for k, v := range h.dump() {
				if strings.Contains(k, sec) || strings.Contains(string(v), sec) {
					t.Fatalf("token or accessor in the clear at %s", k)
				}
			}
		}
	})
}

// FuzzBatchLookup: a batch token with any byte changed or anything
// appended, and any other "hvb." value, is not valid (nil, never an error
// or a panic); the token as made is.
func FuzzBatchLookup(f *testing.F) {
	f.Add(uint(0), byte(0), "", "")
	f.Add(uint(7), byte(1), "", "////")
	f.Add(uint(100), byte(0x20), "A", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add(uint(3), byte(0), "=", "\x00")
	f.Fuzz(func(t *testing.T, pos uint, flip byte, suffix, other string) {
		h := newBatchHarness(t)
		valid, _ := h.rootCreate(map[string]any{"type": "batch", "policies": "a", "ttl": "1h"})
		b := []byte(valid)
		b[len(BatchPrefix)+int(pos%uint(len(b)-len(BatchPrefix)))] ^= flip
		tok := string(b) + suffix
		e, err := h.store.Lookup(h.ctx, tok)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", tok, err)
		}
		if (e != nil) != (tok == valid) {
			t.Fatalf("Lookup(%q) = %v; the valid token is %q", tok, e, valid)
		}
		if e, err := h.store.Lookup(h.ctx, BatchPrefix+other); err != nil || e != nil {
			t.Fatalf("Lookup(%q) = %v, %v", BatchPrefix+other, e, err)
		}
	})
}
