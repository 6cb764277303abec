package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
	"gopkg.in/yaml.v3"
)

// Output format names accepted by -format.
const (
	NameTable = "table"
	NameJSON  = "json"
	NameYAML  = "yaml"
	NameYML   = "yml"
	NameRaw   = "raw"
)

// ErrUnsupported is returned when data can't be shown in the asked format,
// e.g. -format=raw anywhere but `read`.
var ErrUnsupported = errors.New("unsupported output")

// InvalidFormatError is returned for an unknown -format value.
type InvalidFormatError struct{ Format string }

func (e *InvalidFormatError) Error() string { return "Invalid output format: " + e.Format }

// FieldNotPresentError is returned when -field names a key the response
// doesn't have.
type FieldNotPresentError struct{ Field string }

func (e *FieldNotPresentError) Error() string {
	return fmt.Sprintf("Field %q not present in secret", e.Field)
}

// Valid reports whether name is a format the CLI knows.
func Valid(name string) bool {
	switch name {
	case NameTable, NameJSON, NameYAML, NameYML, NameRaw:
		return true
	}
	return false
}

// Printer writes command output in one format. Out is the command's stdout,
// Err receives warnings; Terminal says whether Out is a terminal (a -field
// value then gets a trailing newline, as in Vault); Detailed makes list
// output carry key_info columns or, in JSON, the whole response.
type Printer struct {
	Out      io.Writer
	Err      io.Writer
	Format   string
	Detailed bool
	Terminal bool
}

func (p Printer) format() string {
	if p.Format == "" {
		return NameTable
	}
	return p.Format
}

// IsTable reports whether output is the human table format.
func (p Printer) IsTable() bool { return p.format() == NameTable }

// Secret prints a whole API response: the envelope in JSON/YAML, warnings
// and a Key/Value table otherwise.
func (p Printer) Secret(s *api.Secret) error {
	switch p.format() {
	case NameTable:
		if s == nil {
			return nil
		}
		p.Warnings(s)
		if rows := SecretRows(s); rows != nil {
			p.println(Table(rows))
		}
		return nil
	default:
		return p.Data(s)
	}
}

// Data prints an arbitrary value: a map as a Key/Value table, a list as
// "Keys", anything else only in JSON or YAML.
func (p Printer) Data(v any) error {
	switch f := p.format(); f {
	case NameJSON:
		b, err := JSONBytes(v)
		if err != nil {
			return fmt.Errorf("Could not parse output: %w", err)
		}
		p.println(string(b))
		return nil
	case NameYAML, NameYML:
		b, err := YAMLBytes(v)
		if err != nil {
			return fmt.Errorf("Could not parse output: %w", err)
		}
		p.println(strings.TrimSpace(string(b)))
		return nil
	case NameTable:
		switch x := v.(type) {
		case *api.Secret:
			return p.Secret(x)
		case map[string]any:
			if rows := MapRows(x); rows != nil {
				p.println(Table(rows))
			}
			return nil
		case []any:
			return p.keys(nil, x)
		case []string:
			for _, s := range x {
				p.println(s)
			}
			return nil
		}
		return fmt.Errorf("Could not parse output: cannot use the table formatter for %T: %w", v, ErrUnsupported)
	case NameRaw:
		if b, ok := v.([]byte); ok {
			p.println(string(b))
			return nil
		}
		return fmt.Errorf("Could not parse output: This command does not support the -format=raw option; only `strongbox read` does: %w", ErrUnsupported)
	default:
		return &InvalidFormatError{Format: f}
	}
}

// List prints the keys of a LIST response ("Keys" table, or the key array
// in JSON/YAML; with Detailed, key_info columns or the whole response).
func (p Printer) List(s *api.Secret) error {
	var keys any
	if s != nil {
		keys = s.Data["keys"]
	}
	if !p.IsTable() {
		if p.Detailed {
			return p.Data(s)
		}
		return p.Data(keys)
	}
	p.Warnings(s)
	list, _ := keys.([]any)
	return p.keys(s, list)
}

func (p Printer) keys(s *api.Secret, list []any) error {
	if len(list) == 0 {
		return nil
	}
	keys := make([]string, len(list))
	for i, v := range list {
		k, ok := v.(string)
		if !ok {
			return fmt.Errorf("Could not parse output: %v is not a string", v)
		}
		keys[i] = k
	}
	var info map[string]any
	if p.Detailed && s != nil {
		info, _ = s.Data["key_info"].(map[string]any)
	}
	p.println(Table(ListRows(keys, info)))
	return nil
}

