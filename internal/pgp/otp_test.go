package pgp

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestOTPRoundTrip(t *testing.T) {
	token := "hvs." + strings.Repeat("A1b2", 8) + "z"
	otp, err := GenerateOTP(len(token))
	if err != nil {
		t.Fatal(err)
	}
	if len(otp) != len(token) || strings.Trim(otp, base62Alphabet) != "" {
		t.Fatalf("otp %q: want %d base62 characters", otp, len(token))
	}
	enc, err := EncodeToken(token, otp)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(enc, "=") {
		t.Errorf("encoded token %q is padded; Vault's is not", enc)
	}
	for _, in := range []string{enc, enc + "\n", " " + enc + "=="} {
		got, err := DecodeToken(in, otp)
		if err != nil || got != token {
			t.Fatalf("decode %q: %q %v", in, got, err)
		}
	}
	other, _ := GenerateOTP(len(token))
	if got, err := DecodeToken(enc, other); err == nil && got == token {
		t.Fatal("a different otp decoded the token")
	}
}

// TestVaultVector checks the format against a value computed by hand the
// way Vault's roottoken.EncodeToken does it (XOR, unpadded std base64).
func TestVaultVector(t *testing.T) {
	enc, err := EncodeToken("ab", "AB")
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.RawStdEncoding.EncodeToString([]byte{'a' ^ 'A', 'b' ^ 'B'}); enc != want {
		t.Fatalf("got %q want %q", enc, want)
	}
}

func TestOTPErrors(t *testing.T) {
	if _, err := GenerateOTP(0); err == nil {
		t.Error("zero-length otp")
	}
	for _, tc := range []struct{ token, otp string }{{"", "a"}, {"a", ""}, {"abc", "ab"}} {
		if _, err := EncodeToken(tc.token, tc.otp); err == nil {
			t.Errorf("EncodeToken(%q, %q) succeeded", tc.token, tc.otp)
		}
	}
	for _, tc := range []struct{ enc, otp, contains string }{
		{"", "x", "no encoded token"},
		{"YWJj", "", "no otp"},
		{"!!!", "abc", "not base64"},
		{"YWJj", "ab", "otp is 2 characters"},
	} {
		if _, err := DecodeToken(tc.enc, tc.otp); err == nil || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("DecodeToken(%q, %q): %v, want %q", tc.enc, tc.otp, err, tc.contains)
		}
	}
}

func FuzzDecodeToken(f *testing.F) {
	f.Add("Mzk", "ab")
	f.Add("", "")
	f.Add("====", "abc")
	f.Fuzz(func(t *testing.T, enc, otp string) {
		tok, err := DecodeToken(enc, otp)
		if err != nil {
			return
		}
		again, err := EncodeToken(tok, strings.TrimSpace(otp))
		if err != nil {
			t.Fatalf("decoded %q but cannot re-encode: %v", tok, err)
		}
		if _, err := DecodeToken(again, otp); err != nil {
			t.Fatal(err)
		}
	})
}
