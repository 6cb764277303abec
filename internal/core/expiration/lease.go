package expiration

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// Errors callers branch on.
var (
	// ErrInvalidLease: the lease is unknown, revoked or expired (400
	// "invalid lease", as Vault answers).
	ErrInvalidLease = logical.BadRequest("invalid lease")
	// ErrNotRunning: the manager is not started (sealed, or a standby).
	ErrNotRunning = errors.New("expiration: manager not running")
	// ErrNoMount: no engine is mounted at the lease's path any more.
	ErrNoMount = errors.New("expiration: no mount at the lease's path")
)

// Storage prefixes inside the manager's view.
const (
	idPrefix          = "id/"
	tokenPrefix       = "token/"
	timePrefix        = "time/"
	bucketPrefix      = "bucket/"
	dayPrefix         = "day/"
	irrevocablePrefix = "irrevocable/"
)

// Lease is one lease as stored.
type Lease struct {
	// ID is "<request path>/<random id>" for a secret, "<token creation
	// path>/<token id>" for a token.
	ID string `json:"id"`
	// Path is the request path that issued it, mount included.
	Path string `json:"path"`
	// MountAccessor is the accessor of the mount that issued it.
	MountAccessor string `json:"mount_accessor,omitempty"`
	// Secret is the engine's secret (InternalData, LeaseOptions); nil for
	// a token's lease.
	Secret *logical.Secret `json:"secret,omitempty"`
	// TokenID is the store ID of the token this lease is (auth leases).
	TokenID string `json:"token_id,omitempty"`
	// TokenRenewable reports whether the token (auth leases) may be
	// renewed (through auth/token/renew: sys/leases/renew refuses tokens).
	TokenRenewable bool `json:"token_renewable,omitempty"`
	// CreatorID is the store ID of the token that created the secret;
	// its revocation revokes the lease.
	CreatorID string `json:"creator_id,omitempty"`

	IssueTime   time.Time `json:"issue_time"`
	ExpireTime  time.Time `json:"expire_time"`
	LastRenewal time.Time `json:"last_renewal,omitzero"`

	RevokeAttempts int    `json:"revoke_attempts,omitempty"`
	LastError      string `json:"last_error,omitempty"`
	Irrevocable    bool   `json:"irrevocable,omitempty"`
}

// IsAuth reports whether the lease is a token's.
func (l *Lease) IsAuth() bool { return l.TokenID != "" }

// Renewable reports whether a renewal may be asked for.
func (l *Lease) Renewable() bool {
	if l.IsAuth() {
		return l.TokenRenewable
	}
	return l.Secret != nil && l.Secret.Renewable
}

func encodeLease(l *Lease) ([]byte, error) {
	b, err := json.Marshal(l)
	if err != nil {
		return nil, fmt.Errorf("expiration: encode lease: %w", err)
	}
	return b, nil
}

func decodeLease(b []byte) (*Lease, error) {
	var l Lease
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("expiration: decode lease: %w", err)
	}
	return &l, nil
}

func enc(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

func dec(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err
}

// bucketOf is the expiry bucket holding t.
func bucketOf(t time.Time) int64 { return t.UnixNano() / int64(bucketWidth) }

// bucketStart is when bucket b begins.
func bucketStart(b int64) time.Time { return time.Unix(0, b*int64(bucketWidth)) }

const bucketsPerDay = int64(24 * time.Hour / bucketWidth)

func dayOf(b int64) int64 { return b / bucketsPerDay }

func numKey(n int64) string { return fmt.Sprintf("%020d", n) }

func timeKey(l *Lease) string {
	b := bucketOf(l.ExpireTime)
	return timePrefix + numKey(b) + "/" + numKey(l.ExpireTime.UnixNano()) + "." + enc(l.ID)
}

func bucketMarker(b int64) string { return bucketPrefix + numKey(dayOf(b)) + "/" + numKey(b) }

func dayMarker(d int64) string { return dayPrefix + numKey(d) }

func tokenKey(l *Lease) string {
	if l.CreatorID == "" {
		return ""
	}
	return tokenPrefix + l.CreatorID + "/" + enc(l.ID)
}

// parseTimeKey splits a key listed under time/<bucket>/ into the expiry
// and the lease id.
func parseTimeKey(k string) (time.Time, string, error) {
	ns, e, ok := strings.Cut(k, ".")
	if !ok {
		return time.Time{}, "", fmt.Errorf("expiration: malformed index key %q", k)
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("expiration: malformed index key %q: %w", k, err)
	}
	id, err := dec(e)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("expiration: malformed index key %q: %w", k, err)
	}
	return time.Unix(0, n), id, nil
}
