package shamir

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// Errors returned by Split for parameters it cannot honour.
var (
	// ErrEmptySecret: there is nothing to split.
	ErrEmptySecret = errors.New("cannot split an empty secret")
	// ErrInvalidThreshold: threshold is below 2 or above 255. A 1-of-1 split
	// is not sharing; callers that allow it store the secret itself.
	ErrInvalidThreshold = errors.New("threshold must be between 2 and 255")
	// ErrInvalidParts: parts is below threshold or above 255.
	ErrInvalidParts = errors.New("parts must be between threshold and 255")
)

// Errors returned by Combine for shares that cannot be combined. The
// messages are Vault's, since they reach clients through sys/unseal.
var (
	// ErrTooFewParts: at least two shares are needed.
	ErrTooFewParts = errors.New("less than two parts cannot be used to reconstruct the secret")
	// ErrPartLengthMismatch: shares of one secret all have the same length.
	ErrPartLengthMismatch = errors.New("all parts must be the same length")
	// ErrPartTooShort: a share holds at least one y byte and its x byte.
	ErrPartTooShort = errors.New("parts must be at least two bytes")
	// ErrDuplicatePart: two shares have the same x coordinate.
	ErrDuplicatePart = errors.New("duplicate part detected")
)

// maxParts is the number of non-zero x coordinates in GF(2^8).
const maxParts = 255

// Split divides secret into parts shares, any threshold of which recombine
// it with Combine; fewer reveal nothing about it. Each share is
// len(secret)+1 bytes. It requires 2 <= threshold <= parts <= 255 and a
// non-empty secret; randomness comes from crypto/rand.
func Split(secret []byte, parts, threshold int) ([][]byte, error) {
	return split(rand.Reader, secret, parts, threshold)
}

// split is Split with the randomness source as a parameter.
func split(r io.Reader, secret []byte, parts, threshold int) ([][]byte, error) {
	switch {
	case len(secret) == 0:
		return nil, ErrEmptySecret
	case threshold < 2 || threshold > maxParts:
		return nil, fmt.Errorf("shamir: threshold %d: %w", threshold, ErrInvalidThreshold)
	case parts < threshold || parts > maxParts:
		return nil, fmt.Errorf("shamir: %d parts for threshold %d: %w", parts, threshold, ErrInvalidParts)
	}

	src := &randomBytes{r: r}
	xs, err := randomXCoordinates(src, parts)
	if err != nil {
		return nil, err
	}

	out := make([][]byte, parts)
	for i := range out {
		out[i] = make([]byte, len(secret)+1)
		out[i][len(secret)] = xs[i]
	}

	// One polynomial per secret byte: the byte is the constant term, the
	// other threshold-1 coefficients are uniformly random (a zero leading
	// coefficient is allowed; excluding it would bias the shares).
	coeffs := make([]byte, threshold)
	defer clear(coeffs)
	for idx, s := range secret {
		coeffs[0] = s
		if err := src.fill(coeffs[1:]); err != nil {
			return nil, err
		}
		for i, x := range xs {
			out[i][idx] = evaluate(coeffs, x)
		}
	}
	return out, nil
}

// Combine recovers the secret from shares made by Split. Given fewer shares
// than the threshold, or shares of different secrets, it returns a wrong
// value without error: shares carry no integrity check, so callers verify the
// result (the seal layer does, by decrypting the keyring with it).
func Combine(parts [][]byte) ([]byte, error) {
	if len(parts) < 2 {
		return nil, ErrTooFewParts
	}
	// Checked in Vault's order, so the same bad input gets the same message.
	n := len(parts[0])
	if n < 2 {
		return nil, ErrPartTooShort
	}
	for _, p := range parts {
		if len(p) != n {
			return nil, ErrPartLengthMismatch
		}
	}

	xs := make([]uint8, len(parts))
	var seen [256]bool
	for i, p := range parts {
		x := p[n-1]
		if seen[x] {
			return nil, ErrDuplicatePart
		}
		seen[x] = true
		xs[i] = x
	}

	basis := lagrangeAtZero(xs)
	secret := make([]byte, n-1)
	ys := make([]uint8, len(parts))
	defer clear(ys)
	for idx := range secret {
		for i, p := range parts {
			ys[i] = p[idx]
		}
		secret[idx] = dot(ys, basis)
	}
	return secret, nil
}

// randomXCoordinates returns n distinct values from 1..255 in random order:
// the head of a Fisher-Yates shuffle.
func randomXCoordinates(src *randomBytes, n int) ([]uint8, error) {
	var pool [maxParts]uint8
	for i := range pool {
		pool[i] = uint8(i + 1)
	}
	for i := 0; i < n; i++ {
		j, err := src.intn(maxParts - i)
		if err != nil {
			return nil, err
		}
		pool[i], pool[i+j] = pool[i+j], pool[i]
	}
	return append([]uint8(nil), pool[:n]...), nil
}

// randomBytes hands out bytes from r, read in chunks.
type randomBytes struct {
	r   io.Reader
	buf [64]byte
	pos int
	n   int
}

// fill fills p with random bytes.
func (s *randomBytes) fill(p []byte) error {
	for len(p) > 0 {
		if s.pos == s.n {
			if err := s.refill(); err != nil {
				return err
			}
		}
		c := copy(p, s.buf[s.pos:s.n])
		clear(s.buf[s.pos : s.pos+c])
		s.pos += c
		p = p[c:]
	}
	return nil
}

// intn returns a uniform value in [0, n) for 1 <= n <= 256, rejecting bytes
// that would make the modulo biased.
func (s *randomBytes) intn(n int) (int, error) {
	limit := 256 - 256%n
	var b [1]byte
	for {
		if err := s.fill(b[:]); err != nil {
			return 0, err
		}
		if int(b[0]) < limit {
			return int(b[0]) % n, nil
		}
	}
}

func (s *randomBytes) refill() error {
	if _, err := io.ReadFull(s.r, s.buf[:]); err != nil {
		return fmt.Errorf("shamir: read randomness: %w", err)
	}
	s.pos, s.n = 0, len(s.buf)
	return nil
}
