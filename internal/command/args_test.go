package command

import (
	"context"
	"io"
	"reflect"
	"testing"
)

func TestNormaliseArgs(t *testing.T) {
	root := newRootCommand(&app{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard})
	cases := []struct {
		name string
		in   []string
		want []string
	}{
		{"single-dash with =", []string{"operator", "init", "-key-shares=5", "-key-threshold=3"},
			[]string{"operator", "init", "--key-shares=5", "--key-threshold=3"}},
		{"single-dash with separate value", []string{"operator", "init", "-key-shares", "5", "-format", "json"},
			[]string{"operator", "init", "--key-shares", "5", "--format", "json"}},
		{"double dash kept", []string{"kv", "get", "--format=json", "secret/foo"},
			[]string{"kv", "get", "--format=json", "secret/foo"}},
		{"global flag on a subcommand", []string{"kv", "put", "-address=http://x", "secret/foo", "a=b"},
			[]string{"kv", "put", "--address=http://x", "secret/foo", "a=b"}},
		{"stdin marker kept", []string{"write", "secret/foo", "-"},
			[]string{"write", "secret/foo", "-"}},
		{"negative number kept", []string{"kv", "put", "-cas", "-1", "secret/foo", "a=b"},
			[]string{"kv", "put", "--cas", "-1", "secret/foo", "a=b"}},
		{"unknown flag left for pflag", []string{"status", "-bogus"},
			[]string{"status", "-bogus"}},
		{"after -- untouched", []string{"kv", "put", "secret/foo", "--", "-format=x"},
			[]string{"kv", "put", "secret/foo", "--", "-format=x"}},
		{"help", []string{"kv", "get", "-help"}, []string{"kv", "get", "--help"}},
		{"short help kept", []string{"kv", "get", "-h"}, []string{"kv", "get", "-h"}},
		{"root version", []string{"-version"}, []string{"--version"}},
		{"command flag named version", []string{"secrets", "enable", "-version=2", "kv"},
			[]string{"secrets", "enable", "--version=2", "kv"}},
		{"flag before subcommand name", []string{"kv", "-mount", "secret", "get", "foo"},
			[]string{"kv", "-mount", "secret", "get", "foo"}},
		{"bool flag does not swallow the next arg", []string{"list", "-detailed", "secret/"},
			[]string{"list", "--detailed", "secret/"}},
		{"flag of another command untouched", []string{"status", "-key-shares=5"},
			[]string{"status", "-key-shares=5"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := normaliseArgs(root, c.in); !reflect.DeepEqual(got, c.want) {
				t.Errorf("normaliseArgs(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestFindCommand(t *testing.T) {
	root := newRootCommand(&app{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard})
	cases := map[string][]string{
		"strongbox kv metadata get": {"kv", "metadata", "get", "secret/x"},
		"strongbox operator init":   {"-address", "http://x", "operator", "init"},
		"strongbox kv":              {"kv", "nosuch"},
		"strongbox":                 {},
	}
	for want, args := range cases {
		if got := findCommand(root, args).CommandPath(); got != want {
			t.Errorf("findCommand(%q) = %q, want %q", args, got, want)
		}
	}
}

func TestSingleDashFlagsEndToEnd(t *testing.T) {
	f := newFakeVault(t)
	f.on("PUT /v1/sys/init", 200, map[string]any{"keys": []string{"aa"}, "keys_base64": []string{"qg=="}, "root_token": "hvs.root"})
	c := newCLI(t, "http://unused.invalid")
	for _, args := range [][]string{
		{"operator", "init", "-address=" + f.srv.URL, "-key-shares=1", "-key-threshold=1"},
		{"operator", "init", "-address", f.srv.URL, "-key-shares", "1", "-key-threshold", "1"},
		{"operator", "init", "--address=" + f.srv.URL, "--key-shares=1", "--key-threshold=1"},
	} {
		c.run("", args...).want(t, 0)
	}
	for _, r := range f.requests("PUT /v1/sys/init") {
		if r.Body["secret_shares"] != num("1") || r.Body["secret_threshold"] != num("1") {
			t.Errorf("init body %v", r.Body)
		}
	}
	if n := len(f.requests("PUT /v1/sys/init")); n != 3 {
		t.Errorf("%d init requests, want 3", n)
	}
}
