package shamir

import (
	"bytes"
	"testing"
)

// FuzzCombine feeds Combine shares cut from arbitrary bytes: it must never
// panic, and what it accepts it must combine the same way in any order.
func FuzzCombine(f *testing.F) {
	f.Add(uint8(4), []byte{0x47, 0x01, 0x7f, 0x01, 0x48, 0x02, 0xe4, 0x02})
	f.Add(uint8(2), []byte{0x00, 0x01, 0x09, 0x02, 0x08, 0x03})
	f.Add(uint8(2), []byte{0x00, 0x00, 0x09, 0x00}) // duplicate x
	f.Add(uint8(3), []byte{0x01, 0x02, 0x03, 0x04}) // ragged last share
	f.Add(uint8(1), []byte{0x01, 0x02})
	f.Add(uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, size uint8, data []byte) {
		var parts [][]byte
		if size == 0 {
			parts = [][]byte{data}
		} else {
			for len(data) > 0 {
				n := min(int(size), len(data))
				parts = append(parts, data[:n])
				data = data[n:]
			}
		}
		got, err := Combine(parts)
		if err != nil {
			if got != nil {
				t.Fatalf("Combine returned %x with error %v", got, err)
			}
			return
		}
		if len(got) != len(parts[0])-1 {
			t.Fatalf("secret is %d bytes from %d-byte shares", len(got), len(parts[0]))
		}
		again, err := Combine(reversed(parts))
		if err != nil {
			t.Fatalf("reversed order failed: %v", err)
		}
		if !bytes.Equal(got, again) {
			t.Fatalf("order changed the result: %x vs %x", got, again)
		}
	})
}

// FuzzSplitCombine checks that any valid split recombines from any
// threshold-sized window of its shares, and that invalid parameters error.
func FuzzSplitCombine(f *testing.F) {
	f.Add([]byte("root key"), uint8(5), uint8(3))
	f.Add([]byte{0}, uint8(2), uint8(2))
	f.Add([]byte{0xff, 0x00}, uint8(255), uint8(255))
	f.Add([]byte("x"), uint8(1), uint8(1))
	f.Add([]byte{}, uint8(3), uint8(2))
	f.Add([]byte("s"), uint8(2), uint8(3))
	f.Fuzz(func(t *testing.T, secret []byte, parts, threshold uint8) {
		shares, err := Split(secret, int(parts), int(threshold))
		valid := len(secret) > 0 && threshold >= 2 && parts >= threshold
		if !valid {
			if err == nil {
				t.Fatalf("Split(%d bytes, %d, %d) accepted invalid parameters", len(secret), parts, threshold)
			}
			return
		}
		if err != nil {
			t.Fatalf("Split(%d bytes, %d, %d): %v", len(secret), parts, threshold, err)
		}
		checkShareFormat(t, shares, len(secret), int(parts))
		t0 := int(threshold)
		for start := 0; start+t0 <= len(shares); start += max(1, len(shares)/4) {
			got, err := Combine(shares[start : start+t0])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, secret) {
				t.Fatalf("shares[%d:%d] combined to %x, want %x", start, start+t0, got, secret)
			}
		}
	})
}
