package format

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	cases := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{45 * time.Second, "45s"},
		{time.Minute, "1m"},
		{90 * time.Minute, "1h30m"},
		{768 * time.Hour, "768h"},
		{time.Hour + time.Second, "1h1s"},
	}
	for _, c := range cases {
		if got := HumanDuration(c.in); got != c.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestHumanDurationValue(t *testing.T) {
	cases := []struct {
		in   any
		want any
	}{
		{2764800, "768h"},
		{int64(3600), "1h"},
		{json.Number("60"), "1m"},
		{json.Number("not-a-number"), json.Number("not-a-number")},
		{"1h", "1h"},
		{nil, nil},
	}
	for _, c := range cases {
		if got := HumanDurationValue(c.in); got != c.want {
			t.Errorf("HumanDurationValue(%#v) = %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestLooksLikeDuration(t *testing.T) {
	for _, k := range []string{"ttl", "token_ttl", "period", "token_period", "duration", "lease_duration", "lease_max", "ttl_max"} {
		if !LooksLikeDuration(k) {
			t.Errorf("LooksLikeDuration(%q) = false", k)
		}
	}
	for _, k := range []string{"ttlx", "version", "creation_time", "num_uses"} {
		if LooksLikeDuration(k) {
			t.Errorf("LooksLikeDuration(%q) = true", k)
		}
	}
}

func TestPadEqualSigns(t *testing.T) {
	cases := []struct {
		header string
		total  int
		want   string
	}{
		// The widths Vault's kv commands produce.
		{"Secret Path", len("secret/data/creds"), "== Secret Path =="},
		{"Data", len("passcode") + 9, "====== Data ======"},
		{"Metadata", len("custom_metadata") + 9, "======= Metadata ======="},
		{"Too Long Header", 3, "== Too Long Header =="},
	}
	for _, c := range cases {
		if got := PadEqualSigns(c.header, c.total); got != c.want {
			t.Errorf("PadEqualSigns(%q, %d) = %q, want %q", c.header, c.total, got, c.want)
		}
	}
	if got := HeaderForMap("Data", map[string]any{"admin": 1}); got != "==== Data ====" {
		t.Errorf("HeaderForMap = %q", got)
	}
}

func TestWrapMatchesVaultLayout(t *testing.T) {
	// Vault's login message, as Vault prints it (minimal raggedness, 78 wide).
	msg := `Success! You are now authenticated. The token information displayed below is already stored in the token helper. You do NOT need to run "vault login" again. Future Vault requests will automatically use this token.`
	want := `Success! You are now authenticated. The token information displayed below
is already stored in the token helper. You do NOT need to run "vault login"
again. Future Vault requests will automatically use this token.`
	if got := WrapAtLength(msg); got != want {
		t.Errorf("WrapAtLength:\n%s\nwant:\n%s", got, want)
	}
	for _, line := range strings.Split(WrapWithPadding(strings.Repeat("word ", 60), 2), "\n") {
		if len(line) > MaxLineLength || !strings.HasPrefix(line, "  ") {
			t.Errorf("padded line %q exceeds %d or lacks padding", line, MaxLineLength)
		}
	}
	if got := Wrap("averyveryverylongword short", 5); got != "averyveryverylongword\nshort" {
		t.Errorf("overlong word: %q", got)
	}
	if got := Wrap("", 10); got != "" {
		t.Errorf("empty: %q", got)
	}
}
