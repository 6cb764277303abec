package core

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/core/keyops"

	"github.com/strongbox/strongbox/internal/pgp"
)

// generate runs a whole attempt with shares and returns the result.
func generate(t *testing.T, k *keyCore, nonce string, shares [][]byte) *keyops.GenerateRootResult {
	t.Helper()
	var res *keyops.GenerateRootResult
	var err error
	prev := -1
	for i, s := range shares {
		res, err = k.c.keyops.GenerateRootUpdate(context.Background(), s, nonce)
		if err != nil {
			t.Fatal(err)
		}
		if (prev >= 0 && res.Progress != prev+1) || res.Nonce != nonce {
			t.Fatalf("share %d: %+v", i+1, res)
		}
		prev = res.Progress
	}
	return res
}

func TestGenerateRootWithServerOTP(t *testing.T) {
	k := newKeyCore(t, 3, 2)
	ctx := context.Background()
	st, err := k.c.keyops.GenerateRootStatus(ctx)
	if err != nil || st.Started || st.Required != 2 || st.OTPLength != keyops.GenerateRootOTPLength || st.OTP != "" {
		t.Fatalf("idle status %+v %v", st, err)
	}
	st, err = k.c.keyops.GenerateRootInit(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !st.Started || st.Nonce == "" || len(st.OTP) != keyops.GenerateRootOTPLength {
		t.Fatalf("init %+v", st)
	}
	otp := st.OTP
	if again, _ := k.c.keyops.GenerateRootStatus(ctx); again.OTP != "" || !again.Started || again.Nonce != st.Nonce {
		t.Fatalf("status shows the otp or lost the attempt: %+v", again)
	}
	first := generate(t, k, st.Nonce, k.keys[:1])
	if first.Complete || first.EncodedToken != "" || first.Required != 2 {
		t.Fatalf("after one share %+v", first)
	}
	res := generate(t, k, st.Nonce, k.keys[2:])
	if !res.Complete || res.EncodedToken == "" {
		t.Fatalf("final %+v", res)
	}
	tok, err := pgp.DecodeToken(res.EncodedToken, otp)
	if err != nil {
		t.Fatal(err)
	}
	if tok == k.root || !strings.HasPrefix(tok, "hvs.") || len(tok) != keyops.GenerateRootOTPLength {
		t.Fatalf("generated token %q (len %d, otp_length %d)", tok, len(tok), keyops.GenerateRootOTPLength)
	}
	if !k.tokenWorks(t, tok) {
		t.Fatal("generated root token does not work")
	}
	if st, _ := k.c.keyops.GenerateRootStatus(ctx); st.Started {
		t.Fatal("attempt still started after completion")
	}
}

func TestGenerateRootWithClientOTPAndPGP(t *testing.T) {
	k := newKeyCore(t, 1, 1)
	ctx := context.Background()
	_, err := k.c.keyops.GenerateRootInit(ctx, "too-short", "")
	wantStatus(t, err, 400, "OTP string is wrong length")

	otp, err := pgp.GenerateOTP(keyops.GenerateRootOTPLength)
	if err != nil {
		t.Fatal(err)
	}
	st, err := k.c.keyops.GenerateRootInit(ctx, otp, "")
	if err != nil || st.OTP != "" {
		t.Fatalf("init with otp %+v %v", st, err)
	}
	res := generate(t, k, st.Nonce, k.keys)
	tok, err := pgp.DecodeToken(res.EncodedToken, otp)
	if err != nil || !k.tokenWorks(t, tok) {
		t.Fatalf("otp token %q %v", tok, err)
	}

	pub, priv, err := pgp.NewKeyPair("op")
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.c.keyops.GenerateRootInit(ctx, otp, pub)
	wantStatus(t, err, 400, "only one of otp and pgp_key")
	_, err = k.c.keyops.GenerateRootInit(ctx, "", "keybase:op")
	wantStatus(t, err, 400, "keybase")
	st, err = k.c.keyops.GenerateRootInit(ctx, "", pub)
	if err != nil || st.PGPFingerprint == "" || st.OTP != "" {
		t.Fatalf("init with pgp %+v %v", st, err)
	}
	res = generate(t, k, st.Nonce, k.keys)
	if res.PGPFingerprint != st.PGPFingerprint {
		t.Fatalf("fingerprint %q vs %q", res.PGPFingerprint, st.PGPFingerprint)
	}
	plain, err := priv.DecryptBase64(res.EncodedToken)
	if err != nil || !k.tokenWorks(t, string(plain)) {
		t.Fatalf("pgp token %q %v", plain, err)
	}
}

func TestGenerateRootWrongSharesMakeNoToken(t *testing.T) {
	k := newKeyCore(t, 3, 2)
	other := newKeyCore(t, 3, 2)
	ctx := context.Background()
	st, err := k.c.keyops.GenerateRootInit(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Sorted(mapKeys(k.phys.Dump()))
	if _, err := k.c.keyops.GenerateRootUpdate(ctx, k.keys[0], st.Nonce); err != nil {
		t.Fatal(err)
	}
	_, err = k.c.keyops.GenerateRootUpdate(ctx, other.keys[1], st.Nonce)
	wantStatus(t, err, 400, "root generation aborted")
	if after := slices.Sorted(mapKeys(k.phys.Dump())); !slices.Equal(before, after) {
		t.Fatal("storage changed (a token was stored) after a failed quorum")
	}
	cur, _ := k.c.keyops.GenerateRootStatus(ctx)
	if !cur.Started || cur.Progress != 0 || cur.Nonce != st.Nonce {
		t.Fatalf("status after failure %+v", cur)
	}

	_, err = k.c.keyops.GenerateRootUpdate(ctx, k.keys[0], "nope")
	wantStatus(t, err, 400, "incorrect nonce supplied")
	if _, err := k.c.keyops.GenerateRootUpdate(ctx, k.keys[0], st.Nonce); err != nil {
		t.Fatal(err)
	}
	_, err = k.c.keyops.GenerateRootUpdate(ctx, k.keys[0], st.Nonce)
	wantStatus(t, err, 400, "already been provided")
	_, err = k.c.keyops.GenerateRootUpdate(ctx, []byte("x"), st.Nonce)
	wantStatus(t, err, 400, "shorter than minimum")
	_, err = k.c.keyops.GenerateRootInit(ctx, "", "")
	wantStatus(t, err, 400, "already in progress")

	// Cancel forgets the attempt and its share.
	if err := k.c.keyops.GenerateRootCancel(ctx); err != nil {
		t.Fatal(err)
	}
	cur, _ = k.c.keyops.GenerateRootStatus(ctx)
	if cur.Started || cur.Nonce != "" || cur.Progress != 0 || cur.PGPFingerprint != "" {
		t.Fatalf("status after cancel %+v", cur)
	}
	_, err = k.c.keyops.GenerateRootUpdate(ctx, k.keys[1], st.Nonce)
	wantStatus(t, err, 400, "no root generation in progress")
	st2, err := k.c.keyops.GenerateRootInit(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := k.c.keyops.GenerateRootUpdate(ctx, k.keys[1], st2.Nonce); err != nil || res.Complete || res.Progress != 1 {
		t.Fatalf("new attempt after cancel %+v %v", res, err)
	}
}

func TestGenerateRootNeedsUnsealedCore(t *testing.T) {
	k := newKeyCore(t, 1, 1)
	ctx := context.Background()
	st, err := k.c.keyops.GenerateRootInit(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := k.c.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := k.c.keyops.GenerateRootUpdate(ctx, k.keys[0], st.Nonce); !errors.Is(err, ErrSealed) {
		t.Fatalf("update while sealed: %v", err)
	}
	if err := k.c.keyops.GenerateRootCancel(ctx); !errors.Is(err, ErrSealed) {
		t.Fatalf("cancel while sealed: %v", err)
	}
	if err := k.unseal(k.keys); err != nil {
		t.Fatal(err)
	}
	if cur, _ := k.c.keyops.GenerateRootStatus(ctx); cur.Started {
		t.Fatal("attempt survived a seal")
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
