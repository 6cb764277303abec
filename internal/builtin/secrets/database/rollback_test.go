package database_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/strongbox/strongbox/internal/builtin/secrets/database"
	"github.com/strongbox/strongbox/internal/logical"
)

// TestRootRotationRollback: a root rotation interrupted after the
// database took the new password (the config still holds the old one and
// the new one as pending) is settled by the rollback run: the password
// that logs in is kept. One interrupted before the database changed keeps
// the stored password.
func TestRootRotationRollback(t *testing.T) {
	ctx := context.Background()
	c := startCore(t, 0)
	_, _, user, password := pgSetup(t, c, "pg")
	for _, tc := range []struct {
		name, stored, pending, want string
	}{
		{"database changed", "old-password", password, password},
		{"database unchanged", password, "never-set", password},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := database.Factory(ctx, &logical.BackendConfig{System: logical.StaticSystemView{}})
			if err != nil {
				t.Fatal(err)
			}
			s := logical.NewInmemStorage()
			raw, _ := json.Marshal(map[string]any{
				"plugin_name": "postgresql-database-plugin", "connection_url": pg.URL(),
				"username": user, "password": tc.stored, "pending_password": tc.pending,
				"verify_connection": true, "allowed_roles": []string{"*"},
			})
			if err := s.Put(ctx, &logical.StorageEntry{Key: "config/pg", Value: raw}); err != nil {
				t.Fatal(err)
			}
			if _, err := b.HandleRequest(ctx, &logical.Request{Operation: logical.RollbackOperation, Storage: s}); err != nil {
				t.Fatalf("rollback: %v", err)
			}
			e, err := s.Get(ctx, "config/pg")
			if err != nil || e == nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(e.Value, &got); err != nil {
				t.Fatal(err)
			}
			if got["password"] != tc.want || got["pending_password"] != nil {
				t.Fatalf("after rollback: password ok=%v, pending %v", got["password"] == tc.want, got["pending_password"] != nil)
			}
			b.Cleanup(ctx)
		})
	}
}
