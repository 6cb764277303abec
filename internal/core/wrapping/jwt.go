package wrapping

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/strongbox/strongbox/internal/logical"
)

// jwtKeyName is where, in Host.KeyStorage, the signing key of JWT wrapping
// tokens lives (Vault keeps it at core/wrapping/jwtkey).
const jwtKeyName = "jwtkey"

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

// signJWT returns the JWT form of a wrapping token (ES512, go-jose).
func (m *Manager) signJWT(ctx context.Context, token string, created time.Time, ttl time.Duration, wrappedAccessor string) (string, error) {
	key, err := m.key(ctx)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES512, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("wrapping: JWT signer: %w", err)
	}
	out, err := jwt.Signed(signer).Claims(jwtClaims{
		ID: token, IssuedAt: created.Unix(), Expiry: created.Add(ttl).Unix(),
		Type: "wrapping", Addr: m.host.APIAddr(), Accessor: wrappedAccessor,
	}).Serialize()
	if err != nil {
		return "", fmt.Errorf("wrapping: sign JWT: %w", err)
	}
	return out, nil
}

// isJWT tells a JWT (three dot-separated parts) from an opaque token
// ("hvs.…" has one dot).
func isJWT(token string) bool { return strings.Count(token, ".") == 2 }

// openJWT checks a JWT wrapping token (ES512 only, our signature, type
// "wrapping", not expired) and returns the wrapping token it carries; any
// failure is ErrInvalidToken.
func (m *Manager) openJWT(ctx context.Context, token string) (string, error) {
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES512})
	if err != nil {
		return "", ErrInvalidToken
	}
	key, err := m.key(ctx)
	if err != nil {
		return "", err
	}
	var c jwtClaims
	if err := parsed.Claims(&key.PublicKey, &c); err != nil || c.Type != "wrapping" || c.ID == "" {
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
