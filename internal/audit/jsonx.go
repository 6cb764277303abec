package audit

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"slices"
)

// toJSONx rewrites the JSON document that follows the first skip bytes of
// b as JSONx (IBM's XML encoding of JSON, Vault's format=jsonx): the
// members of the top-level object as a sequence of json:* elements with
// sorted names, no XML header, then a newline.
func toJSONx(b []byte, skip int) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b[skip:]))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("audit: jsonx: %w", err)
	}
	var out bytes.Buffer
	out.Grow(2 * len(b))
	for _, k := range sortedKeys(doc) {
		if err := writeJSONx(&out, k, true, doc[k]); err != nil {
			return nil, err
		}
	}
	out.WriteByte('\n')
	return append(b[:skip], out.Bytes()...), nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// writeJSONx writes one value; named is false for array elements.
func writeJSONx(out *bytes.Buffer, name string, named bool, v any) error {
	open := func(kind string) {
		out.WriteString("<json:")
		out.WriteString(kind)
		if named {
			out.WriteString(` name="`)
			_ = xml.EscapeText(out, []byte(name)) // writes to a bytes.Buffer never fail
			out.WriteByte('"')
		}
	}
	switch t := v.(type) {
	case nil:
		open("null")
		out.WriteString(" />")
	case bool:
		open("boolean")
		fmt.Fprintf(out, ">%t</json:boolean>", t)
	case json.Number:
		open("number")
		out.WriteByte('>')
		out.WriteString(t.String())
		out.WriteString("</json:number>")
	case string:
		open("string")
		out.WriteByte('>')
		_ = xml.EscapeText(out, []byte(t))
		out.WriteString("</json:string>")
	case []any:
		open("array")
		out.WriteByte('>')
		for _, e := range t {
			if err := writeJSONx(out, "", false, e); err != nil {
				return err
			}
		}
		out.WriteString("</json:array>")
	case map[string]any:
		open("object")
		out.WriteByte('>')
		for _, k := range sortedKeys(t) {
			if err := writeJSONx(out, k, true, t[k]); err != nil {
				return err
			}
		}
		out.WriteString("</json:object>")
	default:
		return fmt.Errorf("audit: jsonx: unexpected %T", v)
	}
	return nil
}
