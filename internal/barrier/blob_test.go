package barrier

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func TestBlobRoundTripAcrossRotationAndNodes(t *testing.T) {
	ctx := context.Background()
	active, raw, root := newUnsealed(t)
	before, err := raw.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	blob, err := active.SealBlob("token/batch", []byte("entry"))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := raw.List(ctx, "")
	if len(after) != len(before) {
		t.Fatalf("SealBlob wrote to storage: %d keys, then %d", len(before), len(after))
	}
	if bytes.Contains(blob, []byte("entry")) {
		t.Fatal("blob holds its plaintext")
	}

	// A rotation keeps the old term: the blob still opens, and new blobs
	// use the new term.
	if _, err := active.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	pt, err := active.OpenBlob(ctx, "token/batch", blob)
	if err != nil || string(pt) != "entry" {
		t.Fatalf("OpenBlob after rotate = %q, %v", pt, err)
	}
	newer, err := active.SealBlob("token/batch", []byte("later"))
	if err != nil {
		t.Fatal(err)
	}

	// Another node sharing the keyring opens both, reloading its keyring
	// for the newer term.
	other := New(raw)
	if err := other.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	if _, err := active.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	newest, _ := active.SealBlob("token/batch", []byte("newest"))
	for _, c := range []struct {
		blob []byte
		want string
	}{{blob, "entry"}, {newer, "later"}, {newest, "newest"}} {
		pt, err := other.OpenBlob(ctx, "token/batch", c.blob)
		if err != nil || string(pt) != c.want {
			t.Fatalf("other node OpenBlob = %q, %v; want %q", pt, err, c.want)
		}
	}
}

func TestBlobRefusesTamperingAndOtherPurposes(t *testing.T) {
	ctx := context.Background()
	b, _, _ := newUnsealed(t)
	mustPut(t, b, "some/path", "stored")
	blob, err := b.SealBlob("token/batch", []byte("entry"))
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(blob)
	flipped[len(flipped)-1] ^= 1
	forgedTerm := bytes.Clone(blob)
	forgedTerm[0] = 0x7f
	cases := map[string]struct {
		purpose string
		blob    []byte
	}{
		"flipped bit":    {"token/batch", flipped},
		"other purpose":  {"token/other", blob},
		"truncated":      {"token/batch", blob[:10]},
		"empty":          {"token/batch", nil},
		"unknown term":   {"token/batch", forgedTerm},
		"storage record": {"some/path", nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			in := c.blob
			if name == "storage record" {
				// A value sealed for storage is never a valid blob, even
				// under its own path as purpose.
				in, err = b.encrypt("some/path", []byte("stored"))
				if err != nil {
					t.Fatal(err)
				}
			}
			pt, err := b.OpenBlob(ctx, c.purpose, in)
			if !errors.Is(err, ErrDecrypt) || pt != nil {
				t.Fatalf("OpenBlob = %q, %v; want ErrDecrypt", pt, err)
			}
		})
	}
	b.Seal()
	if _, err := b.SealBlob("token/batch", []byte("x")); !errors.Is(err, ErrSealed) {
		t.Fatalf("SealBlob while sealed: %v", err)
	}
	if _, err := b.OpenBlob(ctx, "token/batch", blob); !errors.Is(err, ErrSealed) {
		t.Fatalf("OpenBlob while sealed: %v", err)
	}
}
