package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// The proxy forwards the path as the client escaped it and the query as
// given: a KV key holding %2F must not become two path segments.
func TestProxyKeepsEscapedPathAndQuery(t *testing.T) {
	var got string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath() + "?" + r.URL.RawQuery
		w.WriteHeader(http.StatusNoContent)
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	p := &proxy{target: u, client: up.Client(), log: slog.New(slog.DiscardHandler)}
	front := httptest.NewServer(p)
	defer front.Close()
	resp, err := http.Get(front.URL + "/v1/secret/data/a%2Fb?version=2")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if want := "/v1/secret/data/a%2Fb?version=2"; got != want {
		t.Fatalf("upstream saw %q, want %q", got, want)
	}
}

// A proxy without auto_auth forwards as is; with the server unreachable it
// answers 502 in Vault's error shape.
func TestProxyOnlyServerDown(t *testing.T) {
	down := freeAddr(t) // nothing listens there
	addr := freeAddr(t)
	cfg, err := ParseProxy("p.hcl", []byte(fmt.Sprintf("vault {\n  address = \"http://%s\"\n  retry { num_retries = -1 }\n}\nlistener \"tcp\" {\n  address = %q\n  tls_disable = true\n}\n", down, addr)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, nil) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var resp *http.Response
	eventually(t, 20*time.Second, "the proxy", func() bool {
		resp, err = http.Get("http://" + addr + "/v1/sys/health")
		return err == nil
	})
	defer resp.Body.Close()
	var body struct{ Errors []string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusBadGateway || len(body.Errors) != 1 {
		t.Fatalf("status %d, body %+v (%v)", resp.StatusCode, body, err)
	}
}
