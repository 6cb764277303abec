package token

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	metrics "github.com/hashicorp/go-metrics"

	"github.com/strongbox/strongbox/internal/logical"
)

// ResponseWrappingPolicy is the policy of the core's wrapping tokens.
const ResponseWrappingPolicy = "response-wrapping"

// nonAssignablePolicies are internal to Vault and never go on a token a
// user asks for; the core's wrapping tokens get theirs through
// CreateWrapping.
var nonAssignablePolicies = []string{ResponseWrappingPolicy, "control-group"}

// CreateRequest describes a token to create. The core fills it from a
// login's logical.Auth; the auth/token/create handler from its fields.
type CreateRequest struct {
	// Parent is the token the new one hangs under in the revocation tree;
	// nil makes an orphan (logins are orphans).
	Parent *Entry
	// ID is a caller-chosen token value (no "." allowed); empty generates
	// a random "hvs." token. Only root/sudo callers may choose.
	ID string
	// Policies are sanitized (lowercased, sorted, deduped); "default" is
	// added unless NoDefaultPolicy; a set holding "root" becomes ["root"].
	Policies        []string
	NoDefaultPolicy bool
	// Path is the creation path ("auth/token/create", a login path).
	Path        string
	Meta        map[string]string
	DisplayName string
	NumUses     int
	// TTL zero takes DefaultTTL, except for root tokens, which then never
	// expire. Period makes a periodic token; ExplicitMaxTTL is a hard cap.
	TTL, ExplicitMaxTTL, Period time.Duration
	// DefaultTTL and MaxTTL are the issuing mount's; zero takes the store's.
	DefaultTTL, MaxTTL time.Duration
	Renewable          bool
	EntityID           string

	// BoundCIDRs restrict where the token may be used from (a login's
	// token_bound_cidrs); the core checks them on every request.
	BoundCIDRs []string
	// Role names the token role of a create/<role> request.
	Role string
	// Type is TypeService (or empty) or TypeBatch. A batch token is not
	// stored and never renewable; as in Vault, NumUses, Period and root
	// policies are refused, a chosen ID is ignored, and an ExplicitMaxTTL
	// only caps the TTL.
	Type string

	// wrapping marks the core's own wrapping tokens (CreateWrapping), the
	// only ones allowed the response-wrapping policy.
	wrapping bool
}

// CreateWrapping creates a response-wrapping token: an orphan with only
// the response-wrapping policy, a single use, not renewable, valid for
// ttl (rounded up to a whole second), created at path. Its cubbyhole is
// the caller's to fill.
func (s *Store) CreateWrapping(ctx context.Context, ttl time.Duration, path string) (string, *Entry, error) {
	if ttl <= 0 {
		return "", nil, logical.BadRequest("wrapping TTL must be positive")
	}
	if r := ttl % time.Second; r != 0 {
		ttl += time.Second - r
	}
	tok, e, _, err := s.create(ctx, CreateRequest{
		Policies:        []string{ResponseWrappingPolicy},
		NoDefaultPolicy: true,
		Path:            path,
		NumUses:         1,
		TTL:             ttl,
		ExplicitMaxTTL:  ttl,
		DefaultTTL:      ttl,
		MaxTTL:          ttl,
		wrapping:        true,
	})
	return tok, e, err
}

// IsWrapping reports whether e is a response-wrapping token.
func (e *Entry) IsWrapping() bool {
	return len(e.Policies) == 1 && e.Policies[0] == ResponseWrappingPolicy
}

// CreateRoot creates a root token: policies ["root"], no parent, never
// expiring.
func (s *Store) CreateRoot(ctx context.Context) (string, *Entry, error) {
	return s.Create(ctx, CreateRequest{
		Policies:        []string{RootPolicy},
		NoDefaultPolicy: true,
		Path:            PathRoot,
		DisplayName:     "root",
	})
}

// Create stores a new token and returns its raw value (shown to the client
// once, never stored) and its entry. Bad input gives a 400 CodedError.
func (s *Store) Create(ctx context.Context, req CreateRequest) (string, *Entry, error) {
	tok, e, _, err := s.create(ctx, req)
	return tok, e, err
}

