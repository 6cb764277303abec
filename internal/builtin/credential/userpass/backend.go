package userpass

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

// userPrefix is where users are stored, by lowercased name.
const userPrefix = "user/"

// nameRe is a user name as Vault accepts it: letters, digits, "_", "-"
// and ".", neither starting with "-" or "." nor ending with ".".
const nameRe = `(?P<username>\w(?:[\w.-]*\w)?)`

// Factory builds the method for a mount. It does no I/O.
func Factory(_ context.Context, _ *logical.BackendConfig) (logical.Backend, error) {
	return newBackend(bcrypt.DefaultCost).framework(), nil
}

type backend struct {
	// cost is the bcrypt cost of new hashes (Vault's default, 10).
	cost int
	// locks serialise read-modify-write of one user, striped by name.
	locks [64]sync.Mutex
}

func newBackend(cost int) *backend { return &backend{cost: cost} }

func (b *backend) framework() *logical.FrameworkBackend {
	return &logical.FrameworkBackend{
		PathsSpecial: &logical.Paths{Unauthenticated: []string{"login/*"}},
		Paths: []*logical.Path{
			b.pathUsersList(),
			b.pathUserPassword(),
			b.pathUserPolicies(),
			b.pathUsers(),
			b.pathLogin(),
		},
		AuthRenew: b.renewLogin,
	}
}

func (b *backend) lock(name string) func() {
	h := fnv.New32a()
	h.Write([]byte(name))
	mu := &b.locks[h.Sum32()%uint32(len(b.locks))]
	mu.Lock()
	return mu.Unlock
}

// user is one stored user. The password is kept only as its bcrypt hash.
type user struct {
	tokenutil.Params
	PasswordHash []byte `json:"password_hash"`
}

func (b *backend) user(ctx context.Context, s logical.Storage, name string) (*user, error) {
	e, err := s.Get(ctx, userPrefix+name)
	if err != nil {
		return nil, fmt.Errorf("userpass: read user: %w", err)
	}
	if e == nil {
		return nil, nil
	}
	var u user
	if err := json.Unmarshal(e.Value, &u); err != nil {
		return nil, fmt.Errorf("userpass: decode user: %w", err)
	}
	return &u, nil
}

func (b *backend) putUser(ctx context.Context, s logical.Storage, name string, u *user) error {
	raw, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("userpass: encode user: %w", err)
	}
	if err := s.Put(ctx, &logical.StorageEntry{Key: userPrefix + name, Value: raw}); err != nil {
		return fmt.Errorf("userpass: write user: %w", err)
	}
	return nil
}

// username is the request's user name, lowercased as Vault stores it.
func username(d *logical.FieldData) string {
	return strings.ToLower(d.Get("username").(string))
}
