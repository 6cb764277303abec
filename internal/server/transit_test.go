package server

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func mustWrite(t *testing.T, c *vault.Client, path string, data map[string]any) *vault.Secret {
	t.Helper()
	s, err := c.Logical().Write(path, data)
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return s
}

func mustRead(t *testing.T, c *vault.Client, path string) *vault.Secret {
	t.Helper()
	s, err := c.Logical().Read(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if s == nil {
		t.Fatalf("read %s: not found", path)
	}
	return s
}

// TestTransitEncryption drives encrypt, decrypt, rewrap, rotation, the
// version rules, derived and convergent keys, batches, data keys and
// export through the official client against a real core; an exported
// AES-256 key decrypts a ciphertext with plain AES-GCM.
func TestTransitEncryption(t *testing.T) {
	c, _ := startEngineServer(t)
	if err := c.Sys().Mount("transit", &vault.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, c, "transit/keys/app", map[string]any{"exportable": true})
	enc := mustWrite(t, c, "transit/encrypt/app", map[string]any{"plaintext": b64("hello world")})
	ct := enc.Data["ciphertext"].(string)
	if !strings.HasPrefix(ct, "vault:v1:") {
		t.Fatalf("ciphertext %q", ct)
	}
	dec := mustWrite(t, c, "transit/decrypt/app", map[string]any{"ciphertext": ct})
	if dec.Data["plaintext"] != b64("hello world") {
		t.Fatalf("decrypt = %v", dec.Data)
	}

	// The exported key opens the ciphertext with standard AES-256-GCM:
	// 12-byte nonce, then sealed data and tag.
	exp := mustRead(t, c, "transit/export/encryption-key/app/1")
	key, _ := base64.StdEncoding.DecodeString(exp.Data["keys"].(map[string]any)["1"].(string))
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(ct, "vault:v1:"))
	block, err := aes.NewCipher(key)
	if err != nil || len(key) != 32 {
		t.Fatalf("exported key (%d bytes): %v", len(key), err)
	}
	gcm, _ := cipher.NewGCM(block)
	pt, err := gcm.Open(nil, raw[:12], raw[12:], nil)
	if err != nil || string(pt) != "hello world" {
		t.Fatalf("AES-GCM with the exported key: %q, %v", pt, err)
	}

	// Tampering, garbage and missing input: 400 with a clear message.
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)-1] ^= 1
	tampered := "vault:v1:" + base64.StdEncoding.EncodeToString(flipped)
	for _, tc := range []struct {
		path string
		body map[string]any
		msg  string
	}{
		{"transit/decrypt/app", map[string]any{"ciphertext": tampered}, "message authentication failed"},
		{"transit/decrypt/app", map[string]any{"ciphertext": "nope"}, "invalid ciphertext"},
		{"transit/decrypt/app", map[string]any{"ciphertext": "vault:v9:AAAA"}, "invalid key version"},
		{"transit/decrypt/app", map[string]any{}, "missing ciphertext"},
		{"transit/encrypt/app", map[string]any{"plaintext": "%%%"}, "base64"},
		{"transit/encrypt/app", map[string]any{"plaintext": b64("x"), "key_version": 7}, "not valid"},
		{"transit/decrypt/missing", map[string]any{"ciphertext": ct}, "encryption key not found"},
		{"transit/keys/bad", map[string]any{"type": "aes512"}, "unknown key type"},
		{"transit/keys/conv", map[string]any{"convergent_encryption": true}, "requires derivation"},
		{"transit/keys/app/config", map[string]any{"min_decryption_version": 5}, "latest key version is 1"},
		{"transit/keys/rot", map[string]any{"auto_rotate_period": "10m"}, "at least an hour"},
		{"transit/cache-config", map[string]any{"size": 5}, "greater or equal to 10"},
		{"transit/datakey/plaintext/app", map[string]any{"bits": 100}, "invalid bits"},
	} {
		_, err := c.Logical().Write(tc.path, tc.body)
		wantStatus(t, err, 400, tc.msg)
	}
	if keys, _ := c.Logical().List("transit/keys"); keys == nil || len(keys.Data["keys"].([]any)) != 1 {
		t.Fatalf("refused creates left keys behind: %v", keys)
	}

	// Rotation: new ciphertexts use v2, v1 still decrypts until
	// min_decryption_version says otherwise; rewrap moves v1 to v2.
	mustWrite(t, c, "transit/keys/app/rotate", nil)
	ct2 := mustWrite(t, c, "transit/encrypt/app", map[string]any{"plaintext": b64("two")}).Data["ciphertext"].(string)
	if !strings.HasPrefix(ct2, "vault:v2:") {
		t.Fatalf("after rotate: %q", ct2)
	}
	ctV1 := mustWrite(t, c, "transit/encrypt/app", map[string]any{"plaintext": b64("one"), "key_version": 1}).Data["ciphertext"].(string)
	if !strings.HasPrefix(ctV1, "vault:v1:") {
		t.Fatalf("key_version=1: %q", ctV1)
	}
	rw := mustWrite(t, c, "transit/rewrap/app", map[string]any{"ciphertext": ct}).Data["ciphertext"].(string)
	if !strings.HasPrefix(rw, "vault:v2:") {
		t.Fatalf("rewrap: %q", rw)
	}
	mustWrite(t, c, "transit/keys/app/config", map[string]any{"min_decryption_version": 2})
	_, err = c.Logical().Write("transit/decrypt/app", map[string]any{"ciphertext": ct})
	wantStatus(t, err, 400, "too old")
	if got := mustWrite(t, c, "transit/decrypt/app", map[string]any{"ciphertext": rw}).Data["plaintext"]; got != b64("hello world") {
		t.Fatalf("decrypt of the rewrapped ciphertext: %v", got)
	}
	mustWrite(t, c, "transit/keys/app/trim", map[string]any{"min_available_version": 2})
	info := mustRead(t, c, "transit/keys/app")
	if ks := info.Data["keys"].(map[string]any); len(ks) != 1 || ks["2"] == nil || info.Data["min_available_version"] != json.Number("2") {
		t.Fatalf("after trim: %v", info.Data)
	}

	// Batches keep order and references; a bad item fails alone.
	batch := mustWrite(t, c, "transit/encrypt/app", map[string]any{"batch_input": []any{
		map[string]any{"plaintext": b64("a"), "reference": "r1"},
		map[string]any{"plaintext": "%%%", "reference": "r2"},
		map[string]any{"plaintext": b64("c"), "reference": "r3"},
	}})
	res := batch.Data["batch_results"].([]any)
	if len(res) != 3 || res[1].(map[string]any)["error"] == nil || res[1].(map[string]any)["reference"] != "r2" ||
		res[0].(map[string]any)["ciphertext"] == nil || res[2].(map[string]any)["reference"] != "r3" {
		t.Fatalf("batch results: %v", res)
	}
	decIn := []any{}
	for _, r := range []any{res[0], res[2]} {
		decIn = append(decIn, map[string]any{"ciphertext": r.(map[string]any)["ciphertext"]})
	}
	decRes := mustWrite(t, c, "transit/decrypt/app", map[string]any{"batch_input": decIn}).Data["batch_results"].([]any)
	if decRes[0].(map[string]any)["plaintext"] != b64("a") || decRes[1].(map[string]any)["plaintext"] != b64("c") {
		t.Fatalf("batch decrypt: %v", decRes)
	}
	_, err = c.Logical().Write("transit/encrypt/app", map[string]any{"batch_input": []any{map[string]any{"plaintext": "%%%"}}})
	wantStatus(t, err, 400, "base64")
	_, err = c.Logical().Write("transit/encrypt/app", map[string]any{"batch_input": []any{
		map[string]any{"plaintext": b64("ok")}, map[string]any{"plaintext": "%%%"}}, "partial_failure_response_code": 400})
	wantStatus(t, err, 400, "base64")

	// Derived and convergent keys.
	mustWrite(t, c, "transit/keys/tenant", map[string]any{"derived": true, "convergent_encryption": true})
	ctxA := b64("tenant-a")
	c1 := mustWrite(t, c, "transit/encrypt/tenant", map[string]any{"plaintext": b64("same"), "context": ctxA}).Data["ciphertext"]
	c2 := mustWrite(t, c, "transit/encrypt/tenant", map[string]any{"plaintext": b64("same"), "context": ctxA}).Data["ciphertext"]
	c3 := mustWrite(t, c, "transit/encrypt/tenant", map[string]any{"plaintext": b64("same"), "context": b64("tenant-b")}).Data["ciphertext"]
	if c1 != c2 || c1 == c3 {
		t.Fatalf("convergent: %v %v %v", c1, c2, c3)
	}
	_, err = c.Logical().Write("transit/encrypt/tenant", map[string]any{"plaintext": b64("same")})
	wantStatus(t, err, 400, "missing 'context'")
	_, err = c.Logical().Write("transit/decrypt/tenant", map[string]any{"ciphertext": c1, "context": b64("tenant-b")})
	wantStatus(t, err, 400, "message authentication failed")

	// Data keys; associated data; chacha20-poly1305.
	dk := mustWrite(t, c, "transit/datakey/plaintext/app", map[string]any{"bits": 512})
	if got := mustWrite(t, c, "transit/decrypt/app", map[string]any{"ciphertext": dk.Data["ciphertext"]}).Data["plaintext"]; got != dk.Data["plaintext"] {
		t.Fatal("the data key's ciphertext does not decrypt to its plaintext")
	}
	if raw, _ := base64.StdEncoding.DecodeString(dk.Data["plaintext"].(string)); len(raw) != 64 {
		t.Fatalf("512-bit data key is %d bytes", len(raw))
	}
	if w := mustWrite(t, c, "transit/datakey/wrapped/app", nil); w.Data["plaintext"] != nil || w.Data["ciphertext"] == nil {
		t.Fatalf("wrapped data key: %v", w.Data)
	}
	mustWrite(t, c, "transit/keys/cc", map[string]any{"type": "chacha20-poly1305"})
	adCT := mustWrite(t, c, "transit/encrypt/cc", map[string]any{"plaintext": b64("x"), "associated_data": b64("hdr")}).Data["ciphertext"]
	_, err = c.Logical().Write("transit/decrypt/cc", map[string]any{"ciphertext": adCT})
	wantStatus(t, err, 400, "message authentication failed")
	if got := mustWrite(t, c, "transit/decrypt/cc", map[string]any{"ciphertext": adCT, "associated_data": b64("hdr")}).Data["plaintext"]; got != b64("x") {
		t.Fatalf("chacha with associated data: %v", got)
	}

	// Backup and restore under another name; delete needs deletion_allowed.
	mustWrite(t, c, "transit/keys/app/config", map[string]any{"allow_plaintext_backup": true})
	bk := mustRead(t, c, "transit/backup/app").Data["backup"].(string)
	mustWrite(t, c, "transit/restore/app-copy", map[string]any{"backup": bk})
	if got := mustWrite(t, c, "transit/decrypt/app-copy", map[string]any{"ciphertext": ct2}).Data["plaintext"]; got != b64("two") {
		t.Fatalf("restored key decrypts %v", got)
	}
	_, err = c.Logical().Write("transit/restore/app-copy", map[string]any{"backup": bk})
	wantStatus(t, err, 400, "already exists")
	_, err = c.Logical().Delete("transit/keys/app-copy")
	wantStatus(t, err, 400, "deletion is not allowed")
	mustWrite(t, c, "transit/keys/app-copy/config", map[string]any{"deletion_allowed": true})
	if _, err := c.Logical().Delete("transit/keys/app-copy"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Logical().Write("transit/keys/app/config", map[string]any{"exportable": false})
	wantStatus(t, err, 400, "cannot be disabled")

	// Tools.
	sum := mustWrite(t, c, "transit/hash/sha2-256", map[string]any{"input": b64("hello")}).Data["sum"]
	if want := fmt.Sprintf("%x", sha256.Sum256([]byte("hello"))); sum != want {
		t.Fatalf("hash = %v, want %s", sum, want)
	}
	rnd := mustWrite(t, c, "transit/random/24", map[string]any{"format": "hex"}).Data["random_bytes"].(string)
	if len(rnd) != 48 {
		t.Fatalf("random/24 hex = %q", rnd)
	}
	_, err = c.Logical().Write("transit/random/seal/8", nil)
	wantStatus(t, err, 400, "entropy source")
	mustWrite(t, c, "transit/cache-config", map[string]any{"size": 20})
	if got := mustRead(t, c, "transit/cache-config").Data["size"]; got != json.Number("20") {
		t.Fatalf("cache-config size = %v", got)
	}
	if got := mustWrite(t, c, "transit/decrypt/app", map[string]any{"ciphertext": ct2}).Data["plaintext"]; got != b64("two") {
		t.Fatalf("decrypt after the cache was resized: %v", got)
	}
}

