package pgp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// testEntity generates a key with the given algorithm (RSA is what most
// operators' gpg keys are; EdDSA/X25519 is fast).
func testEntity(t testing.TB, cfg *packet.Config) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity("operator", "", "op@example.com", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func binaryPublic(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := e.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func armoredPublic(t testing.TB, e *openpgp.Entity) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.String()
}

func armoredPrivate(t testing.TB, e *openpgp.Entity) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.String()
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	rsa := testEntity(t, &packet.Config{RSABits: 2048})
	ed := testEntity(t, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	for _, tc := range []struct {
		name   string
		entity *openpgp.Entity
		form   func(*openpgp.Entity) string
	}{
		{"rsa base64 binary (Vault's pgp_keys)", rsa, func(e *openpgp.Entity) string { return base64.StdEncoding.EncodeToString(binaryPublic(t, e)) }},
		{"ed25519 base64 binary", ed, func(e *openpgp.Entity) string { return base64.StdEncoding.EncodeToString(binaryPublic(t, e)) }},
		{"armored", ed, func(e *openpgp.Entity) string { return armoredPublic(t, e) }},
		{"base64 of armored (the CLI encodes an armored file)", rsa, func(e *openpgp.Entity) string {
			return base64.StdEncoding.EncodeToString([]byte(armoredPublic(t, e)))
		}},
		{"surrounding whitespace", ed, func(e *openpgp.Entity) string {
			return "\n " + base64.StdEncoding.EncodeToString(binaryPublic(t, e)) + " \n"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pk, err := ParsePublicKey(tc.form(tc.entity))
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ToLower(strings.TrimSpace(tc.entity.PrimaryKey.KeyIdString()))
			if !strings.HasSuffix(pk.Fingerprint, want) || len(pk.Fingerprint) != 40 {
				t.Fatalf("fingerprint %q does not end with key id %q", pk.Fingerprint, want)
			}
			ct, err := pk.EncryptBase64([]byte("a share"))
			if err != nil {
				t.Fatal(err)
			}
			priv, err := ParsePrivateKey(armoredPrivate(t, tc.entity))
			if err != nil {
				t.Fatal(err)
			}
			got, err := priv.DecryptBase64(ct)
			if err != nil || string(got) != "a share" {
				t.Fatalf("decrypt: %q %v", got, err)
			}
		})
	}
}

func TestWrongPrivateKeyCannotDecrypt(t *testing.T) {
	pub, _, err := NewKeyPair("alice")
	if err != nil {
		t.Fatal(err)
	}
	_, mallory, err := NewKeyPair("mallory")
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := pk.Encrypt([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("secret")) {
		t.Fatal("plaintext visible in ciphertext")
	}
	if _, err := mallory.Decrypt(ct); err == nil {
		t.Fatal("another key decrypted the message")
	}
}

func TestParsePublicKeyErrors(t *testing.T) {
	signOnly := testEntity(t, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	signOnly.Subkeys = nil
	expired := testEntity(t, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, KeyLifetimeSecs: 1, Time: func() time.Time { return time.Now().Add(-time.Hour) }})
	for _, tc := range []struct {
		name, key string
		want      error
		contains  string
	}{
		{"keybase", "keybase:jefferai", ErrKeybase, "keybase"},
		{"keybase upper", "KEYBASE:someone", ErrKeybase, "keybase"},
		{"empty", "  ", ErrInvalidKey, "empty"},
		{"not base64", "%%%not-base64", ErrInvalidKey, "not base64"},
		{"base64 of junk", base64.StdEncoding.EncodeToString([]byte("not a key")), ErrInvalidKey, ""},
		{"armored message, not a key", "-----BEGIN PGP MESSAGE-----\n\nwcBMA\n-----END PGP MESSAGE-----\n", ErrInvalidKey, ""},
		{"signing-only key", base64.StdEncoding.EncodeToString(binaryPublic(t, signOnly)), ErrInvalidKey, "no valid encryption key"},
		{"expired key", base64.StdEncoding.EncodeToString(binaryPublic(t, expired)), ErrInvalidKey, "no valid encryption key"},
		{"too large", base64.StdEncoding.EncodeToString(make([]byte, maxKeyBytes+1)), ErrInvalidKey, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePublicKey(tc.key)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("got %v, want %v containing %q", err, tc.want, tc.contains)
			}
		})
	}
}

func TestParsePublicKeysNamesThePosition(t *testing.T) {
	good, _, err := NewKeyPair("a")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParsePublicKeys([]string{good, good})
	if err != nil || len(keys) != 2 || keys[0].Fingerprint != keys[1].Fingerprint {
		t.Fatalf("two copies of one key: %v %v", keys, err)
	}
	_, err = ParsePublicKeys([]string{good, "keybase:x"})
	if !errors.Is(err, ErrKeybase) || !strings.HasPrefix(err.Error(), "key 2: ") {
		t.Fatalf("got %v", err)
	}
}

func TestParsePrivateKeyForms(t *testing.T) {
	e := testEntity(t, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	var bin bytes.Buffer
	if err := e.SerializePrivate(&bin, nil); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{
		"armored": armoredPrivate(t, e),
		"base64":  base64.StdEncoding.EncodeToString(bin.Bytes()),
	} {
		if _, err := ParsePrivateKey(s); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParsePrivateKey(armoredPublic(t, e)); err == nil {
		t.Error("a public key was accepted as a private key")
	}
	if _, err := ParsePrivateKey("junk"); err == nil {
		t.Error("junk accepted")
	}
}

// FuzzParsePublicKey feeds arbitrary pgp_keys entries: the parser must
// never panic, and whatever it accepts must be able to encrypt.
func FuzzParsePublicKey(f *testing.F) {
	e := testEntity(f, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	bin := binaryPublic(f, e)
	f.Add(base64.StdEncoding.EncodeToString(bin))
	f.Add(armoredPublic(f, e))
	f.Add(base64.StdEncoding.EncodeToString(bin[:len(bin)/2]))
	f.Add("keybase:someone")
	f.Add("")
	f.Add("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----")
	f.Add(base64.StdEncoding.EncodeToString([]byte{0x99, 0x00, 0x0d, 0x04}))
	f.Fuzz(func(t *testing.T, s string) {
		pk, err := ParsePublicKey(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrKeybase) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if len(pk.Fingerprint) == 0 {
			t.Fatal("accepted key without a fingerprint")
		}
		if _, err := pk.Encrypt([]byte("x")); err != nil {
			t.Fatalf("accepted key cannot encrypt: %v", err)
		}
	})
}
