package audit

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"

	"github.com/strongbox/strongbox/internal/logical"
)

const (
	// saltKeyName is where a device's salt lives in its SaltStorage.
	saltKeyName = "salt"
	// saltSize is the length of a newly created salt.
	saltSize = 32
	// hmacPrefix identifies the hash in every HMAC'd value, as in Vault.
	hmacPrefix = "hmac-sha256:"
)

// salter lazily loads (or creates and persists) a device's salt. The salt is
// loaded on first use rather than at device creation because the core may
// build devices before their storage is writable.
type salter struct {
	storage logical.Storage
	mu      sync.Mutex // serialises the load/create of the salt
	key     atomic.Pointer[saltKey]
}

func newSalter(storage logical.Storage) *salter {
	if storage == nil {
		storage = logical.NewInmemStorage()
	}
	return &salter{storage: storage}
}

// get returns the salt, loading or creating it on first use. A failure is
// not cached: the next call retries.
func (s *salter) get(ctx context.Context) (*saltKey, error) {
	if k := s.key.Load(); k != nil {
		return k, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.key.Load(); k != nil {
		return k, nil
	}
	e, err := s.storage.Get(ctx, saltKeyName)
	if err != nil {
		return nil, fmt.Errorf("audit: read salt: %w", err)
	}
	var raw []byte
	if e != nil && len(e.Value) > 0 {
		// Whatever is stored is the key, whatever its length, so a salt
		// written by another implementation keeps hashing the same way.
		raw = e.Value
	} else {
		raw = make([]byte, saltSize)
		if _, err := rand.Read(raw); err != nil {
			return nil, fmt.Errorf("audit: generate salt: %w", err)
		}
		if err := s.storage.Put(ctx, &logical.StorageEntry{Key: saltKeyName, Value: raw}); err != nil {
			return nil, fmt.Errorf("audit: persist salt: %w", err)
		}
	}
	k := newSaltKey(raw)
	s.key.Store(k)
	return k, nil
}

// hash returns the identified HMAC of in under the device's salt.
func (s *salter) hash(ctx context.Context, in string) (string, error) {
	k, err := s.get(ctx)
	if err != nil {
		return "", err
	}
	return k.hmac(in), nil
}

// saltKey computes HMACs under one salt. Keyed hashers are pooled: building
// one costs two SHA-256 block computations, which would otherwise be paid
// for every string of every entry.
type saltKey struct {
	pool sync.Pool

	// tokens memoizes the HMACs of tokens and accessors: the same few
	// appear in every entry (twice in each, and again in the response
	// entry), while data values rarely repeat and are not cached.
	tokens     sync.Map // string -> string
	tokenCount atomic.Int64
}

// maxCachedTokens bounds the token cache; it is emptied when full.
const maxCachedTokens = 4096

// hmacToken is hmac for token-like values, memoized.
func (k *saltKey) hmacToken(in string) string {
	if in == "" {
		return ""
	}
	if v, ok := k.tokens.Load(in); ok {
		return v.(string)
	}
	h := k.hmac(in)
	if k.tokenCount.Add(1) > maxCachedTokens {
		k.tokens.Clear()
		k.tokenCount.Store(1)
	}
	k.tokens.Store(in, h)
	return h
}

func newSaltKey(raw []byte) *saltKey {
	key := append([]byte(nil), raw...)
	k := &saltKey{}
	k.pool.New = func() any { return &hmacState{h: hmac.New(sha256.New, key)} }
	return k
}

// hmacState is a keyed hasher with scratch space, so hashing allocates
// nothing.
type hmacState struct {
	h   hash.Hash
	in  []byte
	sum [sha256.Size]byte
}

// sumOf computes the HMAC of in into st.sum.
func (k *saltKey) sumOf(in string) *hmacState {
	st := k.pool.Get().(*hmacState)
	st.h.Reset()
	st.in = append(st.in[:0], in...)
	_, _ = st.h.Write(st.in) // hash.Hash.Write never fails
	st.h.Sum(st.sum[:0])
	return st
}

func (k *saltKey) done(st *hmacState) {
	if cap(st.in) > maxPooledLine {
		st.in = nil
	}
	k.pool.Put(st)
}

// hmac returns "hmac-sha256:" followed by the hex HMAC-SHA256 of in.
func (k *saltKey) hmac(in string) string {
	st := k.sumOf(in)
	var out [len(hmacPrefix) + 2*sha256.Size]byte
	copy(out[:], hmacPrefix)
	hex.Encode(out[len(hmacPrefix):], st.sum[:])
	k.done(st)
	return string(out[:])
}

// appendHMAC appends the HMAC of in as a JSON string. The value is ASCII
// letters, digits and a colon, so it needs no escaping.
func (k *saltKey) appendHMAC(b []byte, in string) []byte {
	st := k.sumOf(in)
	b = append(b, '"')
	b = append(b, hmacPrefix...)
	b = hex.AppendEncode(b, st.sum[:])
	k.done(st)
	return append(b, '"')
}

// sign is the checkpoint signer of a device's chain: the HMAC of in under
// the salt, as sys/audit-hash returns it; "" when the salt cannot be
// loaded (the entry is then written without a usable checkpoint).
func (s *salter) sign(in string) string {
	h, err := s.hash(context.Background(), in)
	if err != nil {
		return ""
	}
	return h
}
