package cluster

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// raftNode is one Listener with a raft stream layer, its certificate issued by
// the shared keyring.
func raftNode(t *testing.T, k *Keyring, id string) (*Listener, raft.StreamLayer) {
	t.Helper()
	l := newTestListener(t, keyringConfigs(t, k, id, ProtoRaft, "other_v1"))
	return l, l.RaftStreamLayer(ProtoRaft, nil)
}

func TestRaftStreamLayerDialAccept(t *testing.T) {
	k := newTestKeyring(t)
	_, a := raftNode(t, k, "a")
	lb, b := raftNode(t, k, "b")
	if b.Addr().String() != lb.Addr().String() {
		t.Fatalf("Addr without advertise = %s, want bound %s", b.Addr(), lb.Addr())
	}

	accepted := make(chan net.Conn, 1)
	acceptErr := make(chan error, 1)
	go func() {
		c, err := b.Accept()
		if err != nil {
			acceptErr <- err
			return
		}
		accepted <- c
	}()

	c, err := a.Dial(raft.ServerAddress(b.Addr().String()), 5*time.Second)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatalf("write: %v", err)
	}
	var srv net.Conn
	select {
	case srv = <-accepted:
	case err := <-acceptErr:
		t.Fatalf("Accept: %v", err)
	case <-testContext(t).Done():
		t.Fatal("Accept timed out")
	}
	defer srv.Close()
	_ = srv.SetDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(srv, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("server read %q, %v", buf, err)
	}
	if _, err := srv.Write([]byte("pong")); err != nil {
		t.Fatalf("server write: %v", err)
	}
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "pong" {
		t.Fatalf("client read %q, %v", buf, err)
	}
}

func TestRaftNetworkTransportRoundTrip(t *testing.T) {
	k := newTestKeyring(t)
	_, sa := raftNode(t, k, "a")
	_, sb := raftNode(t, k, "b")
	ta := raft.NewNetworkTransport(sa, 2, 5*time.Second, io.Discard)
	tb := raft.NewNetworkTransport(sb, 2, 5*time.Second, io.Discard)
	t.Cleanup(func() {
		_ = ta.Close()
		_ = tb.Close()
	})
	if tb.LocalAddr() != raft.ServerAddress(sb.Addr().String()) {
		t.Fatalf("LocalAddr = %s", tb.LocalAddr())
	}

	ctx := testContext(t)
	go func() {
		for {
			select {
			case rpc := <-tb.Consumer():
				switch req := rpc.Command.(type) {
				case *raft.AppendEntriesRequest:
					rpc.Respond(&raft.AppendEntriesResponse{
						Term: req.Term, LastLog: req.PrevLogEntry + uint64(len(req.Entries)), Success: true,
					}, nil)
				case *raft.RequestVoteRequest:
					rpc.Respond(&raft.RequestVoteResponse{Term: req.Term, Granted: true}, nil)
				default:
					rpc.Respond(nil, errors.New("unexpected RPC"))
				}
			case <-ctx.Done():
				return
			}
		}
	}()

	target := tb.LocalAddr()
	for i := range 3 { // repeated RPCs reuse pooled connections
		req := raft.AppendEntriesRequest{
			RPCHeader:    raft.RPCHeader{ID: []byte("a"), Addr: ta.EncodePeer("a", ta.LocalAddr())},
			Term:         7,
			PrevLogEntry: uint64(10 * i),
			Entries:      []*raft.Log{{Index: uint64(10*i + 1), Term: 7, Type: raft.LogCommand, Data: []byte("x")}},
		}
		var resp raft.AppendEntriesResponse
		if err := ta.AppendEntries("b", target, &req, &resp); err != nil {
			t.Fatalf("AppendEntries %d: %v", i, err)
		}
		if !resp.Success || resp.Term != 7 || resp.LastLog != uint64(10*i+1) {
			t.Fatalf("AppendEntries %d response = %+v", i, resp)
		}
	}
	var vote raft.RequestVoteResponse
	if err := ta.RequestVote("b", target, &raft.RequestVoteRequest{Term: 8}, &vote); err != nil {
		t.Fatalf("RequestVote: %v", err)
	}
	if !vote.Granted || vote.Term != 8 {
		t.Fatalf("RequestVote response = %+v", vote)
	}
}

func TestRaftStreamLayerAdvertiseAndClose(t *testing.T) {
	k := newTestKeyring(t)
	l := newTestListener(t, keyringConfigs(t, k, "a", ProtoRaft, "other_v1"))
	l.Register("other_v1", writeAndClose("other"))
	adv := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 8201}
	s := l.RaftStreamLayer(ProtoRaft, adv)
	if s.Addr().String() != adv.String() {
		t.Fatalf("Addr = %s, want advertised %s", s.Addr(), adv)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
	// raft is no longer served, the other protocol still is.
	if c, err := l.Dial(testContext(t), ProtoRaft, l.Addr().String()); err == nil {
		c.Close()
		t.Fatal("raft dial succeeded after stream layer Close")
	}
	c, err := l.Dial(testContext(t), "other_v1", l.Addr().String())
	if err != nil {
		t.Fatalf("other protocol after raft Close: %v", err)
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "other" {
		t.Fatalf("other protocol read %q, %v", b, err)
	}
}

func TestRaftStreamLayerAcceptEndsWithListener(t *testing.T) {
	k := newTestKeyring(t)
	l, err := Listen(testContext(t), "127.0.0.1:0", keyringConfigs(t, k, "a", ProtoRaft), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := l.RaftStreamLayer(ProtoRaft, nil)
	done := make(chan error, 1)
	go func() {
		_, err := s.Accept()
		done <- err
	}()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept = %v, want net.ErrClosed", err)
		}
	case <-testContext(t).Done():
		t.Fatal("Accept still blocked after Listener.Close")
	}
}
