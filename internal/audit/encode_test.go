package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// oddInput exercises encoder corners: escaping, odd types, nil maps.
func oddInput() *LogInput {
	type custom struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	type named string
	return &LogInput{
		Request: &logical.Request{
			Operation: logical.CreateOperation,
			Path:      "odd/<path>&\"quoted\"",
			Data: map[string]any{
				"html":     "<b>&</b>",
				"ctl":      "a\x00b\x1fc\td\ne\u2028",
				"badutf8":  "\xff\xfe",
				"struct":   custom{Name: "n<1>", Count: 2},
				"ptr":      &custom{Name: "p"},
				"named":    named("nm"),
				"floats":   []any{0.0, 1e-7, 1e21, float32(3.25), -12.5},
				"ints":     []any{int8(-1), uint16(7), int64(math.MaxInt64), uint64(math.MaxUint64)},
				"dur":      90 * time.Second,
				"when":     time.Date(2024, 2, 29, 12, 0, 0, 5, time.UTC),
				"bytes":    []byte("raw-bytes"),
				"nilmap":   map[string]any(nil),
				"nilslice": []any(nil),
				"nilstrs":  []string(nil),
				"emptymap": map[string]any{},
				"rawmsg":   json.RawMessage(`{"z":"y","a":[1,"two"]}`),
				"maps":     []map[string]any{{"k": "v"}},
				"strmap":   map[string]string{"b": "2", "a": "1"},
				"num":      json.Number("-1.5e+10"),
				"empty":    json.Number(""),
			},
			Headers: http.Header{"X-A": {"1", "2"}},
		},
		Response: &logical.Response{
			Data:    map[string]any{"keys": []any{"a", "b"}, "key_info": map[string]any{"a": 1}},
			Secret:  &logical.Secret{},
			Headers: http.Header{"Retry-After": {"1"}, "X-Nil": nil},
		},
		AuditedHeaders: HeaderConfig{"x-a": false},
	}
}

// TestEncoderMatchesEncodingJSON checks the hand-written encoder against
// encoding/json on the entry types: raw entries directly, hashed entries
// against the deep-copy oracle.
func TestEncoderMatchesEncodingJSON(t *testing.T) {
	inputs := map[string]func() *LogInput{"sample": sampleInput, "kv read": kvReadInput, "odd": oddInput}
	for name, mk := range inputs {
		for _, raw := range []bool{false, true} {
			for _, response := range []bool{false, true} {
				f := newFormatter(formatConfig{raw: raw, hmacAccessor: true, elideList: true}, newSalter(nil))
				key, err := f.salt.get(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				in := mk()
				e := f.build(in, response, key)

				reqEnc := dataEncoder{nonHMAC: in.NonHMACReqDataKeys}
				respEnc := dataEncoder{nonHMAC: in.NonHMACRespDataKeys}
				if !raw {
					reqEnc.key, respEnc.key = key, key
				}
				got, err := appendEntry(nil, e, &reqEnc, &respEnc)
				if err != nil {
					t.Fatalf("%s raw=%v response=%v: %v", name, raw, response, err)
				}

				if !raw {
					oracleReq := dataHasher{hmac: key.hmac, nonHMAC: in.NonHMACReqDataKeys}
					if e.Request.Data, err = oracleReq.hashMap(e.Request.Data); err != nil {
						t.Fatal(err)
					}
					if e.Response != nil {
						oracleResp := dataHasher{hmac: key.hmac, nonHMAC: in.NonHMACRespDataKeys}
						if e.Response.Data, err = oracleResp.hashMap(e.Response.Data); err != nil {
							t.Fatal(err)
						}
					}
				}
				want, err := json.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s raw=%v response=%v:\n got %s\nwant %s", name, raw, response, got, want)
				}
			}
		}
	}
}

func TestEncoderRejectsUnencodable(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"NaN", math.NaN()},
		{"Inf", math.Inf(1)},
		{"bad number", json.Number("12abc")},
		{"channel", make(chan int)},
	}
	for _, tc := range tests {
		for _, key := range []*saltKey{nil, newSaltKey([]byte("k"))} {
			enc := dataEncoder{key: key}
			if _, err := enc.object(nil, map[string]any{"v": tc.v}); err == nil {
				t.Errorf("%s (hashing=%v): no error", tc.name, key != nil)
			}
		}
	}
	d, _ := newDevice(t, nil, nil)
	in := sampleInput()
	in.Response.Data["bad"] = math.Inf(-1)
	if err := d.LogResponse(context.Background(), in); err == nil {
		t.Error("LogResponse with an unencodable value succeeded")
	}
}
