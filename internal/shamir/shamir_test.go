package shamir

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"testing"
)

// subsets calls fn with every subset of parts of size k or more.
func subsets(parts [][]byte, k int, fn func([][]byte)) {
	n := len(parts)
	for mask := 0; mask < 1<<n; mask++ {
		var sub [][]byte
		for i := range n {
			if mask&(1<<i) != 0 {
				sub = append(sub, parts[i])
			}
		}
		if len(sub) >= k {
			fn(sub)
		}
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCombineKnownVectors(t *testing.T) {
	tests := []struct {
		name      string
		secret    []byte
		threshold int
		shares    []string
	}{
		{
			// Worked by hand, one polynomial per byte, x = 1, 2, 3:
			// 0x42 + 0x05x -> 47 48 4d;  0x00 + 0x01x -> 01 02 03;
			// 0xff + 0x80x -> 7f e4 64   (0x80*2 = 0x1b, 0x80*3 = 0x9b).
			name:      "2-of-3 by hand",
			secret:    []byte{0x42, 0x00, 0xff},
			threshold: 2,
			shares:    []string{"47017f01", "4802e402", "4d036403"},
		},
		{
			// f(x) = 0x01 + 0x02x + 0x03x^2 at x = 1..5 (see TestEvaluate).
			name:      "3-of-5 by hand",
			secret:    []byte{0x01},
			threshold: 3,
			shares:    []string{"0001", "0902", "0803", "3904", "3805"},
		},
		{
			// Made by HashiCorp Vault v1.21.4's shamir.Split(secret, 5, 3):
			// its unseal keys must work here unchanged.
			name:      "3-of-5 from Vault",
			secret:    []byte("strongbox<->vault"),
			threshold: 3,
			shares: []string{
				"58f4964adaea9b861c70ed021982af5c4883",
				"f75f83d729d63d0a4d28819f457af599bf89",
				"1b40586e58a2db1ab29ad8577b36e5397e67",
				"28fc78a7ef34bfb51cac10fb85d702e12aaf",
				"afdca89b7a77752da3714b1c4756a2e1a2f2",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var parts [][]byte
			for _, s := range tt.shares {
				parts = append(parts, mustHex(t, s))
			}
			count := 0
			subsets(parts, tt.threshold, func(sub [][]byte) {
				count++
				got, err := Combine(sub)
				if err != nil {
					t.Fatalf("Combine(%d shares): %v", len(sub), err)
				}
				if !bytes.Equal(got, tt.secret) {
					t.Fatalf("Combine(%x) = %x, want %x", sub, got, tt.secret)
				}
			})
			if count == 0 {
				t.Fatal("no subsets tried")
			}
		})
	}
}

func TestSplitRejectsBadParameters(t *testing.T) {
	tests := []struct {
		name             string
		secret           []byte
		parts, threshold int
		want             error
	}{
		{"empty secret", nil, 3, 2, ErrEmptySecret},
		{"1-of-1 is the caller's job", []byte("s"), 1, 1, ErrInvalidThreshold},
		{"threshold 1", []byte("s"), 3, 1, ErrInvalidThreshold},
		{"threshold 0", []byte("s"), 3, 0, ErrInvalidThreshold},
		{"negative threshold", []byte("s"), 3, -2, ErrInvalidThreshold},
		{"threshold above 255", []byte("s"), 256, 256, ErrInvalidThreshold},
		{"parts below threshold", []byte("s"), 2, 3, ErrInvalidParts},
		{"parts above 255", []byte("s"), 256, 2, ErrInvalidParts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Split(tt.secret, tt.parts, tt.threshold)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Split error = %v, want %v", err, tt.want)
			}
			if out != nil {
				t.Fatalf("Split returned shares with an error: %x", out)
			}
		})
	}
}

// checkShareFormat asserts Vault's layout: len(secret)+1 bytes, the last one
// a distinct, non-zero x coordinate.
func checkShareFormat(t *testing.T, parts [][]byte, secretLen, n int) {
	t.Helper()
	if len(parts) != n {
		t.Fatalf("got %d shares, want %d", len(parts), n)
	}
	seen := map[byte]bool{}
	for _, p := range parts {
		if len(p) != secretLen+1 {
			t.Fatalf("share length %d, want %d", len(p), secretLen+1)
		}
		x := p[secretLen]
		if x == 0 {
			t.Fatal("share has x coordinate 0, which would hold the secret itself")
		}
		if seen[x] {
			t.Fatalf("x coordinate %#02x used twice", x)
		}
		seen[x] = true
	}
}

func TestSplitCombineRoundTrip(t *testing.T) {
	secret := []byte("the root key is 32 bytes long!!!")
	tests := []struct{ threshold, parts int }{
		{2, 2}, {2, 3}, {3, 3}, {3, 5}, {5, 5}, {4, 10}, {10, 20},
		{2, 255}, {128, 255}, {255, 255},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d-of-%d", tt.threshold, tt.parts), func(t *testing.T) {
			parts, err := Split(secret, tt.parts, tt.threshold)
			if err != nil {
				t.Fatal(err)
			}
			checkShareFormat(t, parts, len(secret), tt.parts)
			for _, sub := range [][][]byte{
				parts[:tt.threshold],           // first t
				parts[tt.parts-tt.threshold:],  // last t
				parts,                          // all of them
				reversed(parts[:tt.threshold]), // order does not matter
			} {
				got, err := Combine(sub)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, secret) {
					t.Fatalf("Combine(%d shares) = %q, want %q", len(sub), got, secret)
				}
			}
		})
	}
}

