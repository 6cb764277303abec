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
	f.Fuzz(func(t *testing.T, ttl, policies, meta, numUses, name, id, period, typ string, sudo, noParent bool) {
		h := newHarness(t)
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
			for k, v := range h.dump() {
				if strings.Contains(k, sec) || strings.Contains(string(v), sec) {
					t.Fatalf("token or accessor in the clear at %s", k)
				}
			}
		}
	})
}
