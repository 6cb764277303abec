package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// listenerServer starts an initialized, unsealed server on file storage
// whose tcp listener carries listenerExtra and whose top level carries
// topExtra. It returns the server and the root token.
func listenerServer(t *testing.T, listenerExtra, topExtra string) (*testServer, string) {
	t.Helper()
	srv := startServer(t, Options{ConfigPaths: []string{listenerConfig(t, t.TempDir(), listenerExtra, topExtra)}})
	c := srv.client("")
	if strings.Contains(listenerExtra, "x_forwarded_for_reject_not_present") {
		// A server that demands X-Forwarded-For gets one naming this host
		// (twice, for hop skips).
		c.AddHeader("X-Forwarded-For", "127.0.0.1, 127.0.0.1")
	}
	_, root := initUnseal(t, c)
	return srv, root
}

// listenerConfig writes a file-storage config with one plain-HTTP tcp
// listener on a free 127.0.0.1 port.
func listenerConfig(t *testing.T, dir, listenerExtra, topExtra string) string {
	t.Helper()
	p := filepath.Join(dir, "config.hcl")
	body := fmt.Sprintf(`storage "file" {
  path = %q
}
listener "tcp" {
  address     = "127.0.0.1:0"
  tls_disable = true
%s
}
disable_mlock = true
%s
`, filepath.Join(dir, "data"), listenerExtra, topExtra)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// call sends one request with the given headers and returns the response
// with its body read.
func call(t *testing.T, method, url string, headers map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

// enableFileAudit turns on a file audit device and returns its path.
func enableFileAudit(t *testing.T, c *vault.Client) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "audit.log")
	if err := c.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": p}}); err != nil {
		t.Fatal(err)
	}
	return p
}

// auditRemoteAddrs returns the remote_address of every request entry for
// path in the audit log.
func auditRemoteAddrs(t *testing.T, logPath, path string) []string {
	t.Helper()
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var e struct {
			Type    string `json:"type"`
			Request struct {
				Path          string `json:"path"`
				RemoteAddress string `json:"remote_address"`
			} `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line is not JSON: %q", sc.Text())
		}
		if e.Type == "request" && e.Request.Path == path {
			out = append(out, e.Request.RemoteAddress)
		}
	}
	return out
}

// TestRequireRequestHeader: with require_request_header, a request without
// "X-Vault-Request: true" gets 412; the official client (which sends it)
// works.
func TestRequireRequestHeader(t *testing.T) {
	srv, root := listenerServer(t, "require_request_header = true", "")
	url := "http://" + srv.addr + "/v1/sys/mounts"
	resp, body := call(t, "GET", url, map[string]string{"X-Vault-Token": root}, nil)
	if resp.StatusCode != http.StatusPreconditionFailed || !strings.Contains(string(body), "X-Vault-Request") {
		t.Fatalf("without the header: %d %s, want 412", resp.StatusCode, body)
	}
	resp, body = call(t, "GET", url, map[string]string{"X-Vault-Token": root, "X-Vault-Request": "true"}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("with the header: %d %s", resp.StatusCode, body)
	}
	if _, err := srv.client(root).Sys().ListMounts(); err != nil {
		t.Fatalf("official client: %v", err)
	}
}

// TestXForwardedFor: a request through an authorized proxy is audited with
// the client address X-Forwarded-For names (hop skips counted from the
// right); one without the header is refused with 400 when
// x_forwarded_for_reject_not_present is set.
func TestXForwardedFor(t *testing.T) {
	srv, root := listenerServer(t, `
  x_forwarded_for_authorized_addrs   = "127.0.0.0/8"
  x_forwarded_for_hop_skips          = 1
  x_forwarded_for_reject_not_present = true`, "")
	c := srv.client(root)
	c.AddHeader("X-Forwarded-For", "198.51.100.1, 127.0.0.1")
	auditLog := enableFileAudit(t, c)
	url := "http://" + srv.addr + "/v1/sys/policies/acl"
	resp, body := call(t, "LIST", url, map[string]string{"X-Vault-Token": root, "X-Forwarded-For": "203.0.113.7, 10.1.1.1"}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("LIST through the proxy: %d %s", resp.StatusCode, body)
	}
	if got := auditRemoteAddrs(t, auditLog, "sys/policies/acl/"); len(got) != 1 || got[0] != "203.0.113.7" {
		t.Fatalf("audited remote_address = %q, want [203.0.113.7] (one hop skipped)", got)
	}
	resp, body = call(t, "GET", url+"?list=true", map[string]string{"X-Vault-Token": root}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "missing x-forwarded-for header") {
		t.Fatalf("without X-Forwarded-For: %d %s, want 400", resp.StatusCode, body)
	}
	resp, body = call(t, "GET", url+"?list=true", map[string]string{"X-Vault-Token": root, "X-Forwarded-For": "203.0.113.7"}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "hops to skip") {
		t.Fatalf("chain shorter than the hops to skip: %d %s, want 400", resp.StatusCode, body)
	}
}

// TestXForwardedForNotAuthorized: X-Forwarded-For from an address outside
// x_forwarded_for_authorized_addrs is refused with 403 when
// x_forwarded_for_reject_not_authorized is set, and ignored when not.
func TestXForwardedForNotAuthorized(t *testing.T) {
	srv, root := listenerServer(t, `
  x_forwarded_for_authorized_addrs      = "10.9.9.9"
  x_forwarded_for_reject_not_authorized = true`, "")
	url := "http://" + srv.addr + "/v1/sys/mounts"
	resp, body := call(t, "GET", url, map[string]string{"X-Vault-Token": root, "X-Forwarded-For": "203.0.113.7"}, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "not authorized for x-forwarded-for") {
		t.Fatalf("XFF from an unauthorized peer: %d %s, want 403", resp.StatusCode, body)
	}
	srv2, root2 := listenerServer(t, `x_forwarded_for_authorized_addrs = "10.9.9.9"`, "")
	c := srv2.client(root2)
	auditLog := enableFileAudit(t, c)
	resp, body = call(t, "GET", "http://"+srv2.addr+"/v1/sys/mounts", map[string]string{"X-Vault-Token": root2, "X-Forwarded-For": "203.0.113.7"}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("XFF ignored: %d %s", resp.StatusCode, body)
	}
	if got := auditRemoteAddrs(t, auditLog, "sys/mounts"); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Fatalf("remote_address = %q, want the peer's own 127.0.0.1", got)
	}
}