func reversed(parts [][]byte) [][]byte {
	out := make([][]byte, len(parts))
	for i, p := range parts {
		out[len(parts)-1-i] = p
	}
	return out
}

func TestEveryThresholdSubsetRecombines(t *testing.T) {
	secret := []byte{0x00, 0x01, 0x7f, 0x80, 0xff, 's', 'b'}
	for _, tt := range []struct{ threshold, parts int }{{2, 4}, {3, 5}, {4, 6}, {5, 8}} {
		t.Run(fmt.Sprintf("%d-of-%d", tt.threshold, tt.parts), func(t *testing.T) {
			parts, err := Split(secret, tt.parts, tt.threshold)
			if err != nil {
				t.Fatal(err)
			}
			subsets(parts, tt.threshold, func(sub [][]byte) {
				got, err := Combine(sub)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, secret) {
					t.Fatalf("Combine(%x) = %x, want %x", sub, got, secret)
				}
			})
		})
	}
}

func TestFewerThanThresholdDoNotRecover(t *testing.T) {
	// With t-1 shares the interpolated value is uniform and independent of
	// the secret. A 32-byte secret coming out right by chance has
	// probability 2^-256 per trial; a single byte, 1/256.
	secret := bytes.Repeat([]byte{0xa5}, 32)
	for _, threshold := range []int{3, 4, 7} {
		for trial := range 200 {
			parts, err := Split(secret, threshold+1, threshold)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Combine(parts[:threshold-1])
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(got, secret) {
				t.Fatalf("threshold %d trial %d: %d shares recovered the secret", threshold, trial, threshold-1)
			}
		}
	}

	// One byte: count how often t-1 shares hit it. Expected 1000/256 ≈ 4;
	// if shares leaked the secret this would be near 1000.
	hits := 0
	for range 1000 {
		parts, err := Split([]byte{0x5a}, 3, 3)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Combine(parts[:2])
		if err != nil {
			t.Fatal(err)
		}
		if got[0] == 0x5a {
			hits++
		}
	}
	if hits > 40 {
		t.Fatalf("2 of a 3-of-3 split gave the secret %d times in 1000", hits)
	}

	// A 2-of-n split cannot be combined from one share at all.
	parts, err := Split(secret, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Combine(parts[:1]); !errors.Is(err, ErrTooFewParts) {
		t.Fatalf("Combine(1 share) error = %v, want ErrTooFewParts", err)
	}
}

func TestSplitUsesRandomXCoordinates(t *testing.T) {
	xs := map[byte]bool{}
	for range 50 {
		parts, err := Split([]byte("s"), 2, 2)
		if err != nil {
			t.Fatal(err)
		}
		xs[parts[0][1]] = true
	}
	// Fixed coordinates would give one value; 50 uniform draws from 255
	// give fewer than 10 distinct values with negligible probability.
	if len(xs) < 10 {
		t.Fatalf("only %d distinct x coordinates in 50 splits", len(xs))
	}
}

func TestCombineRejectsBadParts(t *testing.T) {
	tests := []struct {
		name  string
		parts [][]byte
		want  error
	}{
		{"nil", nil, ErrTooFewParts},
		{"one part", [][]byte{{1, 2}}, ErrTooFewParts},
		{"different lengths", [][]byte{{1, 2, 3}, {1, 2}}, ErrPartLengthMismatch},
		{"different lengths later", [][]byte{{1, 2}, {1, 3}, {1, 2, 4}}, ErrPartLengthMismatch},
		{"empty parts", [][]byte{{}, {}}, ErrPartTooShort},
		{"x only", [][]byte{{1}, {2}}, ErrPartTooShort},
		{"short first part", [][]byte{{1}, {1, 2}}, ErrPartTooShort},
		{"duplicate x", [][]byte{{1, 9}, {2, 9}}, ErrDuplicatePart},
		{"duplicate x later", [][]byte{{1, 1}, {2, 2}, {3, 1}}, ErrDuplicatePart},
		{"same share twice", [][]byte{{7, 7, 5}, {7, 7, 5}}, ErrDuplicatePart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Combine(tt.parts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Combine error = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Fatalf("Combine returned %x with an error", got)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestSplitReportsRandomnessFailure(t *testing.T) {
	if _, err := split(failingReader{}, []byte("secret"), 3, 2); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("split error = %v, want the reader's error", err)
	}
}

func TestRandomXCoordinatesAreAPermutation(t *testing.T) {
	// Asking for all 255 must yield each non-zero byte exactly once.
	xs, err := randomXCoordinates(&randomBytes{r: bytes.NewReader(bytes.Repeat([]byte{0xee, 0x03, 0x91}, 4096))}, 255)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint8]bool{}
	for _, x := range xs {
		if x == 0 || seen[x] {
			t.Fatalf("x coordinate %#02x is zero or repeated", x)
		}
		seen[x] = true
	}
	if len(seen) != 255 {
		t.Fatalf("%d distinct coordinates, want 255", len(seen))
	}
}
