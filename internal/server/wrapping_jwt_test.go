package server

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha512"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// TestWrapJWT: X-Vault-Wrap-Format jwt hands out the wrapping token inside
// a JWT signed with the key sys/wrapping/pubkey shows (no token needed);
// lookup, unwrap (in the body or as the request token) and rewrap take it;
// sys/wrapping/wrap never mints one.
func TestWrapJWT(t *testing.T) {
	s := startWrapServer(t)
	jwtClient := func(c *vault.Client) *vault.Client {
		w := wrapping(t, c, "5m")
		w.AddHeader("X-Vault-Wrap-Format", "jwt")
		return w
	}
	sec, err := jwtClient(s.root).Logical().Read("secret/foo")
	if err != nil {
		t.Fatal(err)
	}
	jwt := sec.WrapInfo.Token
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || sec.WrapInfo.TTL != 300 || sec.WrapInfo.CreationPath != "secret/foo" {
		t.Fatalf("wrap_info %+v", sec.WrapInfo)
	}

	// The signature verifies with the published key.
	pk, err := s.client("").Logical().Read("sys/wrapping/pubkey")
	if err != nil {
		t.Fatal(err)
	}
	x, okx := new(big.Int).SetString(pk.Data["jwt_x"].(string), 10)
	y, oky := new(big.Int).SetString(pk.Data["jwt_y"].(string), 10)
	if !okx || !oky || pk.Data["jwt_curve"] != "p521" {
		t.Fatalf("pubkey %v", pk.Data)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 132 {
		t.Fatalf("signature: %v (%d bytes)", err, len(sig))
	}
	sum := sha512.Sum512([]byte(parts[0] + "." + parts[1]))
	pub := &ecdsa.PublicKey{Curve: elliptic.P521(), X: x, Y: y}
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:66]), new(big.Int).SetBytes(sig[66:])) {
		t.Fatal("the JWT does not verify with sys/wrapping/pubkey")
	}

	look, err := s.client("").Logical().Write("sys/wrapping/lookup", map[string]any{"token": jwt})
	if err != nil || look.Data["creation_path"] != "secret/foo" {
		t.Fatalf("lookup: %v %v", err, look)
	}
	got, err := s.client("").Logical().Unwrap(jwt) // as the request token
	if err != nil || got.Data["a"] != "b" {
		t.Fatalf("unwrap: %v %v", err, got)
	}
	_, err = s.root.Logical().Unwrap(jwt)
	assertInvalidWrapping(t, err)

	// In the body, and through a rewrap.
	sec, err = jwtClient(s.root).Logical().Read("secret/foo")
	if err != nil {
		t.Fatal(err)
	}
	re, err := s.root.Logical().Write("sys/wrapping/rewrap", map[string]any{"token": sec.WrapInfo.Token})
	if err != nil || re.WrapInfo == nil {
		t.Fatalf("rewrap: %v %v", err, re)
	}
	_, err = s.root.Logical().Unwrap(sec.WrapInfo.Token)
	assertInvalidWrapping(t, err)
	if got, err := s.root.Logical().Unwrap(re.WrapInfo.Token); err != nil || got.Data["a"] != "b" {
		t.Fatalf("unwrap rewrapped: %v %v", err, got)
	}

	// A tampered JWT is no wrapping token, and spends nothing.
	sec, err = jwtClient(s.root).Logical().Read("secret/foo")
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Split(sec.WrapInfo.Token, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(p[1])
	claims = bytes.Replace(claims, []byte(`"exp":`), []byte(`"exp":1`), 1)
	forged := p[0] + "." + base64.RawURLEncoding.EncodeToString(claims) + "." + p[2]
	_, err = s.root.Logical().Unwrap(forged)
	assertInvalidWrapping(t, err)
	if got, err := s.root.Logical().Unwrap(sec.WrapInfo.Token); err != nil || got.Data["a"] != "b" {
		t.Fatalf("unwrap after a forged attempt: %v %v", err, got)
	}

	// sys/wrapping/wrap answers an opaque token even when asked for a JWT.
	w := jwtClient(s.root)
	sec, err = w.Logical().Write("sys/wrapping/wrap", map[string]any{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(sec.WrapInfo.Token, ".") == 2 {
		t.Fatalf("sys/wrapping/wrap minted a JWT: %s", sec.WrapInfo.Token)
	}
}
