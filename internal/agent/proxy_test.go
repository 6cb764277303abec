package agent

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// proxyAgent starts an agent with auto-auth (a token allowed to create
// tokens), a cache and a TCP listener; it returns the listener's address.
func proxyAgent(t *testing.T, s *testServer, proxyHCL string) (addr string, a *runningAgent) {
	t.Helper()
	dir := t.TempDir()
	c := s.client(s.root)
	if err := c.Sys().PutPolicy("creator", `path "auth/token/create" { capabilities = ["update"] }
path "auth/token/revoke" { capabilities = ["update"] }`); err != nil {
		t.Fatal(err)
	}
	rid, sid := s.appRole(dir, map[string]any{"token_ttl": "1h", "token_policies": "creator"})
	addr = freeAddr(t)
	sink := filepath.Join(dir, "token")
	a = startAgent(t, agentHCL(s.addr, rid, sid, sink, fmt.Sprintf("listener \"tcp\" {\n  address = %q\n  tls_disable = true\n}\n%s", addr, proxyHCL)))
	eventually(t, 20*time.Second, "the sink", func() bool { return sinkToken(sink) != "" })
	return addr, a
}

func agentClient(t *testing.T, addr, token string) *vault.Client {
	t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = "http://" + addr
	cfg.MaxRetries = 0
	c, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

// createToken is `token create -policy=default` through the agent, with
// no token of its own.
func createToken(t *testing.T, c *vault.Client) string {
	t.Helper()
	s, err := c.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"default"}, TTL: "10m"})
	if err != nil {
		t.Fatalf("token create through the agent: %v", err)
	}
	return s.Auth.ClientToken
}

// The seed's example: a repeated `token create` through the caching agent
// returns the same token; revoking it evicts the entry.
func TestCachingProxyReturnsSameTokenUntilRevoked(t *testing.T) {
	s := newTestServer(t)
	addr, _ := proxyAgent(t, s, "cache {}\napi_proxy {\n  use_auto_auth_token = true\n}\n")
	c := agentClient(t, addr, "")
	first := createToken(t, c)
	if second := createToken(t, c); second != first {
		t.Fatalf("repeated token create returned a new token (%d vs %d chars)", len(second), len(first))
	}
	if _, err := s.client(first).Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("the cached token is not valid on the server: %v", err)
	}
	// Revoked through the agent: evicted, so the next create is new.
	if err := c.Auth().Token().RevokeTree(first); err != nil {
		t.Fatalf("revoke through the agent: %v", err)
	}
	third := createToken(t, c)
	if third == first {
		t.Fatal("the agent replayed a revoked token")
	}
	// cache-clear drops it too.
	if err := cacheClear(c, map[string]any{"type": "all"}); err != nil {
		t.Fatalf("cache-clear: %v", err)
	}
	fourth := createToken(t, c)
	if fourth == third {
		t.Fatal("cache-clear left the entry")
	}
	err := cacheClear(c, map[string]any{"type": "nope", "value": "x"})
	var re *vault.ResponseError
	if err == nil || !asResponseError(err, &re) || re.StatusCode != http.StatusBadRequest {
		t.Fatalf("cache-clear with a bad type: %v", err)
	}
	// The caller's own token gets its own entries, not the auto-auth
	// token's.
	own, err := s.client(s.root).Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"creator"}})
	if err != nil {
		t.Fatal(err)
	}
	mine := agentClient(t, addr, own.Auth.ClientToken)
	if got := createToken(t, mine); got == fourth {
		t.Fatal("a different caller got the auto-auth token's cached token")
	}
}

func cacheClear(c *vault.Client, body map[string]any) error {
	r := c.NewRequest(http.MethodPost, "/agent/v1/cache-clear")
	if err := r.SetJSONBody(body); err != nil {
		return err
	}
	resp, err := c.RawRequest(r)
	if resp != nil {
		resp.Body.Close()
	}
	return err
}

