package shamir

import "testing"

// refMult multiplies the schoolbook way, independently of mult: carry-less
// product into 16 bits, then long division by 0x11b.
func refMult(a, b uint8) uint8 {
	var p uint16
	for i := range 8 {
		if b&(1<<i) != 0 {
			p ^= uint16(a) << i
		}
	}
	for bit := 15; bit >= 8; bit-- {
		if p&(1<<bit) != 0 {
			p ^= 0x11b << (bit - 8)
		}
	}
	return uint8(p)
}

func TestMultKnownValues(t *testing.T) {
	// Values from FIPS-197 §4.2 and the AES S-box construction.
	tests := []struct{ a, b, want uint8 }{
		{0x53, 0xca, 0x01},
		{0x57, 0x83, 0xc1},
		{0x57, 0x13, 0xfe},
		{0x57, 0x02, 0xae},
		{0x57, 0x04, 0x47},
		{0x57, 0x08, 0x8e},
		{0x57, 0x10, 0x07},
		{0x80, 0x02, 0x1b},
		{0x00, 0xff, 0x00},
		{0x01, 0xff, 0xff},
	}
	for _, tt := range tests {
		if got := mult(tt.a, tt.b); got != tt.want {
			t.Errorf("mult(%#02x, %#02x) = %#02x, want %#02x", tt.a, tt.b, got, tt.want)
		}
		if got := mult(tt.b, tt.a); got != tt.want {
			t.Errorf("mult(%#02x, %#02x) = %#02x, want %#02x", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestMultMatchesReferenceForAllPairs(t *testing.T) {
	for a := range 256 {
		for b := range 256 {
			if got, want := mult(uint8(a), uint8(b)), refMult(uint8(a), uint8(b)); got != want {
				t.Fatalf("mult(%#02x, %#02x) = %#02x, reference says %#02x", a, b, got, want)
			}
		}
	}
}

func TestInverseKnownValues(t *testing.T) {
	tests := []struct{ a, want uint8 }{
		{0x00, 0x00}, // by convention, keeps div total
		{0x01, 0x01},
		{0x02, 0x8d},
		{0x03, 0xf6},
		{0x53, 0xca},
		{0xca, 0x53},
	}
	for _, tt := range tests {
		if got := inverse(tt.a); got != tt.want {
			t.Errorf("inverse(%#02x) = %#02x, want %#02x", tt.a, got, tt.want)
		}
	}
	for a := 1; a < 256; a++ {
		if p := mult(uint8(a), inverse(uint8(a))); p != 1 {
			t.Fatalf("a * inverse(a) = %#02x for a = %#02x, want 1", p, a)
		}
	}
}

func TestDiv(t *testing.T) {
	tests := []struct{ a, b, want uint8 }{
		{0x01, 0x53, 0xca},
		{0xc1, 0x83, 0x57},
		{0xc1, 0x57, 0x83},
		{0x00, 0x57, 0x00},
		{0x57, 0x00, 0x00},
	}
	for _, tt := range tests {
		if got := div(tt.a, tt.b); got != tt.want {
			t.Errorf("div(%#02x, %#02x) = %#02x, want %#02x", tt.a, tt.b, got, tt.want)
		}
	}
	for a := range 256 {
		for b := 1; b < 256; b++ {
			if got := mult(div(uint8(a), uint8(b)), uint8(b)); got != uint8(a) {
				t.Fatalf("div(%#02x, %#02x) * %#02x = %#02x", a, b, b, got)
			}
		}
	}
}

// TestLogExpTables builds the classic log/exp tables from the generator 0x03
// and checks mult against them: 0x03 generates all 255 non-zero elements, and
// a*b = exp[(log a + log b) mod 255].
func TestLogExpTables(t *testing.T) {
	var exp [255]uint8
	var log [256]int
	seen := map[uint8]bool{}
	v := uint8(1)
	for i := range 255 {
		if seen[v] {
			t.Fatalf("0x03^%d = %#02x repeats: 0x03 should generate the group", i, v)
		}
		seen[v] = true
		exp[i], log[v] = v, i
		v = mult(v, 0x03)
	}
	if v != 1 {
		t.Fatalf("0x03^255 = %#02x, want 1", v)
	}
	// Spot values of the standard tables.
	if exp[1] != 0x03 || exp[2] != 0x05 || exp[3] != 0x0f || exp[254] != 0xf6 {
		t.Errorf("exp table head/tail = %#02x %#02x %#02x ... %#02x", exp[1], exp[2], exp[3], exp[254])
	}
	for a := 1; a < 256; a++ {
		for b := 1; b < 256; b++ {
			if got, want := mult(uint8(a), uint8(b)), exp[(log[a]+log[b])%255]; got != want {
				t.Fatalf("mult(%#02x, %#02x) = %#02x, tables say %#02x", a, b, got, want)
			}
		}
	}
}

func TestEvaluate(t *testing.T) {
	// f(x) = 0x01 + 0x02 x + 0x03 x^2, worked by hand:
	// x=2: 1 ^ 4 ^ 3*4      = 1 ^ 0x04 ^ 0x0c = 0x09
	// x=3: 1 ^ 6 ^ 3*(3*3)  = 1 ^ 0x06 ^ 3*0x05 = 1 ^ 0x06 ^ 0x0f = 0x08
	coeffs := []uint8{0x01, 0x02, 0x03}
	tests := []struct{ x, want uint8 }{
		{0x00, 0x01}, {0x01, 0x00}, {0x02, 0x09}, {0x03, 0x08}, {0x04, 0x39}, {0x05, 0x38},
	}
	for _, tt := range tests {
		if got := evaluate(coeffs, tt.x); got != tt.want {
			t.Errorf("f(%#02x) = %#02x, want %#02x", tt.x, got, tt.want)
		}
	}
}

func interpolateAtZero(xs, ys []uint8) uint8 { return dot(ys, lagrangeAtZero(xs)) }

func TestInterpolateAtZero(t *testing.T) {
	// Points of f(x) = 0x01 + 0x02 x + 0x03 x^2 from TestEvaluate.
	if got := interpolateAtZero([]uint8{1, 2, 3}, []uint8{0x00, 0x09, 0x08}); got != 0x01 {
		t.Errorf("f(0) from x=1,2,3 = %#02x, want 0x01", got)
	}
	if got := interpolateAtZero([]uint8{5, 2, 4}, []uint8{0x38, 0x09, 0x39}); got != 0x01 {
		t.Errorf("f(0) from x=5,2,4 = %#02x, want 0x01", got)
	}
	// A line through (1, 0x47) and (2, 0x48): 0x42 + 0x05 x.
	if got := interpolateAtZero([]uint8{1, 2}, []uint8{0x47, 0x48}); got != 0x42 {
		t.Errorf("f(0) of the line = %#02x, want 0x42", got)
	}
}
