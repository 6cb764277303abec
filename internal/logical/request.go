package logical

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"time"
)

// Operation is what a request does, independent of the HTTP verb.
type Operation string

// The operations; create and update both arrive as PUT/POST and are told
// apart by the backend's existence check.
const (
	ReadOperation   Operation = "read"
	CreateOperation Operation = "create"
	UpdateOperation Operation = "update"
	PatchOperation  Operation = "patch"
	DeleteOperation Operation = "delete"
	ListOperation   Operation = "list"
	HelpOperation   Operation = "help"

	// RenewOperation extends a lease: the core sends it with req.Secret set
	// (a secret's lease, served by the SecretType's Renew) or req.Auth set
	// (a login token, served by FrameworkBackend.AuthRenew). It never
	// arrives from HTTP directly.
	RenewOperation Operation = "renew"
	// RevokeOperation ends a secret's lease: the core sends it with
	// req.Secret set, served by the SecretType's Revoke.
	RevokeOperation Operation = "revoke"
	// RollbackOperation is the core's periodic call into every mount
	// (Vault's rollback manager): FrameworkBackend runs its PeriodicFunc,
	// then its Rollback hook.
	RollbackOperation Operation = "rollback"
	// AliasLookaheadOperation asks a login path, before the login itself,
	// which alias (req.Auth-less response with Auth.Alias) the credentials
	// name, so the core can refuse a locked-out user without checking the
	// password. The backend answers without verifying anything.
	AliasLookaheadOperation Operation = "alias-lookahead"
)

// StorageEntry is one value in a Storage view.
type StorageEntry struct {
	Key   string
	Value []byte
}

// Storage is an engine's private, barrier-encrypted key space.
type Storage interface {
	// Get returns the entry or (nil, nil) when absent.
	Get(ctx context.Context, key string) (*StorageEntry, error)
	// Put stores durably when it returns nil.
	Put(ctx context.Context, e *StorageEntry) error
	// Delete removes the key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the immediate children of prefix ("folders" end in "/").
	List(ctx context.Context, prefix string) ([]string, error)
}

// Connection describes the client's connection.
type Connection struct {
	RemoteAddr string
	ConnState  *tls.ConnectionState
}

// Request is one call into a backend.
type Request struct {
	ID        string
	Operation Operation
	// Path is relative to the mount point (no leading slash).
	Path string
	// Data holds the JSON body, or the query parameters of a GET.
	Data map[string]any

	// MountPoint is where the engine is mounted, with a trailing slash
	// ("secret/"); MountType its type ("kv").
	MountPoint string
	MountType  string
	// MountAccessor is the mount's accessor (as SystemView.MountAccessor).
	MountAccessor string
	// MountConfig carries the mount's tunables.
	MountConfig MountConfig

	Storage Storage

	// ClientToken is the caller's token (empty on unauthenticated paths);
	// the core fills in what it learned about it.
	ClientToken         string
	ClientTokenAccessor string
	DisplayName         string
	Policies            []string
	EntityID            string
	TokenTTL            time.Duration
	// Namespace is the caller's namespace path ("" is the root namespace,
	// the only one until namespaces land; engines must not depend on it
	// to separate data: the core gives each namespace its own mounts).
	Namespace string
	// Sudo reports whether the caller's ACL grants sudo on this path (root
	// tokens always have it).
	Sudo bool
	// WrapInfo is the client's ask to have the response wrapped; nil for
	// none. Engines may read it (sys/wrapping/wrap requires it).
	WrapInfo *RequestWrapInfo

	Headers    http.Header
	Connection *Connection

	// Secret is the lease being renewed or revoked (RenewOperation,
	// RevokeOperation): what the engine returned when it issued it, with
	// its InternalData and the lease's LeaseID and Increment. Nil otherwise.
	Secret *Secret
	// Auth is the login token being renewed (RenewOperation sent to the
	// auth method that issued it: Vault's AuthRenew), with Increment set.
	// Nil otherwise.
	Auth *Auth

	// Body is the raw request body of an endpoint that takes a stream
	// rather than JSON (a snapshot to restore); nil otherwise. Data is
	// empty then.
	Body io.Reader
	// ResponseWriter receives the raw response body of an endpoint that
	// answers with a stream (a snapshot); nil otherwise. A handler that
	// writes to it returns a nil response.
	ResponseWriter io.Writer
}

// MountConfig carries a mount's tunables to the engine.
type MountConfig struct {
	DefaultLeaseTTL time.Duration
	MaxLeaseTTL     time.Duration
	Options         map[string]string
}

// Auth is what a login or token creation hands back.
type Auth struct {
	ClientToken    string
	Accessor       string
	Policies       []string
	TokenPolicies  []string
	Metadata       map[string]string
	LeaseDuration  time.Duration
	Renewable      bool
	EntityID       string
	TokenType      string
	Orphan         bool
	NumUses        int
	DisplayName    string
	Period         time.Duration
	ExplicitMaxTTL time.Duration
	// Increment is the renewal asked for (RenewOperation with req.Auth):
	// the extra TTL the caller wants, zero for "the token's own TTL".
	Increment time.Duration

	// IdentityPolicies are the policies the token gets from its entity's
	// groups (identity), beside TokenPolicies; empty until identity lands.
	IdentityPolicies []string
	// MaxTTL caps the token's life from its creation, below the mount's
	// max TTL (an auth method's token_max_ttl); zero: the mount's.
	MaxTTL time.Duration
	// NoDefaultPolicy leaves "default" out of the token's policies.
	NoDefaultPolicy bool
	// BoundCIDRs are the addresses (CIDR blocks, or single IPs) the token
	// may be used from; empty: anywhere. The core refuses (403) a request
	// whose remote address is outside them.
	BoundCIDRs []string

	// Alias names the caller inside the auth method (a username, a role
	// id, a certificate name): identity ties it, with the mount accessor,
	// to an entity; user lockout counts failures per alias.
	Alias *Alias
	// GroupAliases are the caller's groups inside the method (LDAP groups):
	// identity maps them to external groups.
	GroupAliases []*Alias
}

// Alias is a name in an auth method, with metadata identity keeps on the
// entity alias.
type Alias struct {
	Name     string
	Metadata map[string]string
}

// Response is what a backend returns. A nil Response with a nil error means
// "nothing here": 404 for reads and lists, 204 for writes.
type Response struct {
	Data     map[string]any
	Secret   *Secret
	Auth     *Auth
	Warnings []string
	Headers  http.Header
	// Raw, when set, is sent as the body verbatim with RawContentType and
	// RawStatus (used by endpoints that are not JSON envelopes).
	Raw            []byte
	RawContentType string
	RawStatus      int
	// WrapInfo is set by the core on a wrapped response (the rest of the
	// response is then empty: it sits in the wrapping token's cubbyhole).
	// A backend may set its TTL and CreationPath to ask for wrapping.
	WrapInfo *ResponseWrapInfo
}

// AddWarning appends a warning to the response.
func (r *Response) AddWarning(w string) { r.Warnings = append(r.Warnings, w) }

// TxnOp is one write inside a Transaction: a put of Entry, or a delete of
// Entry.Key when Delete is set.
type TxnOp struct {
	Delete bool
	Entry  *StorageEntry
}

// Transactional is a Storage that applies several writes atomically (all
// or none) and durably when Transaction returns nil. The core's views offer
// it over storage backends that support it; engines check for it.
type Transactional interface {
	Storage
	Transaction(ctx context.Context, ops []*TxnOp) error
}
