package wrapping

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestJWTRoundTrip: a signed JWT opens to the wrapping token it carries,
// with Vault's claims; a tampered, foreign or expired one is an
// invalid wrapping token.
func TestJWTRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := newFakeHost()
	m := New(h)
	now := time.Unix(1_000_000, 0)
	m.now = func() time.Time { return now }
	if err := m.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	first, _ := h.KeyStorage().Get(ctx, jwtKeyName)
	if err := m.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := h.KeyStorage().Get(ctx, jwtKeyName); string(again.Value) != string(first.Value) {
		t.Fatal("EnsureKey replaced an existing key")
	}

	jwt, err := m.signJWT(ctx, "hvs.inner", now, time.Minute, "acc1")
	if err != nil {
		t.Fatal(err)
	}
	if !isJWT(jwt) || isJWT("hvs.inner") {
		t.Fatal("isJWT")
	}
	got, err := m.openJWT(ctx, jwt)
	if err != nil || got != "hvs.inner" {
		t.Fatalf("open: %q %v", got, err)
	}
	parts := strings.Split(jwt, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	if c["jti"] != "hvs.inner" || c["type"] != "wrapping" || c["addr"] != "https://node1:8200" || c["accessor"] != "acc1" ||
		c["iat"] != float64(now.Unix()) || c["exp"] != float64(now.Add(time.Minute).Unix()) {
		t.Fatalf("claims %v", c)
	}

	forge := func(claims string) string {
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + "." + parts[2]
	}
	other := New(newFakeHost())
	if err := other.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	foreign, err := other.signJWT(ctx, "hvs.inner", now, time.Minute, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"claims changed": forge(strings.Replace(string(raw), "hvs.inner", "hvs.other", 1)),
		"foreign key":    foreign,
		"no signature":   parts[0] + "." + parts[1] + ".",
		"alg none":       base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
		"garbage":        "a.b.c",
	} {
		if _, err := m.openJWT(ctx, bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
	now = now.Add(time.Minute)
	if _, err := m.openJWT(ctx, jwt); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("expired: %v", err)
	}
}

// FuzzOpenJWT: whatever a client sends as a JWT wrapping token, openJWT
// either refuses it as an invalid wrapping token or, only for a JWT this
// node signed, returns the token inside.
func FuzzOpenJWT(f *testing.F) {
	ctx := context.Background()
	m := New(newFakeHost())
	if err := m.EnsureKey(ctx); err != nil {
		f.Fatal(err)
	}
	valid, err := m.signJWT(ctx, "hvs.inner", time.Now(), time.Hour, "")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-2])
	f.Add("a.b.c")
	f.Add(strings.SplitN(valid, ".", 2)[0] + "..")
	f.Add("hvs.x")
	f.Fuzz(func(t *testing.T, token string) {
		got, err := m.openJWT(ctx, token)
		switch {
		case err == nil && (token != valid || got != "hvs.inner"):
			// ECDSA signatures are not unique, but only the key's holder
			// can make another one: any other input must fail.
			t.Fatalf("accepted %q as %q", token, got)
		case err != nil && !errors.Is(err, ErrInvalidToken):
			t.Fatalf("%q: %v", token, err)
		}
	})
}
