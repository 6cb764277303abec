package testcluster

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Direction names one way of a proxied connection.
type Direction int

const (
	// ToTarget is data from the connecting side to the proxied listener.
	ToTarget Direction = iota
	// FromTarget is data from the proxied listener back to the connecting side.
	FromTarget
)

// String names the direction.
func (d Direction) String() string {
	if d == FromTarget {
		return "from-target"
	}
	return "to-target"
}

const (
	proxyDialTimeout = 5 * time.Second
	proxyChunk       = 32 << 10
	proxyQueue       = 64 // chunks read ahead per direction
)

// Proxy is a TCP proxy on 127.0.0.1 in front of one listener (a node's
// cluster port), with faults that need no root:
//
//   - Cut stalls data, like a partition: bytes already sent stay queued (in
//     the proxy and the kernel's buffers) and nothing is delivered until
//     Heal, so TCP's promise holds — data arrives late or the connection
//     ends when a side gives up. A connection opened while the to-target
//     direction is cut is not passed on to the target until Heal.
//   - Delay holds every chunk for a fixed time before delivering it, in
//     order, without limiting throughput.
//   - BlockSources cuts only the connections opened by given sources, named
//     by the identify function (SetIdentify): that is how Cluster.Partition
//     separates node pairs behind per-node proxies.
//
// All methods are safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every fault change
	cut      [2]bool
	delay    [2]time.Duration
	blocked  map[string]bool
	identify func(net.Addr) string
	links    map[*link]struct{}
	closed   bool
	quit     chan struct{}
	wg       sync.WaitGroup

	accepted atomic.Int64
	pending  atomic.Int64 // bytes read from one side, not yet written to the other
}

var _ Link = (*Proxy)(nil)

// NewProxy listens on a free 127.0.0.1 port and forwards every connection to
// target (host:port). Close it when done.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy to %s: %w", target, err)
	}
	p := &Proxy{
		ln: ln, target: target,
		changed: make(chan struct{}), blocked: map[string]bool{},
		links: map[*link]struct{}{}, quit: make(chan struct{}),
	}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's listening address, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is the address connections are forwarded to.
func (p *Proxy) Target() string { return p.target }

// SetIdentify sets the function naming the source of a new connection from
// its remote address ("" when unknown). Unknown sources are never blocked by
// BlockSources, only by Cut.
func (p *Proxy) SetIdentify(fn func(remote net.Addr) string) {
	p.mu.Lock()
	p.identify = fn
	p.mu.Unlock()
}

// Cut implements Link.
func (p *Proxy) Cut() { p.update(func() { p.cut = [2]bool{true, true} }) }

// CutDirection implements Link.
func (p *Proxy) CutDirection(d Direction) { p.update(func() { p.cut[d] = true }) }

// Delay implements Link.
func (p *Proxy) Delay(d time.Duration) { p.update(func() { p.delay = [2]time.Duration{d, d} }) }

// DelayDirection implements Link.
func (p *Proxy) DelayDirection(dir Direction, d time.Duration) {
	p.update(func() { p.delay[dir] = d })
}

// BlockSources cuts, both ways, every connection whose source is one of ids,
// open or new, and unblocks all others. No ids unblocks every source.
func (p *Proxy) BlockSources(ids ...string) {
	p.update(func() {
		p.blocked = map[string]bool{}
		for _, id := range ids {
			if id != "" {
				p.blocked[id] = true
			}
		}
	})
}

// Heal implements Link: no cut, no block, no delay.
func (p *Proxy) Heal() {
	p.update(func() {
		p.cut, p.delay, p.blocked = [2]bool{}, [2]time.Duration{}, map[string]bool{}
	})
}

// ProxyStats are counters for tests of the proxy itself.
type ProxyStats struct {
	Accepted int64 // connections accepted so far
	Open     int   // connections open now
	Pending  int64 // bytes held inside the proxy (cut, delayed or in flight)
}

// Stats returns the current counters.
func (p *Proxy) Stats() ProxyStats {
	p.mu.Lock()
	open := len(p.links)
	p.mu.Unlock()
	return ProxyStats{Accepted: p.accepted.Load(), Open: open, Pending: p.pending.Load()}
}