// Warnings prints a response's warnings to Err, Vault style.
func (p Printer) Warnings(s *api.Secret) {
	if s == nil || len(s.Warnings) == 0 || p.Err == nil {
		return
	}
	fmt.Fprint(p.Err, "WARNING! The following warnings were returned from Strongbox:\n\n")
	for _, w := range s.Warnings {
		fmt.Fprintf(p.Err, "%s\n\n", WrapWithPadding("* "+w, 2))
	}
}

// Field prints one field of data (an *api.Secret or a map) without
// decoration: the bare value in table format, JSON/YAML of the value
// otherwise. No newline follows unless Out is a terminal, so the value pipes
// cleanly, as Vault's -field does.
func (p Printer) Field(data any, field string) error {
	var val any
	switch d := data.(type) {
	case *api.Secret:
		if d != nil {
			val = RawField(d, field)
		}
	case map[string]any:
		val = d[field]
	}
	if val == nil {
		return &FieldNotPresentError{Field: field}
	}
	var s string
	switch f := p.format(); f {
	case NameTable, NameRaw:
		s = fmt.Sprintf("%v", val)
	case NameJSON:
		b, err := JSONBytes(val)
		if err != nil {
			return fmt.Errorf("Error formatting output: %w", err)
		}
		s = string(b)
	case NameYAML, NameYML:
		b, err := YAMLBytes(val)
		if err != nil {
			return fmt.Errorf("Error formatting output: %w", err)
		}
		s = string(b)
	default:
		return &InvalidFormatError{Format: f}
	}
	if p.Terminal {
		s += "\n"
	}
	_, err := io.WriteString(p.Out, s)
	return err
}

// RawField picks field out of a response the way Vault's -field does: token
// and wrapping fields by their table names, envelope fields, else Data.
func RawField(s *api.Secret, field string) any {
	switch {
	case s.Auth != nil:
		a := s.Auth
		switch field {
		case "token":
			return a.ClientToken
		case "token_accessor":
			return a.Accessor
		case "token_duration":
			return a.LeaseDuration
		case "token_renewable":
			return a.Renewable
		case "token_policies":
			return a.TokenPolicies
		case "identity_policies":
			return a.IdentityPolicies
		case "policies":
			return a.Policies
		}
		if strings.HasPrefix(field, "token_meta_") {
			if v, ok := a.Metadata[strings.TrimPrefix(field, "token_meta_")]; ok {
				return v
			}
		}
	case s.WrapInfo != nil:
		w := s.WrapInfo
		switch field {
		case "wrapping_token":
			return w.Token
		case "wrapping_accessor":
			return w.Accessor
		case "wrapping_token_ttl":
			return w.TTL
		case "wrapping_token_creation_time":
			return w.CreationTime.Format(time.RFC3339Nano)
		case "wrapping_token_creation_path":
			return w.CreationPath
		case "wrapped_accessor":
			return w.WrappedAccessor
		}
	default:
		switch field {
		case "lease_duration", "refresh_interval":
			return s.LeaseDuration
		case "lease_id":
			return s.LeaseID
		case "request_id":
			return s.RequestID
		case "renewable":
			return s.Renewable
		case "data":
			if v, ok := s.Data["data"]; ok {
				return v
			}
			return s.Data
		}
	}
	return s.Data[field]
}

// JSONBytes is v as indented JSON (two spaces), as Vault prints it.
func JSONBytes(v any) ([]byte, error) {
	return json.MarshalIndent(v, "", "  ")
}

// YAMLBytes is v as YAML with JSON field names (a struct is converted
// through its JSON form first, so api types keep their wire names) and
// integers kept as integers.
func YAMLBytes(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(numbersOf(generic)); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// numbersOf replaces json.Number with int64 or float64 so YAML prints 3
// rather than "3".
func numbersOf(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case map[string]any:
		for k, e := range x {
			x[k] = numbersOf(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbersOf(e)
		}
	}
	return v
}

func (p Printer) println(s string) {
	fmt.Fprintln(p.Out, s)
}
