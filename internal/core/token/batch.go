package token

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// TypeBatch is the type of batch tokens: the token value is the entry
// itself, sealed, so nothing is stored when one is issued.
const TypeBatch = "batch"

// BatchPrefix starts every batch token, as in Vault.
const BatchPrefix = "hvb."

// ErrBatchUnreadable is what Options.OpenBatch wraps when a blob does not
// authenticate (forged, damaged, or sealed with a key the node does not
// have): the token is then simply invalid. Any other error from OpenBatch
// is a failure of the node, not of the token.
var ErrBatchUnreadable = errors.New("token: batch token does not authenticate")

// batchVersion is the format of the sealed record; a record of another
// version is refused as unreadable.
const batchVersion = 1

// batchRecord is a batch token's entry as sealed into the token. Times are
// Unix nanoseconds. The parent is the parent's ID (its salted hash), never
// its raw value.
type batchRecord struct {
	Version      int               `json:"v"`
	Parent       string            `json:"p,omitempty"`
	Policies     []string          `json:"pol"`
	Path         string            `json:"path"`
	Meta         map[string]string `json:"m,omitempty"`
	DisplayName  string            `json:"dn"`
	CreationTime int64             `json:"ct"`
	TTL          time.Duration     `json:"ttl"`
	ExpireTime   int64             `json:"exp"`
	EntityID     string            `json:"eid,omitempty"`
	BoundCIDRs   []string          `json:"cidrs,omitempty"`
	Role         string            `json:"role,omitempty"`
	// Namespace is reserved for namespaces: empty is the root namespace.
	Namespace string `json:"ns,omitempty"`
}

// sealBatch returns the token value of e, a batch entry.
func (s *Store) sealBatch(e *Entry) (string, error) {
	if s.sealBatchFn == nil {
		return "", errors.New("token: batch tokens are not available: no sealer configured")
	}
	b, err := json.Marshal(&batchRecord{
		Version:      batchVersion,
		Parent:       e.Parent,
		Policies:     e.Policies,
		Path:         e.Path,
		Meta:         e.Meta,
		DisplayName:  e.DisplayName,
		CreationTime: unixNano(e.CreationTime),
		TTL:          e.TTL,
		ExpireTime:   unixNano(e.ExpireTime),
		EntityID:     e.EntityID,
		BoundCIDRs:   e.BoundCIDRs,
		Role:         e.Role,
	})
	if err != nil {
		return "", fmt.Errorf("token: encode batch entry: %w", err)
	}
	blob, err := s.sealBatchFn(b)
	if err != nil {
		return "", fmt.Errorf("token: seal batch entry: %w", err)
	}
	return BatchPrefix + base64.RawURLEncoding.EncodeToString(blob), nil
}

// lookupBatch opens a batch token: nil, nil when it does not authenticate,
// has expired, or names a parent that is no longer valid (a non-orphan
// batch token lives only as long as its parent).
func (s *Store) lookupBatch(ctx context.Context, tok string) (*Entry, error) {
	if s.openBatchFn == nil {
		return nil, nil
	}
	body := strings.TrimPrefix(tok, BatchPrefix)
	blob, err := base64.RawURLEncoding.DecodeString(body)
	// Only the canonical spelling is the token: the decoder skips line
	// breaks and ignores the last character's spare bits, so other
	// spellings of the same blob would otherwise be valid too.
	if err != nil || base64.RawURLEncoding.EncodeToString(blob) != body {
		return nil, nil
	}
	b, err := s.openBatchFn(ctx, blob)
	if errors.Is(err, ErrBatchUnreadable) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("token: open batch token: %w", err)
	}
	var r batchRecord
	if err := json.Unmarshal(b, &r); err != nil || r.Version != batchVersion {
		// Authenticated yet unreadable: written by another version.
		s.logger.Warn("a batch token authenticated but its entry could not be read", "error", err, "version", r.Version)
		return nil, nil
	}
	e := &Entry{
		ID:           s.keys.hashToken(tok),
		Parent:       r.Parent,
		Policies:     r.Policies,
		Path:         r.Path,
		Meta:         r.Meta,
		DisplayName:  r.DisplayName,
		CreationTime: fromUnixNano(r.CreationTime),
		TTL:          r.TTL,
		Orphan:       r.Parent == "",
		Type:         TypeBatch,
		EntityID:     r.EntityID,
		ExpireTime:   fromUnixNano(r.ExpireTime),
		BoundCIDRs:   r.BoundCIDRs,
		Role:         r.Role,
	}
	if e.ExpireTime.IsZero() || e.Expired(s.now()) {
		return nil, nil
	}
	if e.Parent != "" {
		p, err := s.lookupID(ctx, e.Parent)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, nil
		}
	}
	return e, nil
}

var (
	errBatchRoot   = logical.BadRequest("batch tokens cannot be root tokens")
	errBatchRevoke = logical.BadRequest("batch tokens cannot be revoked")
	errBatchRenew  = logical.BadRequest("batch tokens cannot be renewed")
)

func badBatch(field string) error {
	return logical.BadRequest("batch tokens cannot have %q set", field)
}

// checkBatch applies Vault's limits on a batch token request. An explicit
// max TTL only caps the TTL (a login's role may set one); auth/token/create
// refuses one in the request itself, as Vault does.
func checkBatch(req *CreateRequest, policies []string) error {
	switch {
	case req.NumUses != 0:
		return badBatch("num_uses")
	case req.Period > 0:
		return badBatch("period")
	case slices.Contains(policies, RootPolicy):
		// A batch token cannot be revoked: a root one would be forever.
		return errBatchRoot
	}
	return nil
}
