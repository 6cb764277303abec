package barrier

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/physical"
)

func TestTamperedValueFailsToDecrypt(t *testing.T) {
	ctx := context.Background()
	b, raw, _ := newUnsealed(t)
	mustPut(t, b, "secret/x", "attack at dawn")
	good := raw.Dump()["secret/x"]
	if len(good) != headerSize+nonceSize+len("attack at dawn")+tagSize {
		t.Fatalf("stored value is %d bytes", len(good))
	}

	check := func(t *testing.T, what string, value []byte) {
		t.Helper()
		if err := raw.Put(ctx, &physical.Entry{Key: "secret/x", Value: value}); err != nil {
			t.Fatal(err)
		}
		e, err := b.Get(ctx, "secret/x")
		if !errors.Is(err, ErrDecrypt) {
			t.Fatalf("%s: Get error = %v, want ErrDecrypt", what, err)
		}
		if e != nil {
			t.Fatalf("%s: Get returned data %q with the error", what, e.Value)
		}
	}
	for i := range good {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			v := bytes.Clone(good)
			v[i] ^= mask
			check(t, fmt.Sprintf("byte %d ^ %#02x", i, mask), v)
		}
	}
	for n := range len(good) {
		check(t, fmt.Sprintf("truncated to %d", n), good[:n])
	}
	check(t, "extended", append(bytes.Clone(good), 0))

	unknown := bytes.Clone(good)
	binary.BigEndian.PutUint32(unknown, 99)
	check(t, "unknown term", unknown)
	binary.BigEndian.PutUint32(unknown, rootTerm)
	check(t, "root term", unknown)

	// The untouched value still reads: the failures above changed nothing.
	if err := raw.Put(ctx, &physical.Entry{Key: "secret/x", Value: good}); err != nil {
		t.Fatal(err)
	}
	mustGet(t, b, "secret/x", "attack at dawn")
}

func TestValueIsBoundToItsPath(t *testing.T) {
	ctx := context.Background()
	b, raw, _ := newUnsealed(t)
	mustPut(t, b, "logical/aaa/admin-password", "hunter2")
	mustPut(t, b, "logical/bbb/guest-password", "guest")
	stolen := raw.Dump()["logical/aaa/admin-password"]
	for _, dst := range []string{"logical/bbb/guest-password", "logical/aaa/admin-password2", "logical/aaa/admin-passwor", ""} {
		if err := raw.Put(ctx, &physical.Entry{Key: dst, Value: stolen}); err != nil {
			t.Fatal(err)
		}
		e, err := b.Get(ctx, dst)
		if !errors.Is(err, ErrDecrypt) || e != nil {
			t.Fatalf("value copied to %q: Get = %v, %v; want ErrDecrypt", dst, e, err)
		}
	}
	mustGet(t, b, "logical/aaa/admin-password", "hunter2")
}

func TestStorageHoldsNoSecrets(t *testing.T) {
	ctx := context.Background()
	b, raw, root := newUnsealed(t)
	plaintexts := []string{"correct horse battery staple", "s3cr3t-t0ken-value", `{"password":"p4ss"}`}
	for i, p := range plaintexts {
		mustPut(t, b, fmt.Sprintf("logical/%d", i), p)
	}
	if _, err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	err := b.Transaction(ctx, []*physical.TxnOp{
		{Op: physical.PutOp, Entry: &physical.Entry{Key: "txn/a", Value: []byte(plaintexts[0])}},
	})
	if err != nil {
		t.Fatal(err)
	}
	newRoot, _ := GenerateKey()
	if err := b.Rekey(ctx, newRoot); err != nil {
		t.Fatal(err)
	}

	secrets := map[string][]byte{"old root key": root, "new root key": newRoot}
	for _, p := range plaintexts {
		secrets["plaintext "+p] = []byte(p)
	}
	for term, k := range b.keyring.keys {
		secrets[fmt.Sprintf("term %d key", term)] = bytes.Clone(k.key)
	}
	encodings := map[string]func([]byte) []byte{
		"raw":    func(v []byte) []byte { return v },
		"hex":    func(v []byte) []byte { return []byte(hex.EncodeToString(v)) },
		"base64": func(v []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(v)) },
	}
	dump := raw.Dump()
	if len(dump) != len(plaintexts)+2 {
		t.Fatalf("storage holds %d entries, want %d", len(dump), len(plaintexts)+2)
	}
	for key, value := range dump {
		for name, secret := range secrets {
			for enc, f := range encodings {
				// Check an 8-byte window too, so a partial leak shows up.
				for _, needle := range [][]byte{f(secret), f(secret[:8])} {
					if bytes.Contains(value, needle) || bytes.Contains([]byte(key), needle) {
						t.Errorf("storage entry %q contains the %s (%s)", key, name, enc)
					}
				}
			}
		}
	}
}

