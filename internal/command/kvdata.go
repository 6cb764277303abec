package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// dataReader reads the bodies of commands that take key=value arguments.
type dataReader interface {
	readAllStdin() ([]byte, error)
}

// parseArgsData turns Vault's data arguments into a request body:
//
//	key=value   a string value
//	key=@file   the file's contents as the value (key=\@x is the literal "@x")
//	key=-       stdin as the value
//	@file.json  a JSON object merged into the body
//	-           a JSON object read from stdin, merged into the body
//
// A key given twice becomes a list, as in Vault.
func parseArgsData(in dataReader, args []string) (map[string]any, error) {
	out := map[string]any{}
	for _, raw := range args {
		if raw == "" {
			continue
		}
		key, value, hasEq := strings.Cut(raw, "=")
		if !hasEq {
			switch {
			case raw == "-":
				b, err := in.readAllStdin()
				if err != nil {
					return nil, err
				}
				if err := mergeJSON(out, b); err != nil {
					return nil, fmt.Errorf("stdin: %w", err)
				}
				continue
			case raw[0] == '@':
				b, err := os.ReadFile(raw[1:])
				if err != nil {
					return nil, fmt.Errorf("error reading file: %w", err)
				}
				if err := mergeJSON(out, b); err != nil {
					return nil, fmt.Errorf("%s: %w", raw[1:], err)
				}
				continue
			}
			return nil, fmt.Errorf("format must be key=value: %q", raw)
		}
		if key == "" {
			return nil, fmt.Errorf("format must be key=value: %q", raw)
		}
		switch {
		case strings.HasPrefix(value, "@"):
			b, err := os.ReadFile(value[1:])
			if err != nil {
				return nil, fmt.Errorf("error reading file: %w", err)
			}
			value = string(b)
		case strings.HasPrefix(value, `\@`):
			value = value[1:]
		case value == "-":
			b, err := in.readAllStdin()
			if err != nil {
				return nil, err
			}
			value = string(b)
		}
		if prev, ok := out[key]; ok {
			switch p := prev.(type) {
			case []any:
				out[key] = append(p, value)
			default:
				out[key] = []any{p, value}
			}
			continue
		}
		out[key] = value
	}
	return out, nil
}

// mergeJSON decodes a JSON object from b into out, numbers kept exact.
func mergeJSON(out map[string]any, b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("no JSON object found")
		}
		return fmt.Errorf("invalid JSON object: %w", err)
	}
	for k, v := range m {
		out[k] = v
	}
	return nil
}

// parseArgsDataString is parseArgsData for commands whose values must be
// strings (login methods): lists and objects are refused.
func parseArgsDataString(in dataReader, args []string) (map[string]string, error) {
	raw, err := parseArgsData(in, args)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		switch x := v.(type) {
		case string:
			out[k] = x
		case json.Number:
			out[k] = x.String()
		case bool:
			out[k] = fmt.Sprint(x)
		case nil:
			out[k] = ""
		default:
			return nil, fmt.Errorf("value of %q must be a string", k)
		}
	}
	return out, nil
}
