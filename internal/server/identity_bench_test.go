package server

import (
	"testing"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/core"
)

// BenchmarkIdentityAppRoleLogin: AppRole logins (each finds the role's
// entity) followed by one KV read with the new token (identity policies
// and the ACL of an entity token), 32 clients in parallel.
func BenchmarkIdentityAppRoleLogin(b *testing.B) {
	url := serveCore(b, core.Config{SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(), AuditDevices: map[string]audit.Factory{}})
	root := rootClient(b, url)
	if err := root.Sys().Mount("secret", &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		b.Fatal(err)
	}
	if err := root.Sys().EnableAuthWithOptions("approle", &vault.EnableAuthOptions{Type: "approle"}); err != nil {
		b.Fatal(err)
	}
	if err := root.Sys().PutPolicy("app", `path "secret/data/app" { capabilities = ["read"] }`); err != nil {
		b.Fatal(err)
	}
	if _, err := root.Logical().Write("secret/data/app", map[string]any{"data": map[string]any{"k": "v"}}); err != nil {
		b.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/approle/role/app", map[string]any{"token_policies": "app", "bind_secret_id": false, "secret_id_bound_cidrs": "127.0.0.1/32"}); err != nil {
		b.Fatal(err)
	}
	rid, err := root.Logical().Read("auth/approle/role/app/role-id")
	if err != nil {
		b.Fatal(err)
	}
	roleID := rid.Data["role_id"].(string)
	b.SetParallelism(16) // 32 goroutines on 2 CPUs
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		cfg := vault.DefaultConfig()
		cfg.Address = url
		c, err := vault.NewClient(cfg)
		if err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			c.ClearToken()
			s, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": roleID})
			if err != nil {
				b.Error(err)
				return
			}
			c.SetToken(s.Auth.ClientToken)
			if _, err := c.Logical().Read("secret/data/app"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
