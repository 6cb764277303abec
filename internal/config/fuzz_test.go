package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse (or Validate on what it
// accepts) panic.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/vault/*")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"{}",
		"ui = true",
		`listener "tcp" { address = "x" }`,
		"x = 99999999999999999999999",
		"x = <<EOF\nabc\nEOF\n",
		"x = <<-EOF\n  abc\n  EOF\n",
		"x = 1e999",
		`{"storage": {"raft": {"retry_join": [{"leader_api_addr": 1}]}}}`,
		`{"listener": [{"tcp": {"telemetry": {"x": {"y": {}}}}}]}`,
		`storage "raft" { retry_join = [1, {}] }`,
		`listener "tcp" "extra" "more" { custom_response_headers { "200" = { "X" = [[1]] } } }`,
		"telemetry { usage_gauge_period = none }",
		`seal "x" { a = { b = 1 } }`,
		"\"\\u00\" = 1",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, name := range []string{"f.hcl", "f.json"} {
			c, err := Parse(name, src)
			if err != nil {
				continue
			}
			_ = c.Validate()
			_ = c.ApplyEnv(func(string) string { return "" })
		}
	})
}
