package command

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/server"
)

// startDevServer runs a dev server in-process on 127.0.0.1 and returns
// its address and a root client.
func startDevServer(t *testing.T) (string, *vault.Client) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan []string, 1), make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Options{Dev: true, DevRootTokenID: "root", DevListenAddress: "127.0.0.1:0", Out: io.Discard,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(a []string) { ready <- a }}, nil)
	}()
	var addr string
	select {
	case a := <-ready:
		addr = "http://" + a[0]
	case err := <-done:
		cancel()
		t.Fatalf("server: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start")
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	c, err := vault.NewClient(&vault.Config{Address: addr, MaxRetries: 0})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken("root")
	return addr, c
}

// TestAuditVerifyAgainstServer: a real server writes an audit log; `audit
// verify -device` accepts it with its checkpoints, and catches an edited
// line, a deleted line and a swapped pair with exit code 2.
func TestAuditVerifyAgainstServer(t *testing.T) {
	addr, c := startDevServer(t)
	logPath := filepath.Join(t.TempDir(), "audit.log")
	if err := c.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": logPath}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 110; i++ {
		if _, err := c.KVv2("secret").Put(context.Background(), "k", map[string]any{"n": fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	cl := newCLI(t, addr)
	cl.env["VAULT_TOKEN"] = "root"
	res := cl.run("", "audit", "verify", "-device=file/", logPath).want(t, 0)
	if !strings.Contains(res.stdout, "checkpoints checked against file/") {
		t.Errorf("verify output: %q", res.stdout)
	}

	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	tamper := func(name string, edit func([][]byte) [][]byte) string {
		cp := make([][]byte, len(lines))
		for i, l := range lines {
			cp[i] = append([]byte(nil), l...)
		}
		p := filepath.Join(t.TempDir(), name+".log")
		if err := os.WriteFile(p, append(bytes.Join(edit(cp), []byte("\n")), '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, want string
		edit       func([][]byte) [][]byte
	}{
		{"edit", "line 20: edited", func(ls [][]byte) [][]byte {
			ls[19] = bytes.Replace(ls[19], []byte(`"type":"`), []byte(`"type":"x`), 1)
			return ls
		}},
		{"delete", "line 20: removed", func(ls [][]byte) [][]byte { return append(ls[:19], ls[20:]...) }},
		{"swap", "line 20: reordered", func(ls [][]byte) [][]byte { ls[19], ls[20] = ls[20], ls[19]; return ls }},
	}
	for _, tc := range cases {
		res := cl.run("", "audit", "verify", tamper(tc.name, tc.edit)).want(t, 2)
		if !strings.Contains(res.stderr, tc.want) {
			t.Errorf("%s: stderr %q does not say %q", tc.name, res.stderr, tc.want)
		}
	}
}