// create is Create, also returning warnings for the client (TTL capped).
func (s *Store) create(ctx context.Context, req CreateRequest) (string, *Entry, []string, error) {
	switch {
	case req.NumUses < 0:
		return "", nil, nil, logical.BadRequest("number of uses cannot be negative")
	case req.TTL < 0:
		return "", nil, nil, logical.BadRequest("ttl must be positive")
	case req.ExplicitMaxTTL < 0:
		return "", nil, nil, logical.BadRequest("explicit_max_ttl must be positive")
	case req.Period < 0:
		return "", nil, nil, logical.BadRequest("period must be positive")
	}
	policies := sanitizePolicies(req.Policies, !req.NoDefaultPolicy)
	for _, p := range policies {
		if slices.Contains(nonAssignablePolicies, p) && !(req.wrapping && p == ResponseWrappingPolicy) {
			return "", nil, nil, logical.BadRequest("cannot assign policy %q", p)
		}
	}
	isRoot := len(policies) == 1 && policies[0] == RootPolicy
	if isRoot && req.Parent != nil && !req.Parent.IsRoot() {
		return "", nil, nil, logical.BadRequest("root tokens may not be created without parent token being root")
	}
	batch, typ := false, TypeService
	switch req.Type {
	case "", TypeService:
	case TypeBatch:
		if err := checkBatch(&req, policies); err != nil {
			return "", nil, nil, err
		}
		batch, typ = true, TypeBatch
		// Vault ignores a chosen ID for batch tokens: the value is the
		// sealed entry.
		req.ID = ""
	default:
		return "", nil, nil, logical.BadRequest("invalid 'token_type' value")
	}

	tok := req.ID
	switch {
	case batch:
	case tok != "":
		if err := checkCustomID(tok); err != nil {
			return "", nil, nil, err
		}
	default:
		var err error
		if tok, err = newTokenValue(s.rnd); err != nil {
			return "", nil, nil, err
		}
	}
	// Batch tokens have no accessor: nothing could look one up.
	var accessor string
	if !batch {
		var err error
		if accessor, err = randomBase62(s.rnd, accessorChars); err != nil {
			return "", nil, nil, err
		}
	}

	now := s.now()
	defTTL, maxTTL := req.DefaultTTL, req.MaxTTL
	if maxTTL <= 0 {
		maxTTL = s.maxTTL
	}
	if defTTL <= 0 {
		defTTL = s.defaultTTL
	}
	defTTL = min(defTTL, maxTTL)

	var (
		ttl      time.Duration
		warnings []string
		err      error
	)
	// Root tokens without a TTL never expire; everything else gets one.
	if req.Period > 0 || req.TTL > 0 || !isRoot {
		ttl, warnings, err = calculateTTL(ttlInput{
			now: now, start: now, ttl: req.TTL, period: req.Period,
			explicitMax: req.ExplicitMaxTTL, defaultTTL: defTTL, maxTTL: maxTTL,
		})
		if err != nil {
			return "", nil, nil, err
		}
	}
	if ttl == 0 && req.ExplicitMaxTTL > 0 {
		ttl = req.ExplicitMaxTTL
	}
	if p := req.Parent; p != nil && !p.ExpireTime.IsZero() {
		if ttl == 0 {
			return "", nil, nil, logical.BadRequest("expiring root tokens cannot create non-expiring root tokens")
		}
		// A child dies with its parent, so it is never issued for longer.
		left := p.ExpireTime.Sub(now).Truncate(time.Second)
		if left <= 0 {
			return "", nil, nil, logical.BadRequest("parent token lookup failed: no parent found")
		}
		if ttl > left {
			warnings = append(warnings, fmt.Sprintf("TTL of %q exceeded the parent token's remaining TTL of %q; TTL value is capped accordingly", humanDuration(ttl), humanDuration(left)))
			ttl = left
		}
	}

	e := &Entry{
		ID:             s.keys.hashToken(tok),
		Accessor:       accessor,
		Policies:       policies,
		Path:           req.Path,
		DisplayName:    req.DisplayName,
		NumUses:        req.NumUses,
		CreationTime:   now,
		TTL:            ttl,
		ExplicitMaxTTL: req.ExplicitMaxTTL,
		Period:         req.Period,
		Renewable:      req.Renewable && ttl > 0,
		Orphan:         req.Parent == nil,
		Type:           typ,
		EntityID:       req.EntityID,
		MaxTTL:         maxTTL,
		BoundCIDRs:     slices.Clone(req.BoundCIDRs),
		Role:           req.Role,
	}
	if len(req.Meta) > 0 {
		e.Meta = make(map[string]string, len(req.Meta))
		for k, v := range req.Meta {
			e.Meta[k] = v
		}
	}
	if req.Parent != nil {
		e.Parent = req.Parent.ID
	}
	if ttl > 0 {
		e.ExpireTime = now.Add(ttl)
	}
	if batch {
		// Nothing is stored, and no lease is kept: the token expires by
		// itself, and dies with its parent when it is looked up.
		e.Renewable = false
		if tok, err = s.sealBatch(e); err != nil {
			return "", nil, nil, err
		}
		e.ID = s.keys.hashToken(tok)
		countCreation(e)
		return tok, e.clone(), warnings, nil
	}

	leased, err := s.persistNew(ctx, e, req.ID != "")
	if err != nil {
		return "", nil, nil, err
	}
	if s.onExpiry != nil && !leased && !e.ExpireTime.IsZero() {
		if err := s.onExpiry(ctx, e.clone()); err != nil {
			if rerr := s.revokeTreeID(ctx, e.ID); rerr != nil {
				s.logger.Warn("revoking a token whose lease failed failed", "error", rerr)
			}
			return "", nil, nil, fmt.Errorf("token: register lease: %w", err)
		}
	}

	// A revocation of the parent that listed its children before our
	// index was written would miss us; the parent is marked pending before
	// that listing, so seeing it still valid here means we were listed.
	if req.Parent != nil {
		pe, err := s.load(ctx, req.Parent.ID)
		if err == nil && (pe == nil || pe.NumUses < 0) {
			err = logical.BadRequest("parent token lookup failed: no parent found")
		}
		if err != nil {
			if rerr := s.revokeTreeID(ctx, e.ID); rerr != nil {
				s.logger.Warn("revoking token of a revoked parent failed", "error", rerr)
			}
			return "", nil, nil, err
		}
	}
	countCreation(e)
	return tok, e.clone(), warnings, nil
}

