package testcluster

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// echoServer echoes every connection and counts what it saw.
type echoServer struct {
	ln       net.Listener
	accepted atomic.Int64
	received atomic.Int64
}

func newEchoServer(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.accepted.Add(1)
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						e.received.Add(int64(n))
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return e
}

func newTestProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := NewProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads it back, bounded so a bug cannot hang.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	readBack(t, c, msg)
}

func readBack(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read back %q: %v", msg, err)
	}
	if string(buf) != msg {
		t.Fatalf("read %q, want %q", buf, msg)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestProxyForwardsAndHalfCloses(t *testing.T) {
	echo := newEchoServer(t)
	p := newTestProxy(t, echo.ln.Addr().String())
	c := dial(t, p.Addr())
	roundTrip(t, c, "hello")
	roundTrip(t, c, "again")
	// A half-close travels through: the echo server sees EOF and hangs up.
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("after half-close read = %d, %v; want EOF", n, err)
	}
	eventually(t, "the link to close", func() bool { return p.Stats().Open == 0 })
}

func TestProxyCutHoldsDataUntilHeal(t *testing.T) {
	echo := newEchoServer(t)
	p := newTestProxy(t, echo.ln.Addr().String())
	c := dial(t, p.Addr())
	roundTrip(t, c, "warm")
	before := echo.received.Load()

	p.Cut()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	// The proxy holds the bytes (the writer is parked on the cut), so the
	// echo server cannot have them.
	eventually(t, "the proxy to hold 4 bytes", func() bool { return p.Stats().Pending >= 4 })
	if got := echo.received.Load(); got != before {
		t.Fatalf("echo server received %d bytes through a cut link", got-before)
	}
	p.Heal()
	readBack(t, c, "ping")
}

func TestProxyCutOneDirection(t *testing.T) {
	echo := newEchoServer(t)
	p := newTestProxy(t, echo.ln.Addr().String())
	c := dial(t, p.Addr())
	roundTrip(t, c, "warm")
	before := echo.received.Load()

	p.CutDirection(FromTarget)
	if _, err := c.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	// Requests still reach the target; its answer is held.
	eventually(t, "the echo server to receive", func() bool { return echo.received.Load() == before+3 })
	eventually(t, "the proxy to hold the reply", func() bool { return p.Stats().Pending >= 3 })
	p.Heal()
	readBack(t, c, "abc")
}

func TestProxyNewConnectionWhileCut(t *testing.T) {
	echo := newEchoServer(t)
	p := newTestProxy(t, echo.ln.Addr().String())
	p.Cut()
	c := dial(t, p.Addr())
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the proxy to accept", func() bool {
		s := p.Stats()
		return s.Accepted == 1 && s.Open == 1
	})
	// The cut came before the connection, so the proxy cannot dial the
	// target before Heal; the byte waits in the kernel.
	if n := echo.accepted.Load(); n != 0 {
		t.Fatalf("target saw %d connections through a cut link", n)
	}
	p.Heal()
	readBack(t, c, "x")
	if n := echo.accepted.Load(); n != 1 {
		t.Fatalf("target saw %d connections, want 1", n)
	}
}

func TestProxyDelay(t *testing.T) {
	const d = 150 * time.Millisecond
	tests := []struct {
		name string
		set  func(p *Proxy)
	}{
		{"both ways", func(p *Proxy) { p.Delay(d) }},
		{"to target", func(p *Proxy) { p.DelayDirection(ToTarget, d) }},
		{"from target", func(p *Proxy) { p.DelayDirection(FromTarget, d) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			echo := newEchoServer(t)
			p := newTestProxy(t, echo.ln.Addr().String())
			c := dial(t, p.Addr())
			roundTrip(t, c, "warm")
			tc.set(p)
			start := time.Now()
			roundTrip(t, c, "slow")
			// A lower bound only: each chunk is held at least d after the
			// proxy read it, which was after the write.
			if el := time.Since(start); el < d {
				t.Fatalf("round trip took %s with a %s delay", el, d)
			}
			p.Heal()
			roundTrip(t, c, "fast")
		})
	}
}

func TestProxyBlockSources(t *testing.T) {
	echo := newEchoServer(t)
	p := newTestProxy(t, echo.ln.Addr().String())
	names := make(chan string)
	p.SetIdentify(func(net.Addr) string { return <-names })
	a := dial(t, p.Addr())
	names <- "a" // consumed by a's link before b dials: no mix-up
	b := dial(t, p.Addr())
	names <- "b"
	roundTrip(t, a, "a1")
	roundTrip(t, b, "b1")

	p.BlockSources("a")
	if _, err := a.Write([]byte("a2")); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, b, "b2") // b is not blocked
	eventually(t, "a's bytes to be held", func() bool { return p.Stats().Pending >= 2 })
	p.BlockSources() // unblock all
	readBack(t, a, "a2")
}

func TestProxyTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	ln.Close()
	p := newTestProxy(t, target)
	c := dial(t, p.Addr())
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read through a proxy to a closed port succeeded")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection to a down target was left hanging")
	}
}

func TestProxyCloseEndsConnections(t *testing.T) {
	echo := newEchoServer(t)
	p, err := NewProxy(echo.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr())
	roundTrip(t, c, "hi")
	p.Cut() // a parked writer must not keep Close waiting
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "held bytes", func() bool { return p.Stats().Pending >= 4 })
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after Close")
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Fatal("proxy still accepting after Close")
	}
}
