package core

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/core/raftops"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical/raft"
)

// lateProvider lets the cluster listener exist before the core, as the
// server wires it.
type lateProvider struct{ p atomic.Value } // cluster.TLSProvider

func (l *lateProvider) provider() cluster.TLSProvider {
	p, _ := l.p.Load().(cluster.TLSProvider)
	return p
}

func (l *lateProvider) ServerConfig(proto string) (*tls.Config, error) {
	if p := l.provider(); p != nil {
		return p.ServerConfig(proto)
	}
	return nil, raftops.ErrNoRaftTLS
}

func (l *lateProvider) ClientConfig(proto, name string) (*tls.Config, error) {
	if p := l.provider(); p != nil {
		return p.ClientConfig(proto, name)
	}
	return nil, raftops.ErrNoRaftTLS
}

// storedKeyring reads the raft TLS keyring (with the CA keys) as the active
// node stored it in the barrier; nil if none.
func storedKeyring(ctx context.Context, c *Core) (*cluster.Keyring, error) {
	e, err := c.barrier.Get(ctx, "core/raft/tls")
	if err != nil || e == nil {
		return nil, err
	}
	return cluster.ParseKeyring(e.Value)
}

// storedNodeCert reads node id's raft certificate as the active node
// stored it in the barrier; nil if none or unusable.
func storedNodeCert(ctx context.Context, c *Core, id string) (*cluster.NodeCert, error) {
	e, err := c.barrier.Get(ctx, "core/raft/tls-node/"+id)
	if err != nil || e == nil {
		return nil, err
	}
	nc, err := cluster.ParseNodeCert(e.Value)
	if err != nil {
		return nil, nil
	}
	return nc, nil
}

// clusterNode is a core on raft storage carried over a real cluster port.
type clusterNode struct {
	c  *Core
	l  *cluster.Listener
	id string
}

