package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRunbookEndToEnd builds the strongbox binary and runs the issue's
// runbook as an operator would, against a real server process with file
// storage: status, init, unseal (once through a pipe), login, kv v2, list,
// audit, token lookup, a missing secret, then a restart with data intact.
func TestRunbookEndToEnd(t *testing.T) {
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	port := freePort(t)
	addr := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg := filepath.Join(dir, "config.hcl")
	writeFile(t, cfg, fmt.Sprintf(`
storage "file" {
  path = %q
}
listener "tcp" {
  address     = "127.0.0.1:%d"
  tls_disable = true
}
disable_mlock = true
`, filepath.Join(dir, "data"), port))
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	sb := &binRunner{t: t, bin: bin, env: cleanEnv(map[string]string{"HOME": home, "VAULT_ADDR": addr})}

	srv := startServer(t, sb, cfg)
	sb.waitReady()

	// strongbox status: sealed and uninitialized → exit 2.
	res := sb.run("", "status").want(t, 2)
	if !strings.Contains(res.stdout, "Initialized        false") {
		t.Errorf("status before init:\n%s", res.stdout)
	}

	// strongbox operator init -key-shares=5 -key-threshold=3 > keys.txt
	res = sb.run("", "operator", "init", "-key-shares=5", "-key-threshold=3").want(t, 0)
	keysTxt := filepath.Join(dir, "keys.txt")
	writeFile(t, keysTxt, res.stdout)
	keys, root := parseInitOutput(t, res.stdout)
	if len(keys) != 5 || root == "" {
		t.Fatalf("init output: %d keys, root %q\n%s", len(keys), root, res.stdout)
	}
	sb.run("", "operator", "init", "-status").want(t, 0)

	unsealThree(t, sb, keys)
	sb.run("", "status").want(t, 0)

	// strongbox login: the token from stdin, stored in the token helper.
	res = sb.run(root+"\n", "login", "-").want(t, 0)
	if !strings.Contains(res.stdout, "Success! You are now authenticated.") {
		t.Errorf("login:\n%s", res.stdout)
	}
	stored, err := os.ReadFile(filepath.Join(home, ".vault-token"))
	if err != nil || string(stored) != root {
		t.Fatalf("token helper file: %q %v", stored, err)
	}

	// Secrets engines: kv-v2, kv, kv -version=2.
	if res := sb.run("", "secrets", "enable", "-path=secret", "kv-v2").want(t, 0); res.stdout != "Success! Enabled the kv-v2 secrets engine at: secret/\n" {
		t.Errorf("secrets enable: %q", res.stdout)
	}
	sb.run("", "secrets", "enable", "-path=kv1", "kv").want(t, 0)
	sb.run("", "secrets", "enable", "-path=kv2", "-version=2", "kv").want(t, 0)
	res = sb.run("", "secrets", "list", "-detailed").want(t, 0)
	if !regexp.MustCompile(`(?m)^secret/\s+kv\s.*map\[version:2\]`).MatchString(res.stdout) ||
		!regexp.MustCompile(`(?m)^kv2/\s+kv\s.*map\[version:2\]`).MatchString(res.stdout) {
		t.Errorf("secrets list -detailed:\n%s", res.stdout)
	}

	// strongbox kv put / kv get
	res = sb.run("", "kv", "put", "secret/creds", "admin=password").want(t, 0)
	if !strings.HasPrefix(res.stdout, "== Secret Path ==\nsecret/data/creds\n") || !strings.Contains(res.stdout, "version            1") {
		t.Errorf("kv put:\n%s", res.stdout)
	}
	res = sb.run("", "kv", "get", "secret/creds").want(t, 0)
	if !regexp.MustCompile(`(?m)^admin\s+password$`).MatchString(res.stdout) {
		t.Errorf("kv get:\n%s", res.stdout)
	}
	if res := sb.run("", "kv", "get", "-field=admin", "secret/creds").want(t, 0); res.stdout != "password" {
		t.Errorf("kv get -field: %q", res.stdout)
	}
	compareJSONWithAPI(t, sb, addr, root)

	sb.run("", "kv", "put", "kv1/creds", "admin=v1").want(t, 0)
	if res := sb.run("", "kv", "get", "-field=admin", "kv1/creds").want(t, 0); res.stdout != "v1" {
		t.Errorf("kv v1 get: %q", res.stdout)
	}
	sb.run("", "kv", "put", "kv2/creds", "admin=v2").want(t, 0)
	if res := sb.run("", "kv", "get", "-field=admin", "kv2/creds").want(t, 0); res.stdout != "v2" {
		t.Errorf("kv -version=2 get: %q", res.stdout)
	}

	// strongbox list auth/token/accessors shows the root token's accessor.
	accessor := strings.TrimSpace(sb.run("", "token", "lookup", "-field=accessor").want(t, 0).stdout)
	res = sb.run("", "list", "auth/token/accessors").want(t, 0)
	if !strings.HasPrefix(res.stdout, "Keys\n----\n") || !strings.Contains(res.stdout, accessor+"\n") {
		t.Errorf("list accessors (want %q):\n%s", accessor, res.stdout)
	}

	// strongbox audit enable file file_path=… / audit list
	auditLog := filepath.Join(dir, "strongbox-audit.log")
	if res := sb.run("", "audit", "enable", "file", "file_path="+auditLog).want(t, 0); res.stdout != "Success! Enabled the file audit device at: file/\n" {
		t.Errorf("audit enable: %q", res.stdout)
	}
	res = sb.run("", "audit", "list").want(t, 0)
	if !regexp.MustCompile(`(?m)^file/\s+file\s+n/a$`).MatchString(res.stdout) {
		t.Errorf("audit list:\n%s", res.stdout)
	}

	// strongbox token lookup <token>
	res = sb.run("", "token", "lookup", root).want(t, 0)
	for _, re := range []string{`(?m)^id\s+` + regexp.QuoteMeta(root) + `$`, `(?m)^policies\s+\[root\]$`, `(?m)^accessor\s+` + regexp.QuoteMeta(accessor) + `$`} {
		if !regexp.MustCompile(re).MatchString(res.stdout) {
			t.Errorf("token lookup lacks %s:\n%s", re, res.stdout)
		}
	}
	if info, err := os.Stat(auditLog); err != nil || info.Size() == 0 {
		t.Errorf("audit log not written: %v", err)
	}

	// A missing secret is exit 2 with Vault's message.
	res = sb.run("", "kv", "get", "secret/missing").want(t, 2)
	if res.stderr != "No value found at secret/data/missing\n" {
		t.Errorf("missing secret: %q", res.stderr)
	}

	// Restart: sealed again, unseal, the data is still there.
	srv.stop(t)
	startServer(t, sb, cfg)
	sb.waitReady()
	sb.run("", "status").want(t, 2)
	unsealThree(t, sb, keys)
	if res := sb.run("", "kv", "get", "-field=admin", "secret/creds").want(t, 0); res.stdout != "password" {
		t.Errorf("after restart: %q", res.stdout)
	}
	sb.run("", "audit", "list").want(t, 0)
}

