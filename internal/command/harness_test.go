package command

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/server"
)

// TestMain clears VAULT_* variables: the api client reads some of them
// from the process environment, and the tests pass theirs explicitly.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "VAULT_") || strings.HasPrefix(name, "STRONGBOX_") {
			os.Unsetenv(name)
		}
	}
	os.Exit(m.Run())
}

// recorded is one request the fake server received.
type recorded struct {
	Method string // LIST for GET ?list=true
	Path   string
	Query  map[string][]string
	Header http.Header
	Body   map[string]any
	Raw    string
}

// fakeVault imitates the Vault endpoints a test needs: routes map
// "METHOD /v1/path" (a trailing * matches a prefix) to a handler; every
// request is recorded; unknown routes get Vault's 404.
type fakeVault struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]http.HandlerFunc
	order  []string
	reqs   []recorded
}

func newFakeVault(t *testing.T) *fakeVault {
	t.Helper()
	f := &fakeVault{t: t, routes: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeVault) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	method := r.Method
	if method == http.MethodGet && r.URL.Query().Get("list") == "true" {
		method = "LIST"
	}
	rec := recorded{Method: method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Raw: string(raw)}
	if len(raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		_ = dec.Decode(&rec.Body)
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	h := f.match(method + " " + r.URL.Path)
	f.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if h == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{}})
		return
	}
	h(w, r)
}

func (f *fakeVault) match(key string) http.HandlerFunc {
	if h, ok := f.routes[key]; ok {
		return h
	}
	best := ""
	for _, k := range f.order {
		if p, ok := strings.CutSuffix(k, "*"); ok && strings.HasPrefix(key, p) && len(p) > len(best) {
			best = p
		}
	}
	if best != "" {
		return f.routes[best+"*"]
	}
	return nil
}

// on answers requests to route with status and a JSON body (nil: none).
func (f *fakeVault) on(route string, status int, body any) {
	f.onFunc(route, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, status, body) })
}

func (f *fakeVault) onFunc(route string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[route] = h
	f.order = append(f.order, route)
}

// kvMount makes sys/internal/ui/mounts answer for a KV mount.
func (f *fakeVault) kvMount(mount string, version int) {
	f.on("GET /v1/sys/internal/ui/mounts/"+strings.TrimSuffix(mount, "/")+"*", 200, map[string]any{
		"data": map[string]any{"path": mount, "type": "kv", "options": map[string]any{"version": strconv.Itoa(version)}},
	})
}

// requests returns the recorded requests matching "METHOD /v1/path".
func (f *fakeVault) requests(route string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.reqs {
		if r.Method+" "+r.Path == route {
			out = append(out, r)
		}
	}
	return out
}

// only returns the single request to route, failing otherwise.
func (f *fakeVault) only(route string) recorded {
	f.t.Helper()
	rs := f.requests(route)
	if len(rs) != 1 {
		f.mu.Lock()
		var all []string
		for _, r := range f.reqs {
			all = append(all, r.Method+" "+r.Path)
		}
		f.mu.Unlock()
		f.t.Fatalf("want one %s, got %d; all requests: %v", route, len(rs), all)
	}
	return rs[0]
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if body != nil {
		_ = json.NewEncoder(w).Encode(body)
	}
}

// result is one CLI run.
type result struct {
	code   int
	stdout string
	stderr string
}

// cli runs the CLI in-process against a server address.
type cli struct {
	t        *testing.T
	env      map[string]string
	terminal bool   // stdin and stdout are terminals
	password string // what the terminal "types" at a hidden prompt
	prompted int
	runSrv   func(ctx context.Context, opts server.Options, reload <-chan struct{}) error
}

func newCLI(t *testing.T, addr string) *cli {
	t.Helper()
	return &cli{t: t, env: map[string]string{"VAULT_ADDR": addr, "HOME": t.TempDir()}}
}

func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	var out, errb bytes.Buffer
	sys := system{
		isTerminal: func(any) bool { return c.terminal },
		readPassword: func(io.Reader) (string, error) {
			c.prompted++
			if c.password == "" {
				return "", errors.New("no input")
			}
			return c.password, nil
		},
		runServer: c.runSrv,
	}
	if sys.runServer == nil {
		sys.runServer = func(context.Context, server.Options, <-chan struct{}) error {
			return errors.New("no server in this test")
		}
	}
	code := execute(context.Background(), args, strings.NewReader(stdin), &out, &errb, mapEnviron(c.env), sys)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// want checks a run's exit code, reporting its output on mismatch.
func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

func num(s string) json.Number { return json.Number(s) }

// allCommands lists cmd and every command below it.
func allCommands(cmd *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{cmd}
	for _, c := range cmd.Commands() {
		out = append(out, allCommands(c)...)
	}
	return out
}