func newClusterNode(t *testing.T, id string) *clusterNode {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	lp := &lateProvider{}
	l, err := cluster.Listen(ctx, "127.0.0.1:0", lp, logger)
	if err != nil {
		t.Fatal(err)
	}
	b, err := raft.New(ctx, raft.Config{
		Path: t.TempDir(), NodeID: id, PerformanceMultiplier: 1, Logger: logger,
		StreamLayer: l.RaftStreamLayer(cluster.ProtoRaft, l.Addr()),
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{
		Physical: testRaft{b}, Logger: logger, StorageType: "raft",
		ClusterAddr:   "https://" + l.Addr().String(),
		SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(),
	})
	if err != nil {
		t.Fatal(err)
	}
	lp.p.Store(c.ClusterTLS())
	c.SetClusterListener(l)
	t.Cleanup(func() {
		_ = c.Seal(context.Background())
		_ = b.Close()
		_ = l.Close()
	})
	return &clusterNode{c: c, l: l, id: id}
}

// joinAPI serves the unauthenticated join endpoints of c over HTTP, as the
// API listener does.
func joinAPI(t *testing.T, c *Core) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var data map[string]any
		if err := json.NewDecoder(r.Body).Decode(&data); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res, err := c.HandleRequest(r.Context(), &logical.Request{
			Operation: logical.UpdateOperation, Path: strings.TrimPrefix(r.URL.Path, "/v1/"), Data: data,
		})
		if err != nil {
			status := http.StatusInternalServerError
			var ce *logical.CodedError
			if errors.As(err, &ce) {
				status = ce.Status
			}
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []string{err.Error()}})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": res.Response.Data})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// twoNodeCluster starts n1 (initialized, active) and joins n2 to it as a
// non-voter over the cluster port.
func twoNodeCluster(t *testing.T) (n1, n2 *clusterNode, root string) {
	t.Helper()
	ctx := context.Background()
	n1 = newClusterNode(t, "n1")
	res, err := n1.c.Init(ctx, InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := n1.c.Unseal(ctx, res.Keys[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "n1 active", func() bool { return !n1.c.Sealed() && !n1.c.Standby() })
	api := joinAPI(t, n1.c)

	n2 = newClusterNode(t, "n2")
	if err := n2.c.JoinRaft(ctx, raftops.JoinRequest{LeaderAPIAddr: api.URL, AllowHTTPLeader: true, NonVoter: true}); err != nil {
		t.Fatal(err)
	}
	if err := n2.c.Unseal(ctx, res.Keys[0]); err != nil {
		t.Fatalf("unseal to complete the join: %v", err)
	}
	waitFor(t, 30*time.Second, "n2 unsealed standby", func() bool { return !n2.c.Sealed() && n2.c.Standby() })
	return n1, n2, res.RootToken
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dialRaft opens a raft connection to n with cert, trusting n's CAs.
func dialRaft(n *clusterNode, cert tls.Certificate, pool *x509.CertPool) (*tls.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cluster.DialTLS(ctx, n.l.Addr().String(), cluster.ProtoRaft,
		cluster.MutualTLSClientConfig(cert, pool, cluster.KeyringServerName))
}

// refused reports whether a dial was refused: it failed, or (TLS 1.3, where
// the server judges the client certificate after the client's handshake
// returns) the server ends the connection instead of serving it.
func refused(conn *tls.Conn, err error) bool {
	if err != nil {
		return true
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// requireClosed fails unless the peer closed conn (not a timeout).
func requireClosed(t *testing.T, what string, conn net.Conn) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := conn.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("%s: connection still open after remove-peer (read: %v)", what, err)
	}
}

// A node removed from the raft configuration loses the cluster port at once:
// its established raft and forwarding connections are closed and new ones
// are refused; a certificate for a node id outside the configuration is
// refused; no node but the active's barrier holds the CA key.
func TestRaftNodeIdentity(t *testing.T) {
	ctx := context.Background()
	n1, n2, root := twoNodeCluster(t)

	// Followers hold the CA certificates and their own pair only.
	for _, n := range []*clusterNode{n1, n2} {
		k, cert, _ := n.c.raftops.InstalledTLS()
		if k == nil || cert == nil {
			t.Fatalf("%s: no raft TLS installed", n.id)
		}
		raw, _ := json.Marshal(k)
		if k.HasCAKey() || strings.Contains(string(raw), "PRIVATE KEY") {
			t.Errorf("%s holds a CA private key in its TLS state", n.id)
		}
		if got := cert.Leaf.Subject.CommonName; got != n.id {
			t.Errorf("%s presents a certificate for %q", n.id, got)
		}
	}

	_, n2CertP, pool := n2.c.raftops.InstalledTLS()
	n2Cert := *n2CertP

	// A certificate from the cluster CA for an id that is not a member.
	full, err := storedKeyring(ctx, n1.c)
	if err != nil || full == nil {
		t.Fatalf("keyring: %v", err)
	}
	intruder, err := full.IssueNodeCert("intruder", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !refused(dialRaft(n1, intruder, pool)) {
		t.Fatal("a certificate for a node outside the configuration was accepted")
	}

	// A member's raft and forwarding connections are accepted.
	held, err := dialRaft(n1, n2Cert, pool)
	if err != nil {
		t.Fatalf("n2's raft connection to n1 refused while a member: %v", err)
	}
	defer held.Close()
	n1.l.Register(cluster.ProtoForwarding, cluster.HandlerFunc(func(ctx context.Context, conn *tls.Conn) {
		defer conn.Close()
		_, _ = io.Copy(io.Discard, conn)
	}))
	adv := n1.c.haNode.OwnAdvert()
	if adv == nil {
		t.Fatal("n1 advertises no forwarding certificate")
	}
	advPool := x509.NewCertPool()
	advPool.AppendCertsFromPEM(adv.CertPEM)
	advCert, err := tls.X509KeyPair(adv.CertPEM, adv.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	fwConf := &tls.Config{RootCAs: advPool, GetClientCertificate: n2.c.ForwardingClientCertificate(advCert)}
	fwHeld, err := cluster.DialTLS(ctx, n1.l.Addr().String(), cluster.ProtoForwarding, fwConf)
	if err != nil {
		t.Fatalf("n2's forwarding connection refused while a member: %v", err)
	}
	defer fwHeld.Close()
	// The advertised pair alone (what standbys presented before) is not a
	// member's identity.
	oldStyle := &tls.Config{RootCAs: advPool, Certificates: []tls.Certificate{advCert}}
	if !refused(cluster.DialTLS(ctx, n1.l.Addr().String(), cluster.ProtoForwarding, oldStyle)) {
		t.Fatal("a forwarding client without a node certificate was accepted")
	}

	for what, conn := range map[string]*tls.Conn{"raft": held, "forwarding": fwHeld} {
		_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		_, err := conn.Read(make([]byte, 1))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("member's %s connection not served: %v", what, err)
		}
	}

	if _, err := n1.c.HandleRequest(ctx, &logical.Request{
		Operation: logical.UpdateOperation, Path: "sys/storage/raft/remove-peer",
		Data: map[string]any{"server_id": "n2"}, ClientToken: root,
	}); err != nil {
		t.Fatalf("remove-peer: %v", err)
	}

	// At once: established connections are closed, new ones refused.
	requireClosed(t, "raft", held)
	requireClosed(t, "forwarding", fwHeld)
	if !refused(dialRaft(n1, n2Cert, pool)) {
		t.Fatal("removed node's new raft connection accepted")
	}
	if !refused(cluster.DialTLS(ctx, n1.l.Addr().String(), cluster.ProtoForwarding, fwConf)) {
		t.Fatal("removed node's new forwarding connection accepted")
	}
	if nc, err := storedNodeCert(ctx, n1.c, "n2"); err != nil || nc != nil {
		t.Errorf("removed node's certificate still stored (%v)", err)
	}
}

// After a CA rotation the active issues every member a certificate from the
// new CA and each node picks its own up through raft: a follower ends up
// presenting a certificate from the current CA, and is still accepted.
func TestRaftTLSRotationReissuesNodeCerts(t *testing.T) {
	ctx := context.Background()
	n1, n2, _ := twoNodeCluster(t)
	first, err := storedKeyring(ctx, n1.c)
	if err != nil || first == nil {
		t.Fatalf("keyring: %v", err)
	}
	for _, n := range []*clusterNode{n1, n2} {
		n.c.SetRaftTLSRotation(time.Second)
	}
	waitFor(t, 60*time.Second, "n2 presenting a certificate from a promoted new CA", func() bool {
		k, err := storedKeyring(ctx, n1.c)
		if err != nil || k == nil || k.Current.ID == first.Current.ID {
			return false
		}
		_, cert, _ := n2.c.raftops.InstalledTLS()
		return cert != nil && cert.Leaf.Issuer.CommonName == "strongbox raft CA "+k.Current.ID
	})
	_, certP, pool := n2.c.raftops.InstalledTLS()
	cert := *certP
	if refused(dialRaft(n1, cert, pool)) {
		t.Fatal("n1 refused n2's reissued certificate")
	}
}
