package http

import (
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/core/keyops"
	"github.com/strongbox/strongbox/internal/pgp"
)

// rootWorks reports whether tok is a live root token.
func (ks *keyServer) rootWorks(t *testing.T, tok string) bool {
	t.Helper()
	c, err := ks.client.Clone()
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(tok)
	s, err := c.Auth().Token().LookupSelf()
	if err != nil || s == nil {
		return false
	}
	pols, _ := s.TokenPolicies()
	return len(pols) == 1 && pols[0] == "root"
}

func TestGenerateRootWithOfficialClient(t *testing.T) {
	ks := newKeyServer(t, 3, 2)
	sys := ks.client.Sys()
	st, err := sys.GenerateRootStatus()
	if err != nil || st.Started || st.Required != 2 || st.OTPLength != keyops.GenerateRootOTPLength {
		t.Fatalf("idle status %+v %v", st, err)
	}
	// Vault ≥ 1.10: no otp and no pgp_key, the server makes the OTP.
	st, err = sys.GenerateRootInit("", "")
	if err != nil || !st.Started || st.Nonce == "" || len(st.OTP) != st.OTPLength {
		t.Fatalf("init %+v %v", st, err)
	}
	otp := st.OTP
	if again, _ := sys.GenerateRootStatus(); again.OTP != "" || again.Nonce != st.Nonce {
		t.Fatalf("status repeats the otp: %+v", again)
	}
	_, err = sys.GenerateRootUpdate(ks.keys[0], "wrong")
	wantAPIError(t, err, 400, "incorrect nonce supplied")
	up, err := sys.GenerateRootUpdate(ks.keys[0], st.Nonce)
	if err != nil || up.Complete || up.Progress != 1 || up.EncodedToken != "" {
		t.Fatalf("first share %+v %v", up, err)
	}
	up, err = sys.GenerateRootUpdate(ks.keys[2], st.Nonce)
	if err != nil || !up.Complete || up.EncodedToken == "" || up.EncodedRootToken != up.EncodedToken {
		t.Fatalf("final %+v %v", up, err)
	}
	tok, err := pgp.DecodeToken(up.EncodedToken, otp)
	if err != nil || !ks.rootWorks(t, tok) {
		t.Fatalf("decoded token %q %v", tok, err)
	}
	if tok == ks.root {
		t.Fatal("the initial root token came back")
	}

	// sys/decode-token does the same on the server, no token needed.
	dec, err := ks.client.Logical().Write("sys/decode-token", map[string]any{"encoded_token": up.EncodedToken, "otp": otp})
	if err != nil || dec.Data["token"] != tok {
		t.Fatalf("decode-token %v %v", dec, err)
	}
	_, err = ks.client.Logical().Write("sys/decode-token", map[string]any{"encoded_token": up.EncodedToken, "otp": "short"})
	wantAPIError(t, err, 400, "otp is 5 characters")

	// A client-made OTP of the advertised length (the CLI's -generate-otp).
	_, err = sys.GenerateRootInit("short", "")
	wantAPIError(t, err, 400, "OTP string is wrong length")
	otp, _ = pgp.GenerateOTP(st.OTPLength)
	st, err = sys.GenerateRootInit(otp, "")
	if err != nil || st.OTP != "" {
		t.Fatalf("init with otp %+v %v", st, err)
	}
	_, err = sys.GenerateRootInit(otp, "")
	wantAPIError(t, err, 400, "already in progress")
	for _, k := range ks.keys[1:] {
		if up, err = sys.GenerateRootUpdate(k, st.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	if tok, err := pgp.DecodeToken(up.EncodedToken, otp); err != nil || !ks.rootWorks(t, tok) {
		t.Fatalf("client otp token %q %v", tok, err)
	}
}

func TestGenerateRootPGPAndCancelWithOfficialClient(t *testing.T) {
	ks := newKeyServer(t, 3, 2)
	other := newKeyServer(t, 3, 2)
	sys := ks.client.Sys()
	pub, priv, err := pgp.NewKeyPair("op")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sys.GenerateRootInit("", pub)
	if err != nil || st.PGPFingerprint == "" || st.OTP != "" {
		t.Fatalf("init %+v %v", st, err)
	}
	// A foreign share breaks the quorum: error, progress reset, no token.
	if _, err := sys.GenerateRootUpdate(ks.keys[0], st.Nonce); err != nil {
		t.Fatal(err)
	}
	_, err = sys.GenerateRootUpdate(other.keys[0], st.Nonce)
	wantAPIError(t, err, 400, "root generation aborted")
	cur, _ := sys.GenerateRootStatus()
	if !cur.Started || cur.Progress != 0 || cur.PGPFingerprint != st.PGPFingerprint {
		t.Fatalf("after a bad quorum %+v", cur)
	}
	var up *api.GenerateRootStatusResponse
	for _, k := range ks.keys[:2] {
		if up, err = sys.GenerateRootUpdate(k, st.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := priv.DecryptBase64(up.EncodedToken)
	if err != nil || !ks.rootWorks(t, string(tok)) {
		t.Fatalf("pgp token %q %v", tok, err)
	}

	st, err = sys.GenerateRootInit("", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.GenerateRootUpdate(ks.keys[0], st.Nonce); err != nil {
		t.Fatal(err)
	}
	if err := sys.GenerateRootCancel(); err != nil {
		t.Fatal(err)
	}
	cur, _ = sys.GenerateRootStatus()
	if cur.Started || cur.Nonce != "" || cur.Progress != 0 {
		t.Fatalf("after cancel %+v", cur)
	}
	_, err = sys.GenerateRootUpdate(ks.keys[1], st.Nonce)
	wantAPIError(t, err, 400, "no root generation in progress")
	_, err = sys.GenerateRootInit("", "keybase:someone")
	if err == nil || !strings.Contains(err.Error(), "keybase") {
		t.Fatalf("keybase: %v", err)
	}
}
