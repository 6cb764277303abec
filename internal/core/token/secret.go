package token

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/strongbox/strongbox/internal/logical"
)

const (
	saltKey    = "salt"
	saltLength = 32

	// TokenPrefix starts every generated service token, as in Vault.
	TokenPrefix = "hvs."
	// tokenChars base62 characters carry 33*log2(62) ≈ 196 bits: at least
	// the 24 random bytes a token must hold.
	tokenChars = 33
	// accessorChars is Vault's accessor length.
	accessorChars = 24
)

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// keys holds what the store derives from the salt.
type keys struct {
	salt []byte
	aead cipher.AEAD
}

// loadOrCreateSalt reads the salt, creating it on first start.
func loadOrCreateSalt(ctx context.Context, s logical.Storage, rnd io.Reader) (*keys, error) {
	se, err := s.Get(ctx, saltKey)
	if err != nil {
		return nil, fmt.Errorf("token: read salt: %w", err)
	}
	var salt []byte
	if se != nil {
		salt = se.Value
		if len(salt) != saltLength {
			return nil, fmt.Errorf("token: stored salt has %d bytes, want %d", len(salt), saltLength)
		}
	} else {
		salt = make([]byte, saltLength)
		if _, err := io.ReadFull(rnd, salt); err != nil {
			return nil, fmt.Errorf("token: generate salt: %w", err)
		}
		if err := s.Put(ctx, &logical.StorageEntry{Key: saltKey, Value: salt}); err != nil {
			return nil, fmt.Errorf("token: store salt: %w", err)
		}
	}
	block, err := aes.NewCipher(mac(salt, "strongbox token accessor seal"))
	if err != nil {
		return nil, fmt.Errorf("token: accessor cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("token: accessor cipher: %w", err)
	}
	return &keys{salt: salt, aead: aead}, nil
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// hashToken is a token's storage name.
func (k *keys) hashToken(token string) string {
	return hex.EncodeToString(mac(k.salt, token))
}

// hashAccessor is an accessor's index name; the prefix keeps accessor and
// token hashes in separate domains.
func (k *keys) hashAccessor(accessor string) string {
	return hex.EncodeToString(mac(k.salt, "accessor:"+accessor))
}

// sealAccessor encrypts the accessor, bound to the entry it belongs to so a
// sealed accessor cannot be moved to another entry.
func (k *keys) sealAccessor(rnd io.Reader, id, accessor string) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return nil, fmt.Errorf("token: accessor nonce: %w", err)
	}
	return k.aead.Seal(nonce, nonce, []byte(accessor), []byte(id)), nil
}

func (k *keys) openAccessor(id string, sealed []byte) (string, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("token: sealed accessor too short")
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(id))
	if err != nil {
		return "", fmt.Errorf("token: open accessor: %w", err)
	}
	return string(plain), nil
}

// randomBase62 returns n characters drawn uniformly from base62, rejecting
// bytes that would bias the draw.
func randomBase62(rnd io.Reader, n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	for len(out) < n {
		if _, err := io.ReadFull(rnd, buf); err != nil {
			return "", fmt.Errorf("token: random: %w", err)
		}
		for _, b := range buf {
			// 248 = 4*62: values at or above it would favour the first
			// characters.
			if b >= 248 {
				continue
			}
			out = append(out, base62Alphabet[b%62])
			if len(out) == n {
				break
			}
		}
	}
	return string(out), nil
}

func newTokenValue(rnd io.Reader) (string, error) {
	s, err := randomBase62(rnd, tokenChars)
	if err != nil {
		return "", err
	}
	return TokenPrefix + s, nil
}