func asResponseError(err error, re **vault.ResponseError) bool {
	e, ok := err.(*vault.ResponseError)
	if ok {
		*re = e
	}
	return ok
}

func TestProxyUseAutoAuthToken(t *testing.T) {
	s := newTestServer(t)
	t.Run("without use_auto_auth_token a request without token is refused", func(t *testing.T) {
		addr, _ := proxyAgent(t, s, "")
		_, err := agentClient(t, addr, "").Auth().Token().LookupSelf()
		var re *vault.ResponseError
		if !asResponseError(err, &re) || re.StatusCode != http.StatusForbidden {
			t.Fatalf("lookup-self without a token: %v", err)
		}
	})
	t.Run("true keeps the caller's own token", func(t *testing.T) {
		addr, _ := proxyAgent(t, s, "api_proxy {\n  use_auto_auth_token = true\n}\n")
		look, err := agentClient(t, addr, s.root).Auth().Token().LookupSelf()
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := look.TokenPolicies(); !strings.Contains(fmt.Sprint(p), "root") {
			t.Errorf("caller's token replaced: policies %v", p)
		}
		look, err = agentClient(t, addr, "").Auth().Token().LookupSelf()
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := look.TokenPolicies(); !strings.Contains(fmt.Sprint(p), "creator") {
			t.Errorf("auto-auth token not used: policies %v", p)
		}
	})
	t.Run("force replaces the caller's token", func(t *testing.T) {
		addr, _ := proxyAgent(t, s, "api_proxy {\n  use_auto_auth_token = \"force\"\n}\n")
		look, err := agentClient(t, addr, s.root).Auth().Token().LookupSelf()
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := look.TokenPolicies(); !strings.Contains(fmt.Sprint(p), "creator") {
			t.Errorf("force did not use the auto-auth token: policies %v", p)
		}
	})
}

// A renewal through the caching agent always reaches the server: its
// response carries auth, but replaying it would renew nothing.
func TestCachingProxyDoesNotCacheRenewals(t *testing.T) {
	s := newTestServer(t)
	addr, _ := proxyAgent(t, s, "cache {}\n")
	child, err := s.client(s.root).Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"default"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/v1/auth/token/renew-self", strings.NewReader(`{"increment":"1h"}`))
		req.Header.Set("X-Vault-Token", child.Auth.ClientToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Cache") != "MISS" {
			t.Fatalf("renew-self #%d: %d, X-Cache %q", i+1, resp.StatusCode, resp.Header.Get("X-Cache"))
		}
	}
}

// The auto-auth token revoked on the server (not through the agent): its
// child tokens die with it, and once the agent has logged in again the
// cache no longer replays them.
func TestCachingProxyEvictsWhenAutoAuthTokenReplaced(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	c := s.client(s.root)
	if err := c.Sys().PutPolicy("creator", `path "auth/token/create" { capabilities = ["update"] }`); err != nil {
		t.Fatal(err)
	}
	rid, sid := s.appRole(dir, map[string]any{"token_ttl": "3s", "token_max_ttl": "1h", "token_policies": "creator"})
	addr := freeAddr(t)
	sink := filepath.Join(dir, "token")
	startAgent(t, agentHCL(s.addr, rid, sid, sink, fmt.Sprintf("cache {}\napi_proxy { use_auto_auth_token = true }\nlistener \"tcp\" {\n  address = %q\n  tls_disable = true\n}\n", addr)))
	eventually(t, 20*time.Second, "the sink", func() bool { return sinkToken(sink) != "" })
	old := sinkToken(sink)
	pc := agentClient(t, addr, "")
	first := createToken(t, pc)
	if err := c.Auth().Token().RevokeTree(old); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the agent's new token", func() bool {
		tok := sinkToken(sink)
		return tok != "" && tok != old
	})
	next := createToken(t, pc)
	if next == first {
		t.Fatal("the cache replayed a token revoked with its parent")
	}
	if _, err := s.client(next).Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("the new token: %v", err)
	}
}
