package barrier

import (
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// keyringPath is where the keyring is stored, sealed under the root key. It
// is also the additional data of that seal.
const keyringPath = "core/keyring"

// termKey is one key of the keyring.
type termKey struct {
	term        uint32
	key         []byte
	installTime time.Time
	aead        cipher.AEAD
}

// keyring holds every term's key. A keyring is never modified once built:
// Rotate makes a new one, persists it, then swaps it in, so a failed write
// leaves the old one in force.
type keyring struct {
	active uint32
	keys   map[uint32]*termKey
}

// activeKey returns the key new values are sealed with.
func (kr *keyring) activeKey() *termKey { return kr.keys[kr.active] }

// withNewTerm returns a copy of kr with key installed as the next term,
// which becomes active.
func (kr *keyring) withNewTerm(key []byte, now time.Time) (*keyring, error) {
	if kr.active == math.MaxUint32 {
		return nil, errors.New("barrier: keyring term space exhausted")
	}
	tk, err := newTermKey(kr.active+1, key, now)
	if err != nil {
		return nil, err
	}
	next := &keyring{active: tk.term, keys: make(map[uint32]*termKey, len(kr.keys)+1)}
	for t, k := range kr.keys {
		next.keys[t] = k
	}
	next.keys[tk.term] = tk
	return next, nil
}

// wipe zeroes every key's bytes. The AES key schedules inside the AEADs
// cannot be reached; dropping the keyring leaves them to the collector.
func (kr *keyring) wipe() {
	for _, k := range kr.keys {
		clear(k.key)
		k.aead = nil
	}
}

func newTermKey(term uint32, key []byte, installTime time.Time) (*termKey, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("barrier: keyring term %d: %w", term, err)
	}
	return &termKey{term: term, key: key, installTime: installTime, aead: aead}, nil
}

// newKeyring returns a keyring whose only term, 1, is key.
func newKeyring(key []byte, now time.Time) (*keyring, error) {
	tk, err := newTermKey(1, key, now)
	if err != nil {
		return nil, err
	}
	return &keyring{active: 1, keys: map[uint32]*termKey{1: tk}}, nil
}

// keyringJSON is the serialized keyring. []byte fields encode as base64.
type keyringJSON struct {
	ActiveTerm uint32        `json:"active_term"`
	Keys       []termKeyJSON `json:"keys"`
}

type termKeyJSON struct {
	Term        uint32    `json:"term"`
	Key         []byte    `json:"key"`
	InstallTime time.Time `json:"install_time"`
}

// marshal serializes the keyring. The caller wipes the result after sealing
// it.
func (kr *keyring) marshal() ([]byte, error) {
	out := keyringJSON{ActiveTerm: kr.active, Keys: make([]termKeyJSON, 0, len(kr.keys))}
	for _, t := range slices.Sorted(maps.Keys(kr.keys)) {
		k := kr.keys[t]
		out.Keys = append(out.Keys, termKeyJSON{Term: k.term, Key: k.key, InstallTime: k.installTime})
	}
	return json.Marshal(out)
}

// parseKeyring deserializes and validates a keyring.
func parseKeyring(data []byte) (*keyring, error) {
	var in keyringJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("barrier: parse keyring: %w", err)
	}
	kr := &keyring{active: in.ActiveTerm, keys: make(map[uint32]*termKey, len(in.Keys))}
	for _, k := range in.Keys {
		if k.Term == rootTerm {
			return nil, errors.New("barrier: parse keyring: term 0 is reserved")
		}
		if _, dup := kr.keys[k.Term]; dup {
			return nil, fmt.Errorf("barrier: parse keyring: term %d appears twice", k.Term)
		}
		if k.Term > kr.active {
			return nil, fmt.Errorf("barrier: parse keyring: term %d is above the active term %d", k.Term, kr.active)
		}
		tk, err := newTermKey(k.Term, k.Key, k.InstallTime)
		if err != nil {
			return nil, fmt.Errorf("barrier: parse keyring: %w", err)
		}
		kr.keys[k.Term] = tk
	}
	if _, ok := kr.keys[kr.active]; !ok {
		return nil, fmt.Errorf("barrier: parse keyring: active term %d has no key", kr.active)
	}
	return kr, nil
}
