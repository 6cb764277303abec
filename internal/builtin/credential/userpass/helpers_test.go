package userpass

import (
	"testing"

	"github.com/strongbox/strongbox/internal/logical/logicaltest"
	"golang.org/x/crypto/bcrypt"
)

// env is the method on its own in-memory storage, with bcrypt's minimum
// cost so the tests stay quick (the cost is not what they check).
type env struct {
	*logicaltest.Env
	t *testing.T
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{Env: logicaltest.New(t, newBackend(bcrypt.MinCost).framework()), t: t}
}
