package kv

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestParseVersions(t *testing.T) {
	cases := []struct {
		in      any
		want    []uint64
		wantErr bool
	}{
		{in: nil, want: nil},
		{in: []any{1.0, "2", json.Number("3")}, want: []uint64{1, 2, 3}},
		{in: []string{"4", "5"}, want: []uint64{4, 5}},
		{in: []int{6}, want: []uint64{6}},
		{in: "1, 2,,3", want: []uint64{1, 2, 3}},
		{in: []any{"1,2", 3.0}, want: []uint64{1, 2, 3}},
		{in: 7.0, want: []uint64{7}},
		{in: "", want: []uint64{}},
		{in: []any{"x"}, wantErr: true},
		{in: []any{-1.0}, wantErr: true},
		{in: "1,-2", wantErr: true},
		{in: []any{true}, wantErr: true},
		{in: map[string]any{}, wantErr: true},
	}
	for _, tc := range cases {
		got, err := parseVersions(tc.in)
		if (err != nil) != tc.wantErr {
			t.Fatalf("parseVersions(%#v) error %v, wantErr %v", tc.in, err, tc.wantErr)
		}
		if !tc.wantErr && len(got)+len(tc.want) > 0 && !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("parseVersions(%#v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseSignedDuration(t *testing.T) {
	cases := []struct {
		in      any
		want    time.Duration
		wantErr bool
	}{
		{in: "3h25m19s", want: 3*time.Hour + 25*time.Minute + 19*time.Second},
		{in: "90", want: 90 * time.Second},
		{in: 90.0, want: 90 * time.Second},
		{in: json.Number("-5"), want: -5 * time.Second},
		{in: "-1s", want: -time.Second},
		{in: -3, want: -3 * time.Second},
		{in: "1500ms", want: time.Second}, // whole seconds, like Vault
		{in: "2d", want: 48 * time.Hour},
		{in: []string{"1m"}, want: time.Minute},
		{in: "", want: 0},
		{in: "soon", wantErr: true},
		{in: "--1s", wantErr: true},
		{in: true, wantErr: true},
	}
	for _, tc := range cases {
		got, err := parseSignedDuration(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Fatalf("parseSignedDuration(%#v) = %v, %v; want %v (err %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseIntAndBool(t *testing.T) {
	ints := []struct {
		in      any
		want    int64
		wantErr bool
	}{
		{in: "12", want: 12}, {in: 12.0, want: 12}, {in: json.Number("12"), want: 12}, {in: []string{"3", "4"}, want: 3},
		{in: "", want: 0}, {in: nil, want: 0}, {in: uint64(5), want: 5},
		{in: 1.5, wantErr: true}, {in: "1.5", wantErr: true}, {in: "9223372036854775808", wantErr: true},
		{in: 1e19, wantErr: true}, {in: []any{1.0}, wantErr: true}, {in: true, wantErr: true},
	}
	for _, tc := range ints {
		got, err := parseInt(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Fatalf("parseInt(%#v) = %d, %v", tc.in, got, err)
		}
	}
	bools := []struct {
		in      any
		want    bool
		wantErr bool
	}{
		{in: true, want: true}, {in: "true", want: true}, {in: "1", want: true}, {in: "false"}, {in: ""},
		{in: 1.0, want: true}, {in: json.Number("0")}, {in: "yes", wantErr: true}, {in: []any{}, wantErr: true},
	}
	for _, tc := range bools {
		got, err := parseBool(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Fatalf("parseBool(%#v) = %v, %v", tc.in, got, err)
		}
	}
}

// FuzzParseVersions: any string is either rejected or yields only the
// numbers it spells.
func FuzzParseVersions(f *testing.F) {
	for _, s := range []string{"1,2,3", "", " 7 ", "-1", "1,,x", "18446744073709551616", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vs, err := parseVersions(s)
		if err != nil {
			return
		}
		for _, v := range vs {
			if v > 1<<63-1 {
				t.Fatalf("version %d out of range from %q", v, s)
			}
		}
	})
}

// FuzzDataWrite sends arbitrary JSON bodies to every writable v2 endpoint:
// no panic, no 5xx, and an error status never changes storage.
func FuzzDataWrite(f *testing.F) {
	seeds := []string{
		`{"data":{"a":"b"}}`,
		`{"data":{"a":{"b":[1,2,null]}},"options":{"cas":1}}`,
		`{"data":"x"}`,
		`{"options":{"cas":"z"},"data":{}}`,
		`{"versions":[1,"2","x"]}`,
		`{"max_versions":-1,"custom_metadata":{"a":null}}`,
		`{"custom_metadata":{"":"v"},"delete_version_after":"-3s"}`,
		`{"cas_required":"maybe"}`,
	}
	paths := []string{"data/k", "metadata/k", "delete/k", "undelete/k", "destroy/k", "config"}
	for _, s := range seeds {
		for i := range paths {
			f.Add(s, uint8(i), false)
			f.Add(s, uint8(i), true)
		}
	}
	f.Fuzz(func(t *testing.T, body string, pathIdx uint8, patch bool) {
		var data map[string]any
		dec := json.NewDecoder(bytesReader(body))
		dec.UseNumber()
		if dec.Decode(&data) != nil {
			return
		}
		e := newV2(t)
		e.put("k", map[string]any{"seed": "v"})
		before := e.snapshot()
		op := logical.UpdateOperation
		if patch {
			op = logical.PatchOperation
		}
		path := paths[int(pathIdx)%len(paths)]
		resp, err := e.do(op, path, data)
		status := statusOf(op, resp, err)
		if status >= 500 {
			t.Fatalf("%s %s %s: status %d: %v", op, path, body, status, err)
		}
		if status >= http.StatusBadRequest {
			e.assertUnchanged(before)
		}
	})
}