// unsealThree unseals with three shares: two as arguments, the third piped
// on stdin, as the runbook allows.
func unsealThree(t *testing.T, sb *binRunner, keys []string) {
	t.Helper()
	res := sb.run("", "operator", "unseal", keys[0]).want(t, 0)
	if !strings.Contains(res.stdout, "Unseal Progress    1/3") {
		t.Errorf("unseal 1:\n%s", res.stdout)
	}
	sb.run("", "operator", "unseal", keys[1]).want(t, 0)
	res = sb.run(keys[2]+"\n", "operator", "unseal").want(t, 0)
	if !regexp.MustCompile(`(?m)^Sealed\s+false$`).MatchString(res.stdout) {
		t.Fatalf("still sealed after three keys:\n%s", res.stdout)
	}
}

// compareJSONWithAPI checks `kv get -format=json` against the API's own
// response, field by field (request IDs differ by nature).
func compareJSONWithAPI(t *testing.T, sb *binRunner, addr, token string) {
	t.Helper()
	res := sb.run("", "kv", "get", "-format=json", "secret/creds").want(t, 0)
	var cliOut map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &cliOut); err != nil {
		t.Fatalf("kv get -format=json: %v\n%s", err, res.stdout)
	}
	req, _ := http.NewRequest(http.MethodGet, addr+"/v1/secret/data/creds", nil)
	req.Header.Set("X-Vault-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var apiOut map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&apiOut); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"lease_id", "lease_duration", "renewable", "data", "mount_type"} {
		a, _ := json.Marshal(apiOut[k])
		c, _ := json.Marshal(cliOut[k])
		if !bytes.Equal(a, c) {
			t.Errorf("field %q: cli %s, api %s", k, c, a)
		}
	}
	if _, ok := cliOut["request_id"].(string); !ok {
		t.Errorf("request_id missing: %v", cliOut)
	}
	if _, ok := cliOut["warnings"]; !ok {
		t.Error("warnings missing from the envelope")
	}
}

var initLine = regexp.MustCompile(`(?m)^Unseal Key (\d+): (\S+)$`)

func parseInitOutput(t *testing.T, out string) (keys []string, root string) {
	t.Helper()
	for _, m := range initLine.FindAllStringSubmatch(out, -1) {
		keys = append(keys, m[2])
	}
	if m := regexp.MustCompile(`(?m)^Initial Root Token: (\S+)$`).FindStringSubmatch(out); m != nil {
		root = m[1]
	}
	return keys, root
}

// binRunner runs the built binary with a fixed environment.
type binRunner struct {
	t   *testing.T
	bin string
	env []string
}

func (r *binRunner) run(stdin string, args ...string) result {
	r.t.Helper()
	// Bounded, so a hung command fails the test instead of stalling it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.bin, args...)
	cmd.Env = r.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			r.t.Fatalf("run %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// waitReady polls `status` until the server answers (exit 0 or 2).
func (r *binRunner) waitReady() {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := r.run("", "status")
		if res.code == 0 || res.code == 2 {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("server not ready: %s", res.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type serverProc struct {
	cmd  *exec.Cmd
	done chan error
}

func startServer(t *testing.T, sb *binRunner, cfg string) *serverProc {
	t.Helper()
	cmd := exec.Command(sb.bin, "server", "-config", cfg)
	cmd.Env = sb.env
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("server output:\n%s", logs.String())
		}
	})
	return p
}

// stop sends SIGTERM and waits for a graceful exit.
func (p *serverProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			t.Errorf("server exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop on SIGTERM")
	}
}

func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "strongbox")
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/strongbox/strongbox/cmd/strongbox")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// cleanEnv is the test process's environment without VAULT_*/STRONGBOX_*
// variables, plus extra.
func cleanEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "VAULT_") || strings.HasPrefix(name, "STRONGBOX_") || name == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer collects a child's output from two pipes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
