package server

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// TestWrapAudited: the audit log records a wrapped response's wrap_info
// with the token HMAC'd, never the token or the wrapped secret in clear,
// and the unwrap that reads it back.
func TestWrapAudited(t *testing.T) {
	s := startWrapServer(t)
	logPath := t.TempDir() + "/audit.log"
	if err := s.root.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": logPath}}); err != nil {
		t.Fatal(err)
	}
	sec, err := wrapping(t, s.root, "5m").Logical().Read("secret/foo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.root.Logical().Unwrap(sec.WrapInfo.Token); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(sec.WrapInfo.Token)) {
		t.Fatal("the audit log holds the wrapping token in clear")
	}
	var found bool
	for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		var e struct {
			Type     string
			Request  struct{ Path string }
			Response struct {
				Data     map[string]any `json:"data"`
				WrapInfo *struct {
					Token        string `json:"token"`
					TTL          int    `json:"ttl"`
					CreationPath string `json:"creation_path"`
				} `json:"wrap_info"`
			}
		}
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("audit line %s: %v", line, err)
		}
		if e.Type != "response" || e.Request.Path != "secret/foo" {
			continue
		}
		found = true
		w := e.Response.WrapInfo
		if w == nil || !strings.HasPrefix(w.Token, "hmac-sha256:") || w.TTL != 300 || w.CreationPath != "secret/foo" || e.Response.Data != nil {
			t.Fatalf("audited wrapped response: %s", line)
		}
	}
	if !found {
		t.Fatalf("no response entry for the wrapped read in\n%s", raw)
	}
}

// TestWrapAcrossFailover: responses wrapped through a standby (forwarded,
// header and all) unwrap on the node that becomes active after a
// step-down, JWT ones included: the signing key is the cluster's, not the
// node's.
func TestWrapAcrossFailover(t *testing.T) {
	g := &haGroup{nodes: []string{"a", "b"}, subs: map[string][]chan bool{}, leader: "a"}
	storage := inmem.New()
	a := startHANode(t, g, "a", storage)
	b := startHANode(t, g, "b", storage)
	ctx := context.Background()
	res, err := a.core.Init(ctx, core.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*haTestNode{a, b} {
		if err := n.core.Unseal(ctx, res.Keys[0]); err != nil {
			t.Fatal(err)
		}
	}
	waitHealth(t, a, 200)
	waitHealth(t, b, 429)
	cb := b.client(t, res.RootToken)
	if err := cb.Sys().Mount("secret", &vault.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.Logical().Write("secret/foo", map[string]any{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	plain, err := wrapping(t, cb, "5m").Logical().Read("secret/foo")
	if err != nil || plain.WrapInfo == nil {
		t.Fatalf("wrapped read through the standby: %v %+v", err, plain)
	}
	jw := wrapping(t, cb, "5m")
	jw.AddHeader("X-Vault-Wrap-Format", "jwt")
	jwt, err := jw.Logical().Read("secret/foo")
	if err != nil || jwt.WrapInfo == nil || strings.Count(jwt.WrapInfo.Token, ".") != 2 {
		t.Fatalf("JWT-wrapped read through the standby: %v %+v", err, jwt)
	}

	if err := cb.Sys().StepDown(); err != nil {
		t.Fatalf("step-down: %v", err)
	}
	waitHealth(t, b, 200)
	waitHealth(t, a, 429)

	ca := a.client(t, res.RootToken)
	for _, tok := range []string{plain.WrapInfo.Token, jwt.WrapInfo.Token} {
		look, err := anonClient(t, a).Logical().Write("sys/wrapping/lookup", map[string]any{"token": tok})
		if err != nil || look.Data["creation_path"] != "secret/foo" {
			t.Fatalf("lookup after failover: %v %v", err, look)
		}
		got, err := ca.Logical().Unwrap(tok)
		if err != nil || got.Data["a"] != "b" {
			t.Fatalf("unwrap after failover: %v %v", err, got)
		}
		_, err = b.client(t, res.RootToken).Logical().Unwrap(tok)
		assertInvalidWrapping(t, err)
	}
}

// anonClient is a client of n without a token.
func anonClient(t *testing.T, n *haTestNode) *vault.Client {
	c := n.client(t, "")
	c.ClearToken()
	return c
}
