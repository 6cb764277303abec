package userpass

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/strongbox/strongbox/internal/logical"
)

// The dummy hash an unknown user is compared against must cost what a real
// user's hash costs: a valid bcrypt hash at the cost new passwords get.
// (The timing itself is measured by BenchmarkFailedLogin, not asserted.)
func TestDummyHashCostsAsMuchAsARealOne(t *testing.T) {
	cost, err := bcrypt.Cost(dummyHash)
	if err != nil {
		t.Fatalf("dummy hash is not a bcrypt hash: %v", err)
	}
	if cost != bcrypt.DefaultCost {
		t.Fatalf("dummy hash cost %d, new passwords get %d", cost, bcrypt.DefaultCost)
	}
	b := newBackend(bcrypt.DefaultCost)
	if b.cost != cost {
		t.Fatalf("backend cost %d != dummy cost %d", b.cost, cost)
	}
}

// BenchmarkFailedLogin compares an unknown user with a wrong password at
// the production cost: the two should take the same time.
//
//	go test -run XXX -bench FailedLogin -benchtime 20x ./internal/builtin/credential/userpass
func BenchmarkFailedLogin(b *testing.B) {
	be := newBackend(bcrypt.DefaultCost).framework()
	storage := logical.NewInmemStorage()
	ctx := context.Background()
	if _, err := be.HandleRequest(ctx, &logical.Request{Operation: logical.CreateOperation, Path: "users/alice",
		Storage: storage, Data: map[string]any{"password": "right"}}); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, user string }{{"wrong-password", "alice"}, {"unknown-user", "mallory"}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_, err := be.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "login/" + tc.user,
					Storage: storage, Data: map[string]any{"password": "wrong"}})
				if status, _ := logical.StatusOf(err); status != 400 {
					b.Fatalf("login: %v", err)
				}
			}
		})
	}
}
