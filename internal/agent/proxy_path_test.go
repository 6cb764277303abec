package agent

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
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
