package wrapping

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// jwtKeyName is where, in Host.KeyStorage, the signing key of JWT wrapping
// tokens lives (Vault keeps it at core/wrapping/jwtkey).
const jwtKeyName = "jwtkey"

// es512Size is the byte length of each of r and s in an ES512 signature.
const es512Size = 66

// jwtHeader is the only header the room writes and accepts.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES512","typ":"JWT"}`))

// jwtClaims are a JWT wrapping token's claims, as Vault writes them: the
// wrapping token itself is the JWT ID.
type jwtClaims struct {
	ID        string `json:"jti"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf,omitempty"`
	Expiry    int64  `json:"exp"`
	Type      string `json:"type"`
	Addr      string `json:"addr,omitempty"`
	Accessor  string `json:"accessor,omitempty"`
}

// EnsureKey creates the JWT signing key unless it exists. The kernel calls
// it when it becomes active, before serving requests, so that two requests
// never race to create it.
func (m *Manager) EnsureKey(ctx context.Context) error {
	st := m.host.KeyStorage()
	e, err := st.Get(ctx, jwtKeyName)
	if err != nil || e != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		return fmt.Errorf("wrapping: generate JWT key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("wrapping: encode JWT key: %w", err)
	}
	if err := st.Put(ctx, &logical.StorageEntry{Key: jwtKeyName, Value: der}); err != nil {
		return fmt.Errorf("wrapping: store JWT key: %w", err)
	}
	return nil
}

// key reads the signing key. It is read on every use rather than cached:
// a snapshot restore may replace it, and JWT wrapping is rare.
func (m *Manager) key(ctx context.Context) (*ecdsa.PrivateKey, error) {
	e, err := m.host.KeyStorage().Get(ctx, jwtKeyName)
	if err != nil {
		return nil, fmt.Errorf("wrapping: read JWT key: %w", err)
	}
	if e == nil {
		return nil, errors.New("wrapping: no JWT key")
	}
	k, err := x509.ParseECPrivateKey(e.Value)
	if err != nil {
		return nil, fmt.Errorf("wrapping: decode JWT key: %w", err)
	}
	return k, nil
}

// signJWT returns the JWT form of a wrapping token.
func (m *Manager) signJWT(ctx context.Context, token string, created time.Time, ttl time.Duration, wrappedAccessor string) (string, error) {
	key, err := m.key(ctx)
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(jwtClaims{
		ID: token, IssuedAt: created.Unix(), Expiry: created.Add(ttl).Unix(),
		Type: "wrapping", Addr: m.host.APIAddr(), Accessor: wrappedAccessor,
	})
	if err != nil {
		return "", err
	}
	input := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha512.Sum512([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", fmt.Errorf("wrapping: sign JWT: %w", err)
	}
	sig := make([]byte, 2*es512Size)
	r.FillBytes(sig[:es512Size])
	s.FillBytes(sig[es512Size:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// isJWT tells a JWT (three dot-separated parts) from an opaque token
// ("hvs.…" has one dot).
func isJWT(token string) bool { return strings.Count(token, ".") == 2 }

// openJWT checks a JWT wrapping token (our header, our signature, type
// "wrapping", not expired) and returns the wrapping token it carries; any
// failure is ErrInvalidToken.
func (m *Manager) openJWT(ctx context.Context, token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != jwtHeader {
		return "", ErrInvalidToken
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 2*es512Size {
		return "", ErrInvalidToken
	}
	key, err := m.key(ctx)
	if err != nil {
		return "", err
	}
	sum := sha512.Sum512([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:es512Size]), new(big.Int).SetBytes(sig[es512Size:])
	if !ecdsa.Verify(&key.PublicKey, sum[:], r, s) {
		return "", ErrInvalidToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", ErrInvalidToken
	}
	var c jwtClaims
	if err := json.Unmarshal(raw, &c); err != nil || c.Type != "wrapping" || c.ID == "" {
		return "", ErrInvalidToken
	}
	if c.Expiry == 0 || !m.now().Before(time.Unix(c.Expiry, 0)) {
		return "", ErrInvalidToken
	}
	return c.ID, nil
}

// publicKey answers sys/wrapping/pubkey: the key JWT wrapping tokens are
// signed with, as Vault gives it.
func (m *Manager) handlePubKey(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	key, err := m.key(ctx)
	if err != nil {
		return nil, err
	}
	x, _ := key.X.MarshalText()
	y, _ := key.Y.MarshalText()
	return &logical.Response{Data: map[string]any{
		"jwt_x": string(x), "jwt_y": string(y), "jwt_curve": "p521",
	}}, nil
}
