package command

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// stdinOnce is a dataReader over a fixed string that can be read once.
type stdinOnce struct {
	s    string
	used bool
}

func (r *stdinOnce) readAllStdin() ([]byte, error) {
	if r.used {
		return nil, errors.New("stdin already consumed")
	}
	r.used = true
	return []byte(r.s), nil
}

func TestParseArgsData(t *testing.T) {
	dir := t.TempDir()
	valueFile := filepath.Join(dir, "value.txt")
	jsonFile := filepath.Join(dir, "body.json")
	if err := os.WriteFile(valueFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jsonFile, []byte(`{"a": "1", "n": 7}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		stdin string
		args  []string
		want  map[string]any
		err   string
	}{
		{name: "pairs", args: []string{"a=b", "c=d=e", "empty="},
			want: map[string]any{"a": "b", "c": "d=e", "empty": ""}},
		{name: "value from file", args: []string{"k=@" + valueFile},
			want: map[string]any{"k": "from-file\n"}},
		{name: "escaped at", args: []string{`k=\@literal`}, want: map[string]any{"k": "@literal"}},
		{name: "value from stdin", stdin: "abcd1234\n", args: []string{"k=-"},
			want: map[string]any{"k": "abcd1234\n"}},
		{name: "json body from stdin", stdin: `{"x": {"y": true}, "n": 1}`, args: []string{"-"},
			want: map[string]any{"x": map[string]any{"y": true}, "n": json.Number("1")}},
		{name: "json file merged", args: []string{"@" + jsonFile, "m=2"},
			want: map[string]any{"a": "1", "n": json.Number("7"), "m": "2"}},
		// As in Vault, a pair repeating a key from a JSON body adds to it.
		{name: "json key repeated by a pair", args: []string{"@" + jsonFile, "a=2"},
			want: map[string]any{"a": []any{"1", "2"}, "n": json.Number("7")}},
		{name: "repeated key becomes a list", args: []string{"p=a", "p=b", "p=c"},
			want: map[string]any{"p": []any{"a", "b", "c"}}},
		{name: "empty arg ignored", args: []string{"", "a=b"}, want: map[string]any{"a": "b"}},
		{name: "no equals", args: []string{"novalue"}, err: "format must be key=value"},
		{name: "empty key", args: []string{"=v"}, err: "format must be key=value"},
		{name: "missing file", args: []string{"k=@" + filepath.Join(dir, "nope")}, err: "error reading file"},
		{name: "stdin twice", stdin: "x", args: []string{"a=-", "b=-"}, err: "stdin already consumed"},
		{name: "bad json", stdin: "[1,2]", args: []string{"-"}, err: "invalid JSON object"},
		{name: "no json", stdin: "", args: []string{"-"}, err: "no JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseArgsData(&stdinOnce{s: c.stdin}, c.args)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %#v, want %#v", got, c.want)
			}
		})
	}
}

func TestParseArgsDataString(t *testing.T) {
	got, err := parseArgsDataString(&stdinOnce{s: `{"n": 5, "b": true, "z": null}`}, []string{"-", "a=x"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"n": "5", "b": "true", "z": "", "a": "x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := parseArgsDataString(&stdinOnce{}, []string{"p=a", "p=b"}); err == nil {
		t.Error("a list value should be refused")
	}
}

func FuzzParseArgsData(f *testing.F) {
	for _, seed := range [][2]string{
		{"a=b", ""}, {"-", `{"a":1}`}, {"k=-", "value"}, {`k=\@x`, ""}, {"=", ""}, {"a=b\x00c=d", ""},
		{"-", "{"}, {"k=@", ""}, {`\`, ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, args, stdin string) {
		// Arguments are NUL-separated; file references stay inside the
		// sandbox of nonexistent paths except for those the fuzzer guesses.
		parts := strings.Split(args, "\x00")
		for i, p := range parts {
			if strings.Contains(p, "@") {
				parts[i] = strings.ReplaceAll(p, "@", "@"+t.TempDir()+"/")
			}
		}
		got, err := parseArgsData(&stdinOnce{s: stdin}, parts)
		if err == nil && got == nil {
			t.Fatal("nil map without error")
		}
	})
}

func TestMapFlagAndCommaList(t *testing.T) {
	var m mapFlag
	for _, s := range []string{"a=1", " b = two ", "c=x=y"} {
		if err := m.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if want := map[string]string{"a": "1", "b": "two", "c": "x=y"}; !reflect.DeepEqual(m.m, want) {
		t.Errorf("mapFlag = %v", m.m)
	}
	if m.String() != "a=1,b=two,c=x=y" {
		t.Errorf("String = %q", m.String())
	}
	for _, bad := range []string{"novalue", "=v"} {
		if err := m.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	if got := commaList([]string{"a,b", " c ", "", "d,,"}); !reflect.DeepEqual(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("commaList = %q", got)
	}
}

func TestDurationFlag(t *testing.T) {
	cases := map[string]string{"30": "30s", "5m": "5m0s", "1d": "24h0m0s", " 90s ": "1m30s"}
	for in, want := range cases {
		var d durationFlag
		if err := d.Set(in); err != nil {
			t.Fatalf("Set(%q): %v", in, err)
		}
		if d.d.String() != want || d.raw != strings.TrimSpace(in) {
			t.Errorf("Set(%q) = %v (%q), want %s", in, d.d, d.raw, want)
		}
	}
	for _, bad := range []string{"soon", "-5s", "1x"} {
		var d durationFlag
		if err := d.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}
