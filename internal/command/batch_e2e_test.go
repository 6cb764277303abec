package command

import (
	"slices"
	"strings"
	"testing"
)

// batchCLI runs batch-token commands against the real server of
// TestCLIAgainstRealServer at addr, as root: token create -type=batch
// makes an "hvb." token without a lease, lookup shows its type, renew and
// revoke are refused with Vault's messages, and an auth mount enabled with
// -token-type=batch logs users in with batch tokens.
func batchCLI(t *testing.T, sb *realCLI, addr string) {
	before := leaseKeys(t, sb, tokenLeases)
	out := jsonOut(t, sb.do("", 0, "token", "create", "-type=batch", "-policy=default", "-ttl=10m", "-format=json").stdout)
	auth := out["auth"].(map[string]any)
	tok, _ := auth["client_token"].(string)
	if !strings.HasPrefix(tok, "hvb.") || auth["accessor"] != "" || auth["renewable"] != false {
		t.Errorf("token create -type=batch: %v", auth)
	}
	if after := leaseKeys(t, sb, tokenLeases); !slices.Equal(before, after) {
		t.Errorf("token create -type=batch added a lease: %v -> %v", before, after)
	}
	look := jsonOut(t, sb.do("", 0, "token", "lookup", "-format=json", tok).stdout)
	if data, _ := look["data"].(map[string]any); data["type"] != "batch" {
		t.Errorf("token lookup of a batch token: %v", look)
	}
	if !tokenAlive(sb, addr, tok) {
		t.Error("the batch token does not authenticate")
	}
	if res := sb.do("", 2, "token", "renew", tok); !strings.Contains(res.stderr, "batch tokens cannot be renewed") {
		t.Errorf("token renew of a batch token: %q", res.stderr)
	}
	if res := sb.do("", 2, "token", "revoke", tok); !strings.Contains(res.stderr, "batch tokens cannot be revoked") {
		t.Errorf("token revoke of a batch token: %q", res.stderr)
	}

	sb.do("", 0, "auth", "enable", "-path=upbatch", "-token-type=batch", "userpass")
	sb.do("", 0, "write", "auth/upbatch/users/bee", "password=pw", "token_policies=default")
	login := jsonOut(t, sb.do("", 0, "write", "-format=json", "auth/upbatch/login/bee", "password=pw").stdout)
	la := login["auth"].(map[string]any)
	if tok, _ := la["client_token"].(string); !strings.HasPrefix(tok, "hvb.") || la["renewable"] != false {
		t.Errorf("login on a token_type=batch mount: %v", la)
	}
	sb.do("", 0, "auth", "tune", "-token-type=default-service", "upbatch/")
	login = jsonOut(t, sb.do("", 0, "write", "-format=json", "auth/upbatch/login/bee", "password=pw").stdout)
	if la := login["auth"].(map[string]any); !strings.HasPrefix(la["client_token"].(string), "hvs.") || la["renewable"] != true {
		t.Errorf("login after auth tune -token-type=default-service: %v", la)
	}
	sb.do("", 0, "auth", "disable", "upbatch")
}