// countCreation counts a new token as vault.token.creation, labelled by
// its type as in Vault.
func countCreation(e *Entry) {
	typ := e.Type
	if typ == "" {
		typ = "service"
	}
	metrics.IncrCounterWithLabels(metricCreation, 1, []metrics.Label{{Name: "token_type", Value: typ}})
}

var metricCreation = []string{"token", "creation"}

// persistNew writes the indexes before the entry: a crash in between leaves
// a dangling index (Tidy removes it), never a token outside the tree. It
// reports whether the PersistNew hook stored the token's lease with it.
func (s *Store) persistNew(ctx context.Context, e *Entry, custom bool) (bool, error) {
	mu := s.lockFor(e.ID)
	mu.Lock()
	defer mu.Unlock()
	if custom {
		old, err := s.load(ctx, e.ID)
		if err != nil {
			return false, err
		}
		if old != nil {
			return false, logical.BadRequest("cannot create a token with a duplicate ID")
		}
	}
	if txn, ok := s.storage.(logical.Transactional); ok {
		return s.persistHook != nil, s.persistNewTxn(ctx, txn, e)
	}
	if e.Parent != "" {
		if err := s.storage.Put(ctx, &logical.StorageEntry{Key: parentPrefix + e.Parent + "/" + e.ID}); err != nil {
			return false, fmt.Errorf("token: write parent index: %w", err)
		}
	}
	if err := s.storage.Put(ctx, &logical.StorageEntry{
		Key:   accessorPrefix + s.keys.hashAccessor(e.Accessor),
		Value: []byte(e.ID),
	}); err != nil {
		return false, fmt.Errorf("token: write accessor index: %w", err)
	}
	return false, s.save(ctx, e)
}

