package awskms

import (
	"bytes"
	"errors"
	"testing"

	"github.com/strongbox/strongbox/internal/seal"
)

func TestEnvelope(t *testing.T) {
	pt := []byte("root key material, 32 bytes long")
	env, err := sealEnvelope(pt)
	if err != nil {
		t.Fatal(err)
	}
	if len(env.dataKey) != 32 || len(env.iv) != 12 || len(env.ciphertext) != len(pt)+16 {
		t.Fatalf("key %d iv %d ct %d", len(env.dataKey), len(env.iv), len(env.ciphertext))
	}
	got, err := openEnvelope(env.dataKey, env.iv, env.ciphertext)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("open = %q, %v", got, err)
	}
	other, err := sealEnvelope(pt)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other.dataKey, env.dataKey) || bytes.Equal(other.ciphertext, env.ciphertext) {
		t.Fatal("two envelopes share a data key or ciphertext")
	}
	bad := map[string]func() ([]byte, error){
		"other key": func() ([]byte, error) { return openEnvelope(other.dataKey, env.iv, env.ciphertext) },
		"short key": func() ([]byte, error) { return openEnvelope(env.dataKey[:16], env.iv, env.ciphertext) },
		"short iv":  func() ([]byte, error) { return openEnvelope(env.dataKey, env.iv[:11], env.ciphertext) },
		"short ct":  func() ([]byte, error) { return openEnvelope(env.dataKey, env.iv, env.ciphertext[:15]) },
		"flipped byte": func() ([]byte, error) {
			c := bytes.Clone(env.ciphertext)
			c[0] ^= 1
			return openEnvelope(env.dataKey, env.iv, c)
		},
	}
	for name, f := range bad {
		if _, err := f(); !errors.Is(err, seal.ErrInvalidKey) {
			t.Errorf("%s: err = %v, want ErrInvalidKey", name, err)
		}
	}
}
