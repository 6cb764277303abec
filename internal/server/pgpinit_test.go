package server

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/pgp"
	"github.com/strongbox/strongbox/internal/seal/sealtest"
)

// pgpKeys makes n key pairs: the public halves in pgp_keys form and the
// private halves.
func pgpKeys(t *testing.T, n int) ([]string, []*pgp.PrivateKey) {
	t.Helper()
	var pubs []string
	var privs []*pgp.PrivateKey
	for i := range n {
		pub, priv, err := pgp.NewKeyPair(fmt.Sprintf("operator-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		pubs, privs = append(pubs, pub), append(privs, priv)
	}
	return pubs, privs
}

// decryptShares decrypts keys_base64 entries (each a PGP message holding
// the hex share, as Vault does) with the matching private keys.
func decryptShares(t *testing.T, enc []string, privs []*pgp.PrivateKey) []string {
	t.Helper()
	out := make([]string, len(enc))
	for i, e := range enc {
		plain, err := privs[i].DecryptBase64(e)
		if err != nil {
			t.Fatalf("share %d: %v", i+1, err)
		}
		if _, err := hex.DecodeString(string(plain)); err != nil {
			t.Fatalf("share %d does not hold a hex share: %v", i+1, err)
		}
		out[i] = string(plain)
	}
	return out
}

func decryptRootToken(t *testing.T, enc string, priv *pgp.PrivateKey) string {
	t.Helper()
	tok, err := priv.DecryptBase64(enc)
	if err != nil {
		t.Fatalf("root token: %v", err)
	}
	return string(tok)
}

// TestInitWithPGPKeys: sys/init with pgp_keys and root_token_pgp_key answers
// encrypted shares and an encrypted root token; decrypted, they unseal the
// server and act as root.
func TestInitWithPGPKeys(t *testing.T) {
	srv := startServer(t, Options{ConfigPaths: []string{fileConfig(t, t.TempDir(), "")}, Logger: quietLogger()})
	c := srv.client("")
	pubs, privs := pgpKeys(t, 4)

	// Refusals change nothing.
	for _, tc := range []struct {
		body, want string
	}{
		{asJSON(map[string]any{"secret_shares": 3, "secret_threshold": 2, "pgp_keys": pubs[:2]}), "incorrect number of PGP keys"},
		{asJSON(map[string]any{"secret_shares": 3, "secret_threshold": 2, "pgp_keys": []string{pubs[0], "keybase:alice", pubs[1]}}), "keybase lookups are not supported"},
		{asJSON(map[string]any{"secret_shares": 3, "secret_threshold": 2, "pgp_keys": []string{pubs[0], "bm90IGEga2V5", pubs[1]}}), "key 2: pgp: invalid public key"},
		{asJSON(map[string]any{"secret_shares": 3, "secret_threshold": 2, "root_token_pgp_key": "bm90IGEga2V5"}), "error parsing root token PGP key"},
	} {
		code, out := rawCall(t, srv, "PUT", "/v1/sys/init", "", []byte(tc.body))
		if code != 400 || !strings.Contains(asJSON(out), tc.want) {
			t.Errorf("init %s: %d %v, want 400 %q", tc.body, code, out, tc.want)
		}
	}
	if inited, _ := c.Sys().InitStatus(); inited {
		t.Fatal("a refused init initialized the server")
	}

	res, err := c.Sys().Init(&vault.InitRequest{SecretShares: 3, SecretThreshold: 2, PGPKeys: pubs[:3], RootTokenPGPKey: pubs[3]})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.KeysB64) != 3 || len(res.Keys) != 3 {
		t.Fatalf("init answer %+v", res)
	}
	for i, k := range res.Keys {
		if raw, _ := hex.DecodeString(k); len(raw) < 64 {
			t.Errorf("key %d is not a PGP message (%d bytes)", i+1, len(raw))
		}
	}
	if _, err := c.Sys().Unseal(res.KeysB64[0]); err == nil {
		t.Error("an encrypted share was taken as an unseal key")
	}
	if _, err := c.Sys().ResetUnsealProcess(); err != nil {
		t.Fatal(err)
	}
	shares := decryptShares(t, res.KeysB64, privs)
	unseal(t, c, shares[1:3])
	root := decryptRootToken(t, res.RootToken, privs[3])
	if !lookupSelfWorks(t, srv, root) {
		t.Fatal("the decrypted root token does not work")
	}
	if lookupSelfWorks(t, srv, res.RootToken) {
		t.Fatal("the encrypted root token works as a token")
	}
	rc := srv.client(root)
	if err := rc.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	unseal(t, c, []string{shares[0], shares[2]})
}

// TestInitAutoSealWithPGPKeys: under an auto seal, recovery_pgp_keys and
// root_token_pgp_key encrypt the recovery shares and root token, and the
// decrypted recovery shares authorize (here, generate-root).
func TestInitAutoSealWithPGPKeys(t *testing.T) {
	kms := newKMSEmulator(t)
	keyID, _ := (&sealtest.LocalKMS{Endpoint: kms.endpoint()}).CreateKey(t)
	n := newAutoNode(t, awsKMSStanza(kms, keyID))
	c := n.start()
	pubs, privs := pgpKeys(t, 4)
	code, out := rawCall(t, n.srv, "PUT", "/v1/sys/init", "", []byte(asJSON(map[string]any{"pgp_keys": pubs[:3]})))
	if code != 400 || !strings.Contains(asJSON(out), "parameters pgp_keys not applicable to seal type awskms") {
		t.Fatalf("pgp_keys under an auto seal: %d %v", code, out)
	}
	res, err := c.Sys().Init(&vault.InitRequest{RecoveryShares: 3, RecoveryThreshold: 2, RecoveryPGPKeys: pubs[:3], RootTokenPGPKey: pubs[3]})
	if err != nil {
		t.Fatal(err)
	}
	waitSealStatus(t, c, false, 10*time.Second)
	root := decryptRootToken(t, res.RootToken, privs[3])
	if !lookupSelfWorks(t, n.srv, root) {
		t.Fatal("the decrypted root token does not work")
	}
	recovery := decryptShares(t, res.RecoveryKeysB64, privs)
	tok, err := generateRoot(t, c, recovery[:2])
	if err != nil || !lookupSelfWorks(t, n.srv, tok) {
		t.Fatalf("generate-root with decrypted recovery shares: %v", err)
	}
}

func awsKMSStanza(kms *kmsEmulator, keyID string) string {
	return fmt.Sprintf(`seal "awskms" {
  region     = %q
  access_key = %q
  secret_key = %q
  kms_key_id = %q
  endpoint   = %q
}`, sealtest.LocalKMSRegion, sealtest.LocalKMSAccessKey, sealtest.LocalKMSSecretKey, keyID, kms.endpoint())
}
