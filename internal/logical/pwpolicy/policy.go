package pwpolicy

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"

	"github.com/hashicorp/hcl"
)

// Length bounds a policy may ask for (Vault's).
const (
	MinLength = 4
	MaxLength = 100
)

// ErrInvalid marks a policy that cannot be parsed or never yields a
// password (the caller's mistake: a 400).
var ErrInvalid = errors.New("invalid password policy")

// Rule is one "charset" rule: at least MinChars characters of Charset.
type Rule struct {
	Charset  []rune
	MinChars int
}

// Policy is a parsed password policy.
type Policy struct {
	Length int
	Rules  []Rule
	// union is every character a password may hold, deduplicated.
	union []rune
}

// Default is the policy Vault uses when none is named: 20 characters of
// upper and lower case letters, digits and a dash, at least one of each.
var Default = mustParse(`
length = 20
rule "charset" {
  charset = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 1
}
rule "charset" {
  charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  min-chars = 1
}
rule "charset" {
  charset = "0123456789"
  min-chars = 1
}
rule "charset" {
  charset = "-"
  min-chars = 1
}
`)

func mustParse(s string) *Policy {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// Parse reads a policy in Vault's HCL:
//
//	length = 20
//	rule "charset" { charset = "abc..." min-chars = 1 }
//
// It fails with ErrInvalid when the document is malformed, names an
// unknown rule or field, or can never be satisfied.
func Parse(doc string) (*Policy, error) {
	var raw map[string]any
	if err := hcl.Decode(&raw, doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	p := &Policy{}
	for key, v := range raw {
		switch key {
		case "length":
			n, ok := toInt(v)
			if !ok {
				return nil, fmt.Errorf("%w: length must be an integer", ErrInvalid)
			}
			p.Length = n
		case "rule":
			rules, err := parseRules(v)
			if err != nil {
				return nil, err
			}
			p.Rules = append(p.Rules, rules...)
		default:
			return nil, fmt.Errorf("%w: unknown key %q", ErrInvalid, key)
		}
	}
	if p.Length < MinLength || p.Length > MaxLength {
		return nil, fmt.Errorf("%w: length must be between %d and %d, got %d", ErrInvalid, MinLength, MaxLength, p.Length)
	}
	if len(p.Rules) == 0 {
		return nil, fmt.Errorf("%w: at least one charset rule is required", ErrInvalid)
	}
	seen := map[rune]bool{}
	minTotal := 0
	for _, r := range p.Rules {
		minTotal += r.MinChars
		for _, c := range r.Charset {
			if !seen[c] {
				seen[c] = true
				p.union = append(p.union, c)
			}
		}
	}
	if minTotal > p.Length {
		return nil, fmt.Errorf("%w: the rules' min-chars add up to %d, more than the length %d", ErrInvalid, minTotal, p.Length)
	}
	sort.Slice(p.union, func(i, j int) bool { return p.union[i] < p.union[j] })
	return p, nil
}

// parseRules reads the value of the "rule" key: a list of objects, each
// keyed by the rule's type.
func parseRules(v any) ([]Rule, error) {
	blocks, ok := v.([]map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: rule must be a block: rule \"charset\" { ... }", ErrInvalid)
	}
	var out []Rule
	for _, blk := range blocks {
		for typ, body := range blk {
			if typ != "charset" {
				return nil, fmt.Errorf("%w: unknown rule type %q", ErrInvalid, typ)
			}
			bodies, ok := body.([]map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: rule %q must be a block", ErrInvalid, typ)
			}
			for _, b := range bodies {
				r, err := parseCharset(b)
				if err != nil {
					return nil, err
				}
				out = append(out, r)
			}
		}
	}
	return out, nil
}

func parseCharset(b map[string]any) (Rule, error) {
	var r Rule
	for k, v := range b {
		switch k {
		case "charset":
			s, ok := v.(string)
			if !ok {
				return r, fmt.Errorf("%w: charset must be a string", ErrInvalid)
			}
			r.Charset = []rune(s)
		case "min-chars", "min_chars":
			n, ok := toInt(v)
			if !ok || n < 0 {
				return r, fmt.Errorf("%w: min-chars must be a non-negative integer", ErrInvalid)
			}
			r.MinChars = n
		default:
			return r, fmt.Errorf("%w: unknown charset field %q", ErrInvalid, k)
		}
	}
	if len(r.Charset) == 0 {
		return r, fmt.Errorf("%w: a charset rule needs a non-empty charset", ErrInvalid)
	}
	return r, nil
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		if n == float64(int(n)) {
			return int(n), true
		}
	}
	return 0, false
}

// Generate returns a password of the policy's length meeting every rule,
// drawn from crypto/rand.
func (p *Policy) Generate() (string, error) {
	return p.generate(rand.Reader)
}

func (p *Policy) generate(rnd io.Reader) (string, error) {
	out := make([]rune, 0, p.Length)
	// Each rule's minimum first, then the rest from every allowed
	// character, then a shuffle so the required ones sit anywhere.
	for _, r := range p.Rules {
		for i := 0; i < r.MinChars; i++ {
			c, err := pick(rnd, r.Charset)
			if err != nil {
				return "", err
			}
			out = append(out, c)
		}
	}
	for len(out) < p.Length {
		c, err := pick(rnd, p.union)
		if err != nil {
			return "", err
		}
		out = append(out, c)
	}
	for i := len(out) - 1; i > 0; i-- {
		j, err := randInt(rnd, i+1)
		if err != nil {
			return "", err
		}
		out[i], out[j] = out[j], out[i]
	}
	return string(out), nil
}

func pick(rnd io.Reader, set []rune) (rune, error) {
	i, err := randInt(rnd, len(set))
	if err != nil {
		return 0, err
	}
	return set[i], nil
}

func randInt(rnd io.Reader, n int) (int, error) {
	v, err := rand.Int(rnd, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("pwpolicy: random: %w", err)
	}
	return int(v.Int64()), nil
}