func TestEncryptDecrypt(t *testing.T) {
	key, _ := GenerateKey()
	aad := []byte("core/hsm/barrier-unseal-keys")
	pt := []byte("the root key")
	ct, err := Encrypt(key, aad, pt)
	if err != nil {
		t.Fatal(err)
	}
	if len(ct) != nonceSize+len(pt)+tagSize {
		t.Fatalf("ciphertext is %d bytes, want nonce|ct|tag = %d", len(ct), nonceSize+len(pt)+tagSize)
	}
	if bytes.Contains(ct, pt) {
		t.Fatal("ciphertext contains the plaintext")
	}
	got, err := Decrypt(key, aad, ct)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
	again, _ := Encrypt(key, aad, pt)
	if bytes.Equal(again[:nonceSize], ct[:nonceSize]) {
		t.Fatal("two encryptions reused a nonce")
	}
	if empty, err := Encrypt(key, nil, nil); err != nil {
		t.Fatal(err)
	} else if got, err := Decrypt(key, nil, empty); err != nil || len(got) != 0 {
		t.Fatalf("empty round trip = %q, %v", got, err)
	}

	otherKey, _ := GenerateKey()
	bad := []struct {
		name    string
		key     []byte
		aad     []byte
		ct      []byte
		wantErr error
	}{
		{"wrong key", otherKey, aad, ct, ErrDecrypt},
		{"wrong aad", key, []byte("core/other"), ct, ErrDecrypt},
		{"no aad", key, nil, ct, ErrDecrypt},
		{"flipped nonce", key, aad, flip(ct, 0), ErrDecrypt},
		{"flipped tag", key, aad, flip(ct, len(ct)-1), ErrDecrypt},
		{"truncated", key, aad, ct[:nonceSize+tagSize-1], ErrDecrypt},
		{"empty", key, aad, nil, ErrDecrypt},
		{"short key", key[:16], aad, ct, ErrInvalidKey},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decrypt(tt.key, tt.aad, tt.ct)
			if !errors.Is(err, tt.wantErr) || got != nil {
				t.Fatalf("Decrypt = %q, %v; want %v", got, err, tt.wantErr)
			}
		})
	}
	if _, err := Encrypt(key[:24], aad, pt); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("Encrypt with a 24-byte key: %v, want ErrInvalidKey", err)
	}
}

func TestParseKeyringRejectsInvalid(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, KeySize))
	now := time.Now().UTC().Format(time.RFC3339Nano)
	entry := func(term int) string {
		return fmt.Sprintf(`{"term":%d,"key":%q,"install_time":%q}`, term, key, now)
	}
	tests := []struct{ name, json string }{
		{"not json", `{"active_term":`},
		{"no keys", `{"active_term":1,"keys":[]}`},
		{"active term missing", `{"active_term":2,"keys":[` + entry(1) + `]}`},
		{"term 0", `{"active_term":1,"keys":[` + entry(0) + `,` + entry(1) + `]}`},
		{"duplicate term", `{"active_term":1,"keys":[` + entry(1) + `,` + entry(1) + `]}`},
		{"term above active", `{"active_term":1,"keys":[` + entry(1) + `,` + entry(2) + `]}`},
		{"short key", `{"active_term":1,"keys":[{"term":1,"key":"AAAA","install_time":"` + now + `"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if kr, err := parseKeyring([]byte(tt.json)); err == nil {
				t.Fatalf("parseKeyring accepted it: active %d, %d keys", kr.active, len(kr.keys))
			}
		})
	}
	kr, err := parseKeyring([]byte(`{"active_term":3,"keys":[` + entry(1) + `,` + entry(3) + `]}`))
	if err != nil {
		t.Fatalf("a keyring with a gap in its terms: %v", err)
	}
	if kr.activeKey().term != 3 || len(kr.keys) != 2 {
		t.Fatalf("parsed keyring: active %d, %d keys", kr.active, len(kr.keys))
	}
}

// FuzzGetStoredValue puts arbitrary bytes where the barrier expects a sealed
// value: Get must not panic and must never accept a value it did not seal.
func FuzzGetStoredValue(f *testing.F) {
	b, raw, _ := newUnsealed(f)
	mustPut(f, b, "k", "value")
	good := raw.Dump()["k"]
	f.Add(good)
	f.Add(good[:headerSize+nonceSize+tagSize])
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 1, 1})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, value []byte) {
		ctx := context.Background()
		if err := raw.Put(ctx, &physical.Entry{Key: "fuzz", Value: value}); err != nil {
			t.Fatal(err)
		}
		e, err := b.Get(ctx, "fuzz")
		if err == nil {
			t.Fatalf("Get accepted a forged value: %q", e.Value)
		}
		if !errors.Is(err, ErrDecrypt) || e != nil {
			t.Fatalf("Get = %v, %v; want nil and ErrDecrypt", e, err)
		}
	})
}