// Close stops listening, closes every connection and waits for the proxy's
// goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.quit)
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, l := range links {
		l.close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) update(fn func()) {
	p.mu.Lock()
	fn()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// passable reports whether data from src may flow in dir now, and the
// channel that is closed at the next fault change.
func (p *Proxy) passable(dir Direction, src string) (bool, time.Duration, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.cut[dir] && !p.blocked[src], p.delay[dir], p.changed
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.accepted.Add(1)
		p.wg.Add(1)
		go p.serve(c)
	}
}

// link is one proxied connection.
type link struct {
	client net.Conn
	src    string
	done   chan struct{}

	mu     sync.Mutex
	server net.Conn // nil until dialed
	closed bool
}

func (l *link) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	close(l.done)
	l.client.Close()
	if l.server != nil {
		l.server.Close()
	}
}

// setServer attaches the dialed connection; false if the link closed meanwhile.
func (l *link) setServer(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.server = c
	return true
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	p.mu.Lock()
	identify := p.identify
	p.mu.Unlock()
	l := &link{client: client, done: make(chan struct{})}
	if identify != nil {
		l.src = identify(client.RemoteAddr())
	}
	if !p.register(l) {
		client.Close()
		return
	}
	defer p.unregister(l)

	// A partitioned side's connection attempt does not reach the target.
	if !p.waitPassable(l, ToTarget) {
		l.close()
		return
	}
	server, err := net.DialTimeout("tcp", p.target, proxyDialTimeout)
	if err != nil {
		l.close() // the target is down: the client sees the connection end
		return
	}
	if !l.setServer(server) { // closed while dialing
		server.Close()
		return
	}
	var pumps sync.WaitGroup
	pumps.Add(2)
	go func() { defer pumps.Done(); p.pump(l, ToTarget, client, server) }()
	go func() { defer pumps.Done(); p.pump(l, FromTarget, server, client) }()
	pumps.Wait()
	l.close()
}

func (p *Proxy) register(l *link) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.links[l] = struct{}{}
	return true
}

func (p *Proxy) unregister(l *link) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// waitPassable blocks while dir is cut for l; false when l or the proxy closed.
func (p *Proxy) waitPassable(l *link, dir Direction) bool {
	for {
		ok, _, changed := p.passable(dir, l.src)
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-l.done:
			return false
		case <-p.quit:
			return false
		}
	}
}

type chunk struct {
	data []byte
	at   time.Time
}

// pump copies one direction: a reader queues chunks with their arrival time,
// the writer delivers each once the direction is passable and its delay has
// passed. An end of stream is passed on as a half-close.
func (p *Proxy) pump(l *link, dir Direction, from, to net.Conn) {
	queue := make(chan chunk, proxyQueue)
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, proxyChunk)
			n, err := from.Read(buf)
			if n > 0 {
				p.pending.Add(int64(n))
				select {
				case queue <- chunk{data: buf[:n], at: time.Now()}:
				case <-l.done:
					p.pending.Add(-int64(n))
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		for c := range queue { // unblock and drain the reader
			p.pending.Add(-int64(len(c.data)))
		}
	}()
	for c := range queue {
		err := p.deliver(l, dir, to, c)
		p.pending.Add(-int64(len(c.data)))
		if err != nil {
			l.close()
			return
		}
	}
	if tc, ok := to.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		l.close()
	}
}

var errLinkClosed = errors.New("link closed")

// deliver waits for dir to be passable and c's delay to pass, then writes.
func (p *Proxy) deliver(l *link, dir Direction, to net.Conn, c chunk) error {
	for {
		ok, delay, changed := p.passable(dir, l.src)
		if !ok {
			select {
			case <-changed:
				continue
			case <-l.done:
				return errLinkClosed
			}
		}
		wait := time.Until(c.at.Add(delay))
		if wait <= 0 {
			_, err := to.Write(c.data)
			return err
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-changed: // a cut or a shorter delay applies at once
		case <-l.done:
			timer.Stop()
			return errLinkClosed
		}
		timer.Stop()
	}
}