// TestTransitUpsertNeedsCreate: an encrypt naming a key that does not
// exist creates it for a caller with create capability, and is refused
// (403) with only update.
func TestTransitUpsertNeedsCreate(t *testing.T) {
	c, _ := startEngineServer(t)
	if err := c.Sys().Mount("transit", &vault.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().PutPolicy("enc-only", `path "transit/encrypt/*" { capabilities = ["update"] }`); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().PutPolicy("enc-create", `path "transit/encrypt/*" { capabilities = ["create", "update"] }`); err != nil {
		t.Fatal(err)
	}
	tok := func(pol string) *vault.Client {
		s, err := c.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{pol}})
		if err != nil {
			t.Fatal(err)
		}
		cc, _ := c.Clone()
		cc.SetToken(s.Auth.ClientToken)
		return cc
	}
	_, err := tok("enc-only").Logical().Write("transit/encrypt/new", map[string]any{"plaintext": b64("x")})
	wantStatus(t, err, 403, "permission denied")
	if s, _ := c.Logical().Read("transit/keys/new"); s != nil {
		t.Fatal("a refused encrypt created the key")
	}
	if _, err := tok("enc-create").Logical().Write("transit/encrypt/new", map[string]any{"plaintext": b64("x")}); err != nil {
		t.Fatal(err)
	}
	if info := mustRead(t, c, "transit/keys/new"); info.Data["type"] != "aes256-gcm96" {
		t.Fatalf("upserted key: %v", info.Data)
	}
	if _, err := tok("enc-only").Logical().Write("transit/encrypt/new", map[string]any{"plaintext": b64("y")}); err != nil {
		t.Fatalf("update on an existing key: %v", err)
	}
}

