package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

func kvSecret() *api.Secret {
	return &api.Secret{
		RequestID: "req-1",
		Data: map[string]any{
			"data":     map[string]any{"admin": "password", "port": json.Number("5432")},
			"metadata": map[string]any{"version": json.Number("1"), "destroyed": false},
		},
		Warnings:  []string{"careful"},
		MountType: "kv",
	}
}

func printer(f string, terminal bool) (Printer, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return Printer{Out: &out, Err: &errb, Format: f, Terminal: terminal}, &out, &errb
}

func TestSecretJSONIsTheAPIEnvelope(t *testing.T) {
	p, out, _ := printer(NameJSON, false)
	if err := p.Secret(kvSecret()); err != nil {
		t.Fatal(err)
	}
	want := `{
  "request_id": "req-1",
  "lease_id": "",
  "lease_duration": 0,
  "renewable": false,
  "data": {
    "data": {
      "admin": "password",
      "port": 5432
    },
    "metadata": {
      "destroyed": false,
      "version": 1
    }
  },
  "warnings": [
    "careful"
  ],
  "mount_type": "kv"
}
`
	if out.String() != want {
		t.Errorf("json:\n%s\nwant:\n%s", out, want)
	}
}

func TestSecretYAML(t *testing.T) {
	p, out, _ := printer(NameYAML, false)
	if err := p.Secret(kvSecret()); err != nil {
		t.Fatal(err)
	}
	want := `data:
  data:
    admin: password
    port: 5432
  metadata:
    destroyed: false
    version: 1
lease_duration: 0
lease_id: ""
mount_type: kv
renewable: false
request_id: req-1
warnings:
  - careful
`
	if out.String() != want {
		t.Errorf("yaml:\n%s\nwant:\n%s", out, want)
	}
}

func TestSecretTableWarnsOnStderr(t *testing.T) {
	p, out, errb := printer(NameTable, false)
	s := &api.Secret{Data: map[string]any{"k": "v"}, Warnings: []string{"mind the gap"}}
	if err := p.Secret(s); err != nil {
		t.Fatal(err)
	}
	if out.String() != "Key    Value\n---    -----\nk      v\n" {
		t.Errorf("table:\n%q", out)
	}
	wantErr := "WARNING! The following warnings were returned from Strongbox:\n\n  * mind the gap\n\n"
	if errb.String() != wantErr {
		t.Errorf("warnings:\n%q\nwant %q", errb, wantErr)
	}
}

func TestField(t *testing.T) {
	s := &api.Secret{
		LeaseDuration: 60,
		Data:          map[string]any{"value": "s3cr3t", "list": []any{"a"}},
		Auth:          nil,
	}
	cases := []struct {
		name, format, field string
		terminal            bool
		data                any
		want                string
	}{
		{"piped has no newline", NameTable, "value", false, s, "s3cr3t"},
		{"terminal gets a newline", NameTable, "value", true, s, "s3cr3t\n"},
		{"envelope field", NameTable, "refresh_interval", false, s, "60"},
		{"json field", NameJSON, "list", false, s, "[\n  \"a\"\n]"},
		{"yaml field", NameYAML, "list", false, s, "- a\n"},
		{"map data", NameTable, "admin", false, map[string]any{"admin": "pw"}, "pw"},
		{"token", NameTable, "token", false, &api.Secret{Auth: &api.SecretAuth{ClientToken: "hvs.x"}}, "hvs.x"},
		{"wrapping token", NameTable, "wrapping_token", false, &api.Secret{WrapInfo: &api.SecretWrapInfo{Token: "w"}}, "w"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, out, _ := printer(c.format, c.terminal)
			if err := p.Field(c.data, c.field); err != nil {
				t.Fatal(err)
			}
			if out.String() != c.want {
				t.Errorf("got %q, want %q", out, c.want)
			}
		})
	}

	p, _, _ := printer(NameTable, false)
	var missing *FieldNotPresentError
	if err := p.Field(s, "nope"); !errors.As(err, &missing) || err.Error() != `Field "nope" not present in secret` {
		t.Errorf("missing field: %v", err)
	}
}

func TestInvalidAndRawFormats(t *testing.T) {
	p, _, _ := printer("xml", false)
	var inv *InvalidFormatError
	if err := p.Data(map[string]any{"a": 1}); !errors.As(err, &inv) || err.Error() != "Invalid output format: xml" {
		t.Errorf("invalid format: %v", err)
	}
	if Valid("xml") || !Valid("yml") || !Valid("raw") {
		t.Error("Valid disagrees with the formats")
	}
	p, out, _ := printer(NameRaw, false)
	if err := p.Data([]byte(`{"raw":true}`)); err != nil || out.String() != "{\"raw\":true}\n" {
		t.Errorf("raw bytes: %v %q", err, out)
	}
	if err := p.Secret(kvSecret()); !errors.Is(err, ErrUnsupported) {
		t.Errorf("raw secret should be unsupported, got %v", err)
	}
}

func TestListOutput(t *testing.T) {
	s := &api.Secret{Data: map[string]any{
		"keys":     []any{"b", "a/"},
		"key_info": map[string]any{"a/": map[string]any{"type": "dir"}},
	}}
	p, out, _ := printer(NameTable, false)
	if err := p.List(s); err != nil {
		t.Fatal(err)
	}
	if out.String() != "Keys\n----\na/\nb\n" {
		t.Errorf("table list: %q", out)
	}
	p, out, _ = printer(NameJSON, false)
	if err := p.List(s); err != nil {
		t.Fatal(err)
	}
	if out.String() != "[\n  \"b\",\n  \"a/\"\n]\n" {
		t.Errorf("json list: %q", out)
	}
	p, out, _ = printer(NameTable, false)
	p.Detailed = true
	if err := p.List(s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "b       n/a") {
		t.Errorf("detailed list: %q", out)
	}
	p, out, _ = printer(NameJSON, false)
	p.Detailed = true
	if err := p.List(s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"key_info"`) {
		t.Errorf("detailed json list should be the whole response: %q", out)
	}
}

func TestDataTable(t *testing.T) {
	p, out, _ := printer(NameTable, false)
	if err := p.Data([]string{"default", "root"}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "default\nroot\n" {
		t.Errorf("string list: %q", out)
	}
	if err := p.Data(struct{ A int }{1}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("struct in table: %v", err)
	}
}
