package server

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/seal"
	"github.com/strongbox/strongbox/internal/seal/transit"
)

// The Wrapper against a real key server: a round trip, the key id naming
// the key's version, a rotated key still decrypting older blobs, and
// blobs that are not the key's (tampered, another mechanism) reported as
// seal.ErrInvalidKey, which the core does not mistake for an outage.
func TestTransitWrapper(t *testing.T) {
	b := startKeyServer(t)
	ctx := context.Background()
	w, err := transit.New(ctx, map[string]string{
		"address": b.addr(), "token": b.sealToken("1h"), "key_name": sealKeyName, "mount_path": "/transit/",
	}, nil, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Type() != "transit" {
		t.Fatalf("type %q", w.Type())
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	blob, err := w.Encrypt(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	wantID := b.addr() + "/transit/" + sealKeyName + ":v1"
	if blob.KeyID != wantID || blob.Mechanism != transit.Mechanism || !bytes.HasPrefix(blob.Ciphertext, []byte("vault:v1:")) {
		t.Fatalf("blob %+v", blob)
	}
	if id, err := w.KeyID(ctx); err != nil || id != wantID {
		t.Fatalf("KeyID %q %v", id, err)
	}
	if pt, err := w.Decrypt(ctx, blob); err != nil || !bytes.Equal(pt, secret) {
		t.Fatalf("decrypt %q %v", pt, err)
	}

	// Rotation on B: the current key id moves to v2, v1 blobs still
	// decrypt.
	mustWrite(t, b.client(b.root), "transit/keys/"+sealKeyName+"/rotate", nil)
	if id, err := w.KeyID(ctx); err != nil || id != b.addr()+"/transit/"+sealKeyName+":v2" {
		t.Fatalf("KeyID after rotation %q %v", id, err)
	}
	if pt, err := w.Decrypt(ctx, blob); err != nil || !bytes.Equal(pt, secret) {
		t.Fatalf("decrypt a v1 blob after rotation %q %v", pt, err)
	}

	// Blobs that are not the key's.
	tampered := *blob
	tampered.Ciphertext = bytes.Clone(blob.Ciphertext)
	tampered.Ciphertext[len(tampered.Ciphertext)-3] ^= 'A' ^ 'B'
	if tampered.Ciphertext[len(tampered.Ciphertext)-3] == blob.Ciphertext[len(blob.Ciphertext)-3] {
		t.Fatal("the tampering changed nothing")
	}
	for name, bad := range map[string]*seal.BlobInfo{
		"tampered":         &tampered,
		"other mechanism":  {Ciphertext: blob.Ciphertext, Mechanism: "awskms-envelope-aes-gcm"},
		"not transit":      {Ciphertext: []byte("garbage")},
		"unknown version":  {Ciphertext: []byte(strings.Replace(string(blob.Ciphertext), "vault:v1:", "vault:v9:", 1)), Mechanism: transit.Mechanism},
		"empty ciphertext": {Mechanism: transit.Mechanism},
	} {
		if _, err := w.Decrypt(ctx, bad); !errors.Is(err, seal.ErrInvalidKey) {
			t.Errorf("%s: %v, want seal.ErrInvalidKey", name, err)
		}
	}

	// B stopped: an outage, not an invalid key.
	b.stop()
	if _, err := w.Decrypt(ctx, blob); err == nil || errors.Is(err, seal.ErrInvalidKey) || !strings.Contains(err.Error(), "cannot reach the key service") {
		t.Fatalf("decrypt with B down: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Encrypt(ctx, secret); err == nil {
		t.Fatal("Encrypt after Close worked")
	}
}

// After B rotates the seal's key, sys/sealwrap/rewrap on A wraps the root
// key with the new version: once B refuses v1 (min_decryption_version 2),
// A still unseals by itself.
func TestTransitSealRewrapAfterRotation(t *testing.T) {
	b := startKeyServer(t)
	a := newAutoNode(t, transitSealHCL(b.addr(), b.sealToken("1h")))
	c := a.start()
	init, err := c.Sys().Init(&vault.InitRequest{RecoveryShares: 1, RecoveryThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	waitSealStatus(t, c, false, 10*time.Second)
	bRoot := b.client(b.root)
	mustWrite(t, bRoot, "transit/keys/"+sealKeyName+"/rotate", nil)
	if _, err := a.srv.client(init.RootToken).Logical().Write("sys/sealwrap/rewrap", nil); err != nil {
		t.Fatalf("sys/sealwrap/rewrap: %v", err)
	}
	waitLog(t, a.logs, 10*time.Second, "seal re-wrap completed", "to_key_id="+b.addr()+"/transit/"+sealKeyName+":v2")
	mustWrite(t, bRoot, "transit/keys/"+sealKeyName+"/config", map[string]any{"min_decryption_version": 2})
	a.stop()
	c = a.start()
	waitSealStatus(t, c, false, 15*time.Second)
	a.stop()
}

// The TLS settings are honoured: B serves HTTPS and requires a client
// certificate. A with tls_ca_cert, tls_client_cert, tls_client_key and
// tls_server_name unseals through it, and with tls_skip_verify instead of
// the CA; A with a wrong tls_server_name, or without the client
// certificate, stays sealed and logs the TLS failure.
func TestTransitSealTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	caFile := filepath.Join(dir, "ca.pem")
	write(t, caFile, ca.pem)
	crt, key := ca.issue(t, dir, "server", x509.ExtKeyUsageServerAuth)
	clientCrt, clientKey := ca.issue(t, dir, "client", x509.ExtKeyUsageClientAuth)
	cfg := filepath.Join(dir, "b.hcl")
	write(t, cfg, fmt.Appendf(nil, `
storage "inmem" {}
listener "tcp" {
  address                            = "127.0.0.1:0"
  tls_cert_file                      = %q
  tls_key_file                       = %q
  tls_client_ca_file                 = %q
  tls_require_and_verify_client_cert = true
}
disable_mlock = true
`, crt, key, caFile))
	srv := startServer(t, Options{ConfigPaths: []string{cfg}})
	bc := func(token string) *vault.Client {
		c := vault.DefaultConfig()
		c.Address = "https://" + srv.addr
		c.MaxRetries = 0
		if err := c.ConfigureTLS(&vault.TLSConfig{CACert: caFile, ClientCert: clientCrt, ClientKey: clientKey}); err != nil {
			t.Fatal(err)
		}
		cl, err := vault.NewClient(c)
		if err != nil {
			t.Fatal(err)
		}
		cl.SetToken(token)
		return cl
	}
	res, err := bc("").Sys().Init(&vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	unseal(t, bc(""), res.Keys)
	broot := bc(res.RootToken)
	if err := broot.Sys().Mount("transit", &vault.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, broot, "transit/keys/"+sealKeyName, map[string]any{})
	if err := broot.Sys().PutPolicy("autounseal", sealPolicy); err != nil {
		t.Fatal(err)
	}
	tok, err := broot.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"autounseal"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	addr := "https://" + srv.addr
	tlsHCL := fmt.Sprintf("  tls_ca_cert     = %q\n  tls_server_name = \"127.0.0.1\"\n", caFile)

	a := newAutoNode(t, transitSealHCL(addr, tok.Auth.ClientToken, tlsHCL,
		fmt.Sprintf("  tls_client_cert = %q\n  tls_client_key  = %q\n", clientCrt, clientKey)))
	c := a.start()
	if _, err := c.Sys().Init(&vault.InitRequest{RecoveryShares: 1, RecoveryThreshold: 1}); err != nil {
		t.Fatal(err)
	}
	waitSealStatus(t, c, false, 10*time.Second)
	a.stop()
	c = a.start()
	waitSealStatus(t, c, false, 15*time.Second)
	a.stop()

	// tls_skip_verify: no CA needed.
	clientHCL := fmt.Sprintf("  tls_client_cert = %q\n  tls_client_key  = %q\n", clientCrt, clientKey)
	a.seal = transitSealHCL(addr, tok.Auth.ClientToken, clientHCL, "  tls_skip_verify = \"true\"\n")
	c = a.start()
	waitSealStatus(t, c, false, 15*time.Second)
	a.stop()

	// tls_server_name is the name checked: a wrong one fails verification.
	a.seal = transitSealHCL(addr, tok.Auth.ClientToken, clientHCL,
		fmt.Sprintf("  tls_ca_cert     = %q\n  tls_server_name = \"wrong.example\"\n", caFile))
	c = a.start()
	waitLog(t, a.logs, 15*time.Second, "cannot reach the key service", "x509", "wrong.example")
	if st, err := c.Sys().SealStatus(); err != nil || !st.Sealed {
		t.Fatalf("seal-status with a wrong tls_server_name %+v %v", st, err)
	}
	a.stop()

	// Without the client certificate B refuses the handshake.
	a.seal = transitSealHCL(addr, tok.Auth.ClientToken, tlsHCL)
	c = a.start()
	waitLog(t, a.logs, 15*time.Second, "auto-unseal failed: the seal's key service is unavailable", "cannot reach the key service", "certificate required")
	if st, err := c.Sys().SealStatus(); err != nil || !st.Sealed || !st.Initialized {
		t.Fatalf("seal-status without the client certificate %+v %v", st, err)
	}
	a.stop()
}

// The environment overrides the stanza as in Vault: VAULT_TOKEN and the
// VAULT_TRANSIT_SEAL_* variables win over the stanza's values, while the
// stanza's address wins over VAULT_ADDR.
func TestTransitSealEnvironment(t *testing.T) {
	b := startKeyServer(t)
	token := b.sealToken("1h")
	t.Setenv("VAULT_TOKEN", token)
	t.Setenv("VAULT_TRANSIT_SEAL_KEY_NAME", sealKeyName)
	t.Setenv("VAULT_TRANSIT_SEAL_MOUNT_PATH", "transit/")
	t.Setenv("VAULT_TRANSIT_SEAL_DISABLE_RENEWAL", "true")
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:1")
	a := newAutoNode(t, fmt.Sprintf(`seal "transit" {
  address    = %q
  token      = "not-the-token"
  key_name   = "not-the-key"
  mount_path = "not-the-mount"
}
`, b.addr()))
	c := a.start()
	if _, err := c.Sys().Init(&vault.InitRequest{RecoveryShares: 1, RecoveryThreshold: 1}); err != nil {
		t.Fatal(err)
	}
	waitSealStatus(t, c, false, 10*time.Second)
	waitLog(t, a.logs, 5*time.Second, "transit seal configured", "mount_path=transit", "key_name="+sealKeyName, "token_renewal=false")
	a.stop()
}