// persistNewTxn writes a new token's indexes and entry in one transaction
// (with its lease, through the PersistNew hook): one durable write (one
// raft round, one fsync) per token instead of several, which is what
// bounds logins/s and token creates/s on raft.
func (s *Store) persistNewTxn(ctx context.Context, txn logical.Transactional, e *Entry) error {
	b, err := s.encode(e)
	if err != nil {
		return err
	}
	ops := make([]*logical.TxnOp, 0, 3)
	if e.Parent != "" {
		ops = append(ops, &logical.TxnOp{Entry: &logical.StorageEntry{Key: parentPrefix + e.Parent + "/" + e.ID}})
	}
	ops = append(ops,
		&logical.TxnOp{Entry: &logical.StorageEntry{Key: accessorPrefix + s.keys.hashAccessor(e.Accessor), Value: []byte(e.ID)}},
		&logical.TxnOp{Entry: &logical.StorageEntry{Key: idPrefix + e.ID, Value: b}})
	s.cache.Invalidate(e.ID)
	if s.persistHook != nil {
		err = s.persistHook(ctx, e.clone(), ops)
	} else {
		err = txn.Transaction(ctx, ops)
	}
	if err != nil {
		return fmt.Errorf("token: write entry and indexes: %w", err)
	}
	s.cache.Set(e.ID, e)
	return nil
}

func checkCustomID(id string) error {
	switch {
	case strings.HasPrefix(id, TokenPrefix):
		return logical.BadRequest("custom token ID cannot have the 'hvs.' prefix")
	case strings.HasPrefix(id, "s."):
		return logical.BadRequest("custom token ID cannot have the 's.' prefix")
	case strings.Contains(id, "."):
		return logical.BadRequest("custom token ID cannot have a '.' in the value")
	}
	return nil
}

// ttlInput is what calculateTTL weighs.
type ttlInput struct {
	now, start time.Time
	// increment is a renewal's requested TTL; ttl the token's own.
	increment, ttl, period, explicitMax time.Duration
	defaultTTL, maxTTL                  time.Duration
}

// calculateTTL follows Vault's rules: a periodic token gets its period
// (capped to the max TTL) and lives until its explicit max, if any; any
// other token gets the increment, its TTL or the default, never past
// start+min(maxTTL, explicitMax).
func calculateTTL(in ttlInput) (time.Duration, []string, error) {
	maxTTL := in.maxTTL
	if in.explicitMax > 0 && in.explicitMax < maxTTL {
		maxTTL = in.explicitMax
	}
	var warnings []string
	var ttl time.Duration
	var maxValid time.Time
	if in.period > 0 {
		ttl = in.period
		if ttl > maxTTL {
			warnings = append(warnings, fmt.Sprintf("period of %q exceeded the effective max_ttl of %q; period value is capped accordingly", humanDuration(ttl), humanDuration(maxTTL)))
			ttl = maxTTL
		}
		if in.explicitMax > 0 {
			maxValid = in.start.Add(in.explicitMax)
		}
	} else {
		switch {
		case in.increment > 0:
			ttl = in.increment
		case in.ttl > 0:
			ttl = in.ttl
		default:
			ttl = in.defaultTTL
		}
		maxValid = in.start.Add(maxTTL)
	}
	if !maxValid.IsZero() {
		left := maxValid.Sub(in.now).Truncate(time.Second)
		if left <= 0 {
			return 0, nil, logical.BadRequest("past the max TTL, cannot renew")
		}
		if ttl > left {
			warnings = append(warnings, fmt.Sprintf("TTL of %q exceeded the effective max_ttl of %q; TTL value is capped accordingly", humanDuration(ttl), humanDuration(left)))
			ttl = left
		}
	}
	return ttl, warnings, nil
}

// humanDuration prints "768h" rather than "768h0m0s", as Vault's warnings do.
func humanDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if i := strings.Index(s, "h0m"); i > 0 {
		s = s[:i+1] + s[i+3:]
	}
	return s
}
