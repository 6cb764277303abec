package pgp

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// GenerateOTP returns n random base62 characters: a one-time pad for
// sys/generate-root, as long as the token it will mask (otp_length).
func GenerateOTP(n int) (string, error) {
	if n <= 0 {
		return "", fmt.Errorf("pgp: otp length must be positive, got %d", n)
	}
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("pgp: generate otp: %w", err)
		}
		for _, b := range buf {
			// 248 = 4*62: larger bytes would favour the first characters.
			if b >= 248 {
				continue
			}
			out = append(out, base62Alphabet[b%62])
			if len(out) == n {
				break
			}
		}
	}
	return string(out), nil
}

// EncodeToken masks a token with an OTP of the same length: the bytes are
// XORed and base64-encoded without padding, Vault's encoded_token format.
func EncodeToken(token, otp string) (string, error) {
	switch {
	case token == "":
		return "", errors.New("pgp: no token to encode")
	case otp == "":
		return "", errors.New("pgp: no otp given")
	case len(token) != len(otp):
		return "", fmt.Errorf("pgp: otp is %d characters, the token %d; they must be equal", len(otp), len(token))
	}
	return base64.RawStdEncoding.EncodeToString(xor([]byte(token), []byte(otp))), nil
}

// DecodeToken reverses EncodeToken: what `operator generate-root -decode`
// and sys/decode-token do. Padded base64 is accepted too.
func DecodeToken(encoded, otp string) (string, error) {
	encoded = strings.TrimRight(strings.TrimSpace(encoded), "=")
	otp = strings.TrimSpace(otp)
	if encoded == "" {
		return "", errors.New("pgp: no encoded token given")
	}
	if otp == "" {
		return "", errors.New("pgp: no otp given")
	}
	raw, err := base64.RawStdEncoding.DecodeString(encoded)
	if err != nil {
		return "", fmt.Errorf("pgp: encoded token is not base64: %w", err)
	}
	if len(raw) != len(otp) {
		return "", fmt.Errorf("pgp: otp is %d characters, the encoded token %d; use the otp of this attempt", len(otp), len(raw))
	}
	return string(xor(raw, []byte(otp))), nil
}

func xor(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}