// TestTransitSigning: every asymmetric type signs and verifies through
// the engine, and every signature is also checked with Go's crypto/*
// against the public key the engine publishes; HMACs verify.
func TestTransitSigning(t *testing.T) {
	c, _ := startEngineServer(t)
	if err := c.Sys().Mount("transit", &vault.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	input := []byte("sign me")
	digest := sha256.Sum256(input)
	for _, typ := range []string{"ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048", "rsa-3072", "rsa-4096"} {
		t.Run(typ, func(t *testing.T) {
			mustWrite(t, c, "transit/keys/"+typ, map[string]any{"type": typ})
			info := mustRead(t, c, "transit/keys/"+typ)
			pubStr := info.Data["keys"].(map[string]any)["1"].(map[string]any)["public_key"].(string)
			var pub crypto.PublicKey
			if typ == "ed25519" {
				raw, _ := base64.StdEncoding.DecodeString(pubStr)
				pub = ed25519.PublicKey(raw)
			} else {
				blk, _ := pem.Decode([]byte(pubStr))
				if blk == nil {
					t.Fatalf("public key is not PEM: %q", pubStr)
				}
				var err error
				if pub, err = x509.ParsePKIXPublicKey(blk.Bytes); err != nil {
					t.Fatal(err)
				}
			}
			variants := []map[string]any{{}}
			switch {
			case strings.HasPrefix(typ, "ecdsa"):
				variants = append(variants, map[string]any{"marshaling_algorithm": "jws"})
			case strings.HasPrefix(typ, "rsa"):
				variants = append(variants, map[string]any{"signature_algorithm": "pkcs1v15"})
			}
			for _, extra := range variants {
				body := map[string]any{"input": base64.StdEncoding.EncodeToString(input)}
				for k, v := range extra {
					body[k] = v
				}
				sig := mustWrite(t, c, "transit/sign/"+typ, body).Data["signature"].(string)
				vbody := map[string]any{"signature": sig}
				for k, v := range body {
					vbody[k] = v
				}
				if ok := mustWrite(t, c, "transit/verify/"+typ, vbody).Data["valid"]; ok != true {
					t.Fatalf("%v: the engine does not verify its own signature", extra)
				}
				vbody["input"] = b64("other")
				if ok := mustWrite(t, c, "transit/verify/"+typ, vbody).Data["valid"]; ok != false {
					t.Fatalf("%v: a signature of other input verified", extra)
				}
				body64 := strings.TrimPrefix(sig, "vault:v1:")
				var raw []byte
				if extra["marshaling_algorithm"] == "jws" {
					raw, _ = base64.RawURLEncoding.DecodeString(body64)
				} else {
					raw, _ = base64.StdEncoding.DecodeString(body64)
				}
				var valid bool
				switch k := pub.(type) {
				case ed25519.PublicKey:
					valid = ed25519.Verify(k, input, raw)
				case *ecdsa.PublicKey:
					if extra["marshaling_algorithm"] == "jws" {
						n := len(raw) / 2
						valid = ecdsa.Verify(k, digest[:], new(big.Int).SetBytes(raw[:n]), new(big.Int).SetBytes(raw[n:]))
					} else {
						valid = ecdsa.VerifyASN1(k, digest[:], raw)
					}
				case *rsa.PublicKey:
					if extra["signature_algorithm"] == "pkcs1v15" {
						valid = rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], raw) == nil
					} else {
						valid = rsa.VerifyPSS(k, crypto.SHA256, digest[:], raw, nil) == nil
					}
				}
				if !valid {
					t.Fatalf("%v: crypto/* does not verify the engine's signature", extra)
				}
			}
			_, err := c.Logical().Write("transit/encrypt/"+typ, map[string]any{"plaintext": b64("x")})
			wantStatus(t, err, 400, "does not support encryption")
		})
	}
	// An AES key does not sign; hmac keys and every key HMAC.
	mustWrite(t, c, "transit/keys/sym", nil)
	_, err := c.Logical().Write("transit/sign/sym", map[string]any{"input": b64("x")})
	wantStatus(t, err, 400, "does not support signing")
	mustWrite(t, c, "transit/keys/mac", map[string]any{"type": "hmac", "key_size": 64})
	for _, k := range []string{"mac", "sym"} {
		mac := mustWrite(t, c, "transit/hmac/"+k+"/sha2-512", map[string]any{"input": b64("data")}).Data["hmac"]
		if ok := mustWrite(t, c, "transit/verify/"+k+"/sha2-512", map[string]any{"input": b64("data"), "hmac": mac}).Data["valid"]; ok != true {
			t.Fatalf("%s: hmac does not verify", k)
		}
		if ok := mustWrite(t, c, "transit/verify/"+k+"/sha2-256", map[string]any{"input": b64("data"), "hmac": mac}).Data["valid"]; ok != false {
			t.Fatalf("%s: hmac verified under another algorithm", k)
		}
	}
}
