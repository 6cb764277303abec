package shamir

// Arithmetic in GF(2^8) modulo the AES polynomial 0x11b.
//
// No lookup tables: indexing a table by a secret byte leaks it through the
// cache, so multiplication is done bit by bit with masks instead of branches.

// add returns a+b, which in characteristic 2 is XOR (and equals a-b).
func add(a, b uint8) uint8 { return a ^ b }

// mult returns a*b: shift-and-add over the eight bits of b, reducing a by the
// field polynomial whenever it overflows. Always eight rounds, no branches.
func mult(a, b uint8) uint8 {
	var product uint8
	for range 8 {
		// 0xff when the low bit of b is set, 0x00 otherwise.
		product ^= a & -(b & 1)
		// Multiply a by x; fold the dropped x^8 back in as 0x1b.
		carry := -(a >> 7)
		a = (a << 1) ^ (0x1b & carry)
		b >>= 1
	}
	return product
}

// inverse returns a^-1, computed as a^254 (the multiplicative group has order
// 255). inverse(0) is 0, which keeps div total; Combine never divides by zero
// because it rejects duplicate x coordinates.
func inverse(a uint8) uint8 {
	// 254 = 0b11111110: square-and-multiply with a fixed exponent, so the
	// sequence of operations is the same for every a.
	result := uint8(1)
	for bit := 7; bit >= 0; bit-- {
		result = mult(result, result)
		if (254>>bit)&1 == 1 { // depends on the constant exponent only
			result = mult(result, a)
		}
	}
	return result
}

// div returns a/b; div(a, 0) is 0.
func div(a, b uint8) uint8 { return mult(a, inverse(b)) }

// evaluate returns the polynomial with coefficients coeffs (constant term
// first) at x, by Horner's rule.
func evaluate(coeffs []uint8, x uint8) uint8 {
	var y uint8
	for i := len(coeffs) - 1; i >= 0; i-- {
		y = add(mult(y, x), coeffs[i])
	}
	return y
}

// lagrangeAtZero returns the Lagrange basis polynomials of the distinct
// points xs, evaluated at 0: f(0) = sum_i ys[i] * basis[i] for the unique
// polynomial of degree len(xs)-1 through (xs[i], ys[i]). The basis depends
// on the x coordinates only, so Combine computes it once for all bytes.
func lagrangeAtZero(xs []uint8) []uint8 {
	basis := make([]uint8, len(xs))
	for i := range xs {
		// basis_i(0) = prod_{j != i} (0 - x_j) / (x_i - x_j); minus is XOR.
		b := uint8(1)
		for j := range xs {
			if i != j {
				b = mult(b, div(xs[j], add(xs[i], xs[j])))
			}
		}
		basis[i] = b
	}
	return basis
}

// dot returns sum_i ys[i] * basis[i]: one interpolated byte.
func dot(ys, basis []uint8) uint8 {
	var result uint8
	for i := range ys {
		result = add(result, mult(ys[i], basis[i]))
	}
	return result
}
