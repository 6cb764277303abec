package approle

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	uuid "github.com/hashicorp/go-uuid"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

// Storage prefixes; see doc.go.
const (
	saltKey             = "salt"
	rolePrefix          = "role/"
	roleIDPrefix        = "role_id/"
	secretIDPrefix      = "secret_id/"
	secretIDLocalPrefix = "secret_id_local/"
	accessorPrefix      = "accessor/"
	accessorLocalPrefix = "accessor_local/"
)

// nameRe is a role name as Vault accepts it: letters, digits, "_", "-",
// ".", "@" and spaces, starting and ending with a letter, digit or "_".
const nameRe = `(?P<role_name>\w(?:[\w .@-]*\w)?)`

// Factory builds the method for a mount. It does no I/O: the mount's salt
// is read (or made) at the first request that needs it.
func Factory(_ context.Context, _ *logical.BackendConfig) (logical.Backend, error) {
	return newBackend(time.Now).framework(), nil
}

type backend struct {
	// now is the clock secret IDs expire by (a fake one in tests).
	now func() time.Time

	// roleLocks serialise read-modify-write of one role, striped by name;
	// secretLocks serialise the use, update and removal of one secret ID,
	// striped by its HMAC, so that two logins with a one-use secret ID
	// cannot both spend it.
	roleLocks   [64]sync.Mutex
	secretLocks [256]sync.Mutex
	// roleIDMu serialises changes of role IDs, so two roles never claim
	// the same one.
	roleIDMu sync.Mutex

	saltMu sync.Mutex
	salt   []byte
}

func newBackend(now func() time.Time) *backend { return &backend{now: now} }

func (b *backend) framework() *logical.FrameworkBackend {
	paths := []*logical.Path{
		b.pathLogin(),
		b.pathTidy(),
		b.pathRoleList(),
		b.pathRole(),
		b.pathRoleID(),
		b.pathSecretID(),
		b.pathCustomSecretID(),
		b.pathSecretIDLookup(),
		b.pathSecretIDDestroy(),
		b.pathAccessorLookup(),
		b.pathAccessorDestroy(),
	}
	paths = append(paths, b.pathRoleFields()...)
	return &logical.FrameworkBackend{
		PathsSpecial: &logical.Paths{
			Unauthenticated: []string{"login"},
			LocalStorage:    []string{secretIDLocalPrefix, accessorLocalPrefix},
		},
		Paths:        paths,
		AuthRenew:    b.renewLogin,
		PeriodicFunc: b.periodicTidy,
		Clean:        func(context.Context) { b.saltMu.Lock(); b.salt = nil; b.saltMu.Unlock() },
	}
}

func stripe(mus []sync.Mutex, key string) func() {
	h := fnv.New32a()
	h.Write([]byte(key))
	mu := &mus[h.Sum32()%uint32(len(mus))]
	mu.Lock()
	return mu.Unlock
}

func (b *backend) lockRole(name string) func()     { return stripe(b.roleLocks[:], name) }
func (b *backend) lockSecret(hmacID string) func() { return stripe(b.secretLocks[:], hmacID) }

// mountSalt returns the mount's HMAC key, making and storing it the first
// time. Only the active node writes, and the mutex keeps two first
// requests from making two keys.
func (b *backend) mountSalt(ctx context.Context, s logical.Storage) ([]byte, error) {
	b.saltMu.Lock()
	defer b.saltMu.Unlock()
	if b.salt != nil {
		return b.salt, nil
	}
	e, err := s.Get(ctx, saltKey)
	if err != nil {
		return nil, fmt.Errorf("approle: read salt: %w", err)
	}
	if e != nil && len(e.Value) >= 32 {
		b.salt = e.Value
		return b.salt, nil
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("approle: make salt: %w", err)
	}
	if err := s.Put(ctx, &logical.StorageEntry{Key: saltKey, Value: salt}); err != nil {
		return nil, fmt.Errorf("approle: write salt: %w", err)
	}
	b.salt = salt
	return salt, nil
}

// hasher HMACs identifiers with the mount's salt: what storage keys are
// made of, so a secret ID, a role ID or an accessor is never stored in
// clear as a key and a stolen copy of storage does not give them away.
type hasher struct{ salt []byte }

func (h hasher) sum(kind, v string) string {
	m := hmac.New(sha256.New, h.salt)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil))
}

func (b *backend) hasher(ctx context.Context, s logical.Storage) (hasher, error) {
	salt, err := b.mountSalt(ctx, s)
	return hasher{salt}, err
}

// role is one stored role.
type role struct {
	tokenutil.Params
	RoleID             string        `json:"role_id"`
	BindSecretID       bool          `json:"bind_secret_id"`
	SecretIDBoundCIDRs []string      `json:"secret_id_bound_cidrs"`
	SecretIDNumUses    int           `json:"secret_id_num_uses"`
	SecretIDTTL        time.Duration `json:"secret_id_ttl"`
	LocalSecretIDs     bool          `json:"local_secret_ids"`
	// SecretIDFolder names the storage folder of the role's secret IDs
	// (random, set at creation).
	SecretIDFolder string `json:"secret_id_folder"`
	// BoundCIDRListLegacy: secret_id_bound_cidrs was last set under its
	// pre-1.2 name bound_cidr_list, so it reads back under it too.
	BoundCIDRListLegacy bool `json:"bound_cidr_list_legacy,omitempty"`
}

func getJSON(ctx context.Context, s logical.Storage, key string, v any) (bool, error) {
	e, err := s.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("approle: read %s: %w", strings.SplitN(key, "/", 2)[0], err)
	}
	if e == nil {
		return false, nil
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return false, fmt.Errorf("approle: decode %s: %w", strings.SplitN(key, "/", 2)[0], err)
	}
	return true, nil
}

func putJSON(ctx context.Context, s logical.Storage, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("approle: encode %s: %w", strings.SplitN(key, "/", 2)[0], err)
	}
	if err := s.Put(ctx, &logical.StorageEntry{Key: key, Value: raw}); err != nil {
		return fmt.Errorf("approle: write %s: %w", strings.SplitN(key, "/", 2)[0], err)
	}
	return nil
}

func (b *backend) role(ctx context.Context, s logical.Storage, name string) (*role, error) {
	var r role
	ok, err := getJSON(ctx, s, rolePrefix+name, &r)
	if err != nil || !ok {
		return nil, err
	}
	return &r, nil
}

// roleName is the request's role name, lowercased as Vault stores new
// roles.
func roleName(d *logical.FieldData) string {
	return strings.ToLower(d.Get("role_name").(string))
}

func roleNameField() *logical.FieldSchema {
	return &logical.FieldSchema{Type: logical.TypeString, Description: "The role's name (case-insensitive)."}
}

func newID() (string, error) {
	id, err := uuid.GenerateUUID()
	if err != nil {
		return "", fmt.Errorf("approle: generate id: %w", err)
	}
	return id, nil
}

// errNoRole answers a request about a role that does not exist.
func errNoRole(name string) error { return logical.BadRequest("role %q does not exist", name) }
