package pwpolicy

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultPolicy(t *testing.T) {
	for i := 0; i < 200; i++ {
		pw, err := Default.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 20 {
			t.Fatalf("len %d: %q", len(pw), pw)
		}
		for _, set := range []string{"abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", "-"} {
			if !strings.ContainsAny(pw, set) {
				t.Fatalf("%q has none of %q", pw, set)
			}
		}
		if strings.Trim(pw, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			t.Fatalf("%q has a character outside the sets", pw)
		}
	}
}

func TestParse(t *testing.T) {
	ok := `length = 8
rule "charset" {
  charset = "ab"
  min-chars = 3
}
rule "charset" {
  charset = "XYZ"
  min-chars = 5
}`
	p, err := Parse(ok)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		pw, err := p.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 8 {
			t.Fatalf("bad %q", pw)
		}
		lower, upper := 0, 0
		for _, c := range pw {
			switch {
			case strings.ContainsRune("ab", c):
				lower++
			case strings.ContainsRune("XYZ", c):
				upper++
			default:
				t.Fatalf("%q: unexpected %q", pw, c)
			}
		}
		if lower < 3 || upper < 5 {
			t.Fatalf("%q breaks the rules", pw)
		}
	}
	bad := map[string]string{
		"syntax":        `length = `,
		"too short":     `length = 3` + "\n" + `rule "charset" { charset = "a" }`,
		"too long":      `length = 101` + "\n" + `rule "charset" { charset = "a" }`,
		"no rules":      `length = 10`,
		"unknown rule":  `length = 10` + "\n" + `rule "digits" { charset = "a" }`,
		"unknown key":   `length = 10` + "\n" + `foo = 1` + "\n" + `rule "charset" { charset = "a" }`,
		"empty charset": `length = 10` + "\n" + `rule "charset" { charset = "" }`,
		"min too big":   `length = 4` + "\n" + `rule "charset" { charset = "a" min-chars = 5 }`,
	}
	for name, doc := range bad {
		if _, err := Parse(doc); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`length = 20` + "\n" + `rule "charset" { charset = "abc" min-chars = 1 }`)
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := Parse(doc)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		pw, err := p.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if n := len([]rune(pw)); n != p.Length {
			t.Fatalf("length %d, want %d", n, p.Length)
		}
	})
}
