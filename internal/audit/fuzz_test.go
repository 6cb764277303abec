package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzFileOptions feeds arbitrary option values to the option parser: it
// must never panic, and every refusal must be a 400 (ErrInvalidConfig).
func FuzzFileOptions(f *testing.F) {
	seeds := [][5]string{
		{"/var/log/audit.log", "0600", "false", "true", "json"},
		{"stdout", "", "true", "false", "jsonx"},
		{"discard", "0000", "1", "0", ""},
		{"", "0755", "maybe", "T", "xml"},
		{"/x", "99999999999", "", "", "JSON"},
		{"/x", " 0644 ", "TRUE", "f", " jsonx "},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	f.Fuzz(func(t *testing.T, path, mode, raw, hmacAcc, format string) {
		opts := map[string]string{"file_path": path, "mode": mode, "log_raw": raw, "hmac_accessor": hmacAcc, "format": format}
		fo, err := parseFileOptions(opts)
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v does not wrap ErrInvalidConfig", err)
			}
			return
		}
		if fo.path == "" {
			t.Fatal("accepted an empty path")
		}
		if fo.mode&0o111 != 0 || fo.mode&^0o777 != 0 {
			t.Fatalf("accepted mode %#o", fo.mode)
		}
	})
}

// FuzzEncodeData encodes arbitrary JSON bodies: raw output must equal
// encoding/json's byte for byte, hashed output must equal encoding/json of
// the oracle's hashed copy, every string in it must be an HMAC with
// everything else kept, and the input must be left as it was.
func FuzzEncodeData(f *testing.F) {
	for _, s := range []string{
		`{"password":"hunter2"}`,
		`{"a":{"b":["c",1,true,null,{"d":"e"}]},"n":1.5e10}`,
		`{"":""}`,
		`{"list":[[["deep"]]],"num":-0,"big":1e400}`,
		`{"unicode":"\u00e9\u4e2d\ud83d\ude00","esc":"a\"b\\c<>&\u2028\u0001\b\f"}`,
	} {
		f.Add([]byte(s))
	}
	key := newSaltKey([]byte("fuzz-salt"))
	hm := key.hmac
	f.Fuzz(func(t *testing.T, body []byte) {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var in map[string]any
		if err := dec.Decode(&in); err != nil || in == nil {
			return
		}
		before, err := json.Marshal(in)
		if err != nil {
			return
		}

		raw, err := (&dataEncoder{}).object(nil, in)
		if err != nil {
			t.Fatalf("raw encode: %v", err)
		}
		if !bytes.Equal(raw, before) {
			t.Fatalf("raw encoding differs from encoding/json:\n got %s\nwant %s", raw, before)
		}

		hashed, err := (&dataEncoder{key: key}).object(nil, in)
		if err != nil {
			t.Fatalf("hashed encode: %v", err)
		}
		copied, err := (&dataHasher{hmac: hm}).hashMap(in)
		if err != nil {
			t.Fatalf("oracle: %v", err)
		}
		want, _ := json.Marshal(copied)
		if !bytes.Equal(hashed, want) {
			t.Fatalf("hashed encoding differs from the oracle:\n got %s\nwant %s", hashed, want)
		}
		after, _ := json.Marshal(in)
		if !bytes.Equal(before, after) {
			t.Fatalf("input modified:\n%s\n%s", before, after)
		}
		var out any
		d2 := json.NewDecoder(bytes.NewReader(hashed))
		d2.UseNumber()
		if err := d2.Decode(&out); err != nil {
			t.Fatalf("hashed output is not JSON: %v\n%s", err, hashed)
		}
		checkHashed(t, any(in), out)
	})
}

// FuzzAppendString checks the string escaper against encoding/json.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<script>&amp;</script>", "\x00\x1f\u2028\u2029", "\xff\xfe bad utf8", "é中😀", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

// FuzzAppendFloat checks float formatting against encoding/json.
func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, -0.0, 1, 1.5, 1e-7, 1e21, 123456789.125, 5e-324, 1.7976931348623157e308} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		want, werr := json.Marshal(v)
		got, gerr := appendFloat(nil, v, 64)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%v: error %v, encoding/json error %v", v, gerr, werr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("appendFloat(%v) = %s, want %s", v, got, want)
		}
		want32, _ := json.Marshal(float32(v))
		got32, err := appendFloat(nil, float64(float32(v)), 32)
		if err == nil && !bytes.Equal(got32, want32) {
			t.Fatalf("appendFloat(float32 %v) = %s, want %s", float32(v), got32, want32)
		}
	})
}

// checkHashed compares a decoded JSON value with its hashed copy.
func checkHashed(t *testing.T, in, out any) {
	t.Helper()
	switch v := in.(type) {
	case string:
		s, ok := out.(string)
		if !ok || !strings.HasPrefix(s, hmacPrefix) {
			t.Fatalf("string %q became %#v", v, out)
		}
	case map[string]any:
		o, ok := out.(map[string]any)
		if !ok || len(o) != len(v) {
			t.Fatalf("object %v became %#v", v, out)
		}
		for k, e := range v {
			checkHashed(t, e, o[k])
		}
	case []any:
		o, ok := out.([]any)
		if !ok || len(o) != len(v) {
			t.Fatalf("array %v became %#v", v, out)
		}
		for i := range v {
			checkHashed(t, v[i], o[i])
		}
	default:
		if in != out {
			t.Fatalf("value %#v became %#v", in, out)
		}
	}
}
