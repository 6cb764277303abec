package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// memberSet is a node-id allow-list a test can change, used as
// VerifyConnection.
type memberSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (m *memberSet) set(ids ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ids = map[string]bool{}
	for _, id := range ids {
		m.ids[id] = true
	}
}

func (m *memberSet) verify(cs tls.ConnectionState) error {
	id, err := PeerNodeID(cs)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.ids[id] {
		return fmt.Errorf("%q is not a member", id)
	}
	return nil
}

// memberConfigs is keyringConfigs with the server side checking members.
func memberConfigs(t *testing.T, k *Keyring, nodeID string, m *memberSet, protos ...string) *TLSConfigSet {
	t.Helper()
	cert := issue(t, k, nodeID)
	p := pool(t, k)
	set := &TLSConfigSet{}
	for _, proto := range protos {
		sc := MutualTLSServerConfig(cert, p)
		sc.VerifyConnection = m.verify
		set.SetServer(proto, sc)
		set.SetClient(proto, MutualTLSClientConfig(cert, p, KeyringServerName))
	}
	return set
}

// stillOpen reports whether the peer left c open (a read times out).
func stillOpen(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Recheck closes the established connections (raft ones handed to the stream
// layer, and ones inside a handler) of a peer its protocol's configuration
// now refuses, and keeps the others.
func TestListenerRecheckClosesRefusedPeers(t *testing.T) {
	k := newTestKeyring(t)
	members := &memberSet{}
	members.set("server", "a", "b")
	srv := newTestListener(t, memberConfigs(t, k, "server", members, ProtoRaft, "other_v1"))
	sl := srv.RaftStreamLayer(ProtoRaft, nil)
	go func() {
		for {
			c, err := sl.Accept()
			if err != nil {
				return
			}
			// Like raft: keep reading until the connection ends.
			go func() {
				defer c.Close()
				_, _ = c.Read(make([]byte, 1))
			}()
		}
	}()
	srv.Register("other_v1", HandlerFunc(func(ctx context.Context, c *tls.Conn) {
		_, _ = c.Read(make([]byte, 1))
	}))

	dial := func(id, proto string) *tls.Conn {
		t.Helper()
		c, err := DialTLS(testContext(t), srv.Addr().String(), proto, MutualTLSClientConfig(issue(t, k, id), pool(t, k), KeyringServerName))
		if err != nil {
			t.Fatalf("dial as %s (%s): %v", id, proto, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	aRaft, aOther, bRaft := dial("a", ProtoRaft), dial("a", "other_v1"), dial("b", ProtoRaft)
	for _, c := range []net.Conn{aRaft, aOther, bRaft} {
		if !stillOpen(c) {
			t.Fatal("a member's connection was not served")
		}
	}
	if n := srv.Recheck(); n != 0 {
		t.Fatalf("Recheck closed %d connections of members", n)
	}

	members.set("server", "b")
	if n := srv.Recheck(); n != 2 {
		t.Errorf("Recheck closed %d connections, want a's 2", n)
	}
	if stillOpen(aRaft) || stillOpen(aOther) {
		t.Error("a removed peer's connection is still open")
	}
	if !stillOpen(bRaft) {
		t.Error("a member's connection was closed")
	}
	// A new connection of the removed peer is refused at the handshake.
	c, err := DialTLS(testContext(t), srv.Addr().String(), ProtoRaft, MutualTLSClientConfig(issue(t, k, "a"), pool(t, k), KeyringServerName))
	if err == nil {
		if stillOpen(c) {
			t.Error("a removed peer's new connection was accepted")
		}
		c.Close()
	}
	// Connections raft closed are forgotten.
	srv.mu.Lock()
	held := len(srv.peers)
	srv.mu.Unlock()
	if held != 1 {
		t.Errorf("listener still holds %d connections, want b's 1", held)
	}
}

// Raft connections closed by raft itself are released, so the Listener does
// not keep them.
func TestStreamLayerReleasesClosedConns(t *testing.T) {
	k := newTestKeyring(t)
	la, a := raftNode(t, k, "a")
	_, b := raftNode(t, k, "b")
	for range 3 {
		c, err := b.Dial(raft.ServerAddress(la.Addr().String()), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		s, err := a.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		s.Close()
	}
	la.mu.Lock()
	held := len(la.peers)
	la.mu.Unlock()
	if held != 0 {
		t.Errorf("listener holds %d closed raft connections", held)
	}
}

// A public keyring verifies but cannot issue; node certificates name their
// node and survive their JSON form.
func TestKeyringPublicAndNodeCert(t *testing.T) {
	k := newTestKeyring(t)
	if err := k.Stage(); err != nil {
		t.Fatal(err)
	}
	pub := k.Public()
	raw, err := json.Marshal(pub)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "PRIVATE KEY") || pub.HasCAKey() {
		t.Fatalf("public keyring holds a private key: %s", raw)
	}
	if k.Current.KeyPEM == "" {
		t.Fatal("Public changed the full keyring")
	}
	parsed, err := ParseKeyring(raw)
	if err != nil {
		t.Fatalf("ParseKeyring(public): %v", err)
	}
	if _, err := parsed.IssueNodeCert("n1", nil); !errors.Is(err, ErrNoCAKey) {
		t.Fatalf("public keyring issued a certificate (err %v)", err)
	}
	if !parsed.Trusts(k.Current.ID) || !parsed.Trusts(k.Next.ID) || parsed.Trusts("other") {
		t.Error("Trusts does not match the keyring's CAs")
	}

	nc, err := k.IssueNode("n1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if nc.CAID != k.Current.ID {
		t.Errorf("issued by %q, want current %q", nc.CAID, k.Current.ID)
	}
	raw, _ = json.Marshal(nc)
	back, err := ParseNodeCert(raw)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := back.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if id, err := PeerNodeID(tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert.Leaf}}); err != nil || id != "n1" {
		t.Errorf("PeerNodeID = %q, %v; want n1", id, err)
	}
	if _, err := PeerNodeID(tls.ConnectionState{}); !errors.Is(err, ErrNoPeerIdentity) {
		t.Errorf("PeerNodeID without a certificate: %v", err)
	}
	back.NodeID = "n2"
	if _, err := back.TLSCertificate(); err == nil {
		t.Error("a certificate naming n1 was accepted as n2's")
	}
}
