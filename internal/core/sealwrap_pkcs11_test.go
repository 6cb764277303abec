//go:build cgo

package core

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/strongbox/strongbox/internal/seal"
	"github.com/strongbox/strongbox/internal/seal/pkcs11"
	"github.com/strongbox/strongbox/internal/seal/sealtest"
)

// An HSM key_label change, with the old label as default_key_label as
// Vault's docs suggest: the restart re-wraps the root key with the new key,
// after which the old key can be destroyed on the token.
func TestRewrapPKCS11KeyLabelChange(t *testing.T) {
	hsm := sealtest.StartSoftHSM(t, "strongbox-rewrap")
	open := func(label, defaultLabel string) *pkcs11.Wrapper {
		t.Helper()
		conf := map[string]string{
			"lib": hsm.Lib, "slot": hsm.SlotString(), "pin": hsm.PIN,
			"key_label": label, "generate_key": "true",
		}
		if defaultLabel != "" {
			conf["default_key_label"] = defaultLabel
		}
		w, err := pkcs11.New(context.Background(), conf, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatalf("pkcs11 seal %q: %v", label, err)
		}
		return w
	}
	// Each Wrapper closes before the next opens, and so before the key is
	// destroyed through the module directly.
	closeAll := func(n *sealNode, w seal.Wrapper) {
		t.Helper()
		if err := n.c.Seal(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}

	w := open("root-a", "")
	n := newSealNode(t, w)
	if got := n.storedKeyID(t); got != "root-a" {
		t.Fatalf("blob names %q after init", got)
	}
	closeAll(n, w)

	w = open("root-b", "root-a")
	if err := n.autoRestart(t, w); err != nil {
		t.Fatalf("auto-unseal after the label change: %v", err)
	}
	if got := n.storedKeyID(t); got != "root-b" {
		t.Fatalf("blob names %q after the restart; want the new key", got)
	}
	n.secretReadable(t)
	closeAll(n, w)

	if destroyed := destroyKey(t, hsm, "root-a"); destroyed != 1 {
		t.Fatalf("destroyed %d objects labelled root-a", destroyed)
	}
	w = open("root-b", "")
	defer func() { _ = w.Close() }()
	if _, err := w.Decrypt(context.Background(), &seal.BlobInfo{KeyID: "root-a", Ciphertext: []byte("x"), IV: make([]byte, 12)}); !errors.Is(err, seal.ErrInvalidKey) {
		t.Fatalf("the old key is still on the token: %v", err)
	}
	if err := n.autoRestart(t, w); err != nil {
		t.Fatalf("auto-unseal with the old key destroyed: %v", err)
	}
	n.secretReadable(t)
}

// destroyKey removes every object labelled label from the token, through
// the PKCS#11 module itself (no seal Wrapper may be open).
func destroyKey(t *testing.T, hsm *sealtest.SoftHSM, label string) int {
	t.Helper()
	ctx := p11.New(hsm.Lib)
	if ctx == nil {
		t.Fatal("load the SoftHSM module")
	}
	defer ctx.Destroy()
	if err := ctx.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ctx.Finalize() }()
	s, err := ctx.OpenSession(hsm.Slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ctx.CloseSession(s) }()
	if err := ctx.Login(s, p11.CKU_USER, hsm.PIN); err != nil {
		t.Fatal(err)
	}
	if err := ctx.FindObjectsInit(s, []*p11.Attribute{p11.NewAttribute(p11.CKA_LABEL, label)}); err != nil {
		t.Fatal(err)
	}
	objs, _, err := ctx.FindObjects(s, 16)
	if ferr := ctx.FindObjectsFinal(s); err == nil {
		err = ferr
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := ctx.DestroyObject(s, o); err != nil {
			t.Fatal(err)
		}
	}
	return len(objs)
}
