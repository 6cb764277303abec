package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// Options of the socket device, as in Vault.
const (
	optAddress      = "address"
	optSocketType   = "socket_type"
	optWriteTimeout = "write_timeout"

	defaultSocketType   = "tcp"
	defaultWriteTimeout = 2 * time.Second
)

// NewSocket is the Factory of the "socket" device: it writes each entry to
// a TCP, UDP or Unix socket (options address, socket_type default "tcp",
// write_timeout default "2s"). It connects when enabled, so an unreachable
// address is refused up front, and reconnects once when a write fails.
func NewSocket(ctx context.Context, conf *DeviceConfig) (Device, error) {
	if conf == nil {
		return nil, fmt.Errorf("%w: no configuration", ErrInvalidConfig)
	}
	s, err := parseSocketOptions(conf.Options)
	if err != nil {
		return nil, err
	}
	format, err := parseFormatOptions(conf.Options)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	err = s.connect(ctx)
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	logger := conf.Logger
	if logger == nil {
		logger = slog.Default()
	}
	salt := newSalter(conf.SaltStorage)
	if format.chain {
		s.chain = newChain(salt.sign)
	}
	return &device{
		fmt:    newFormatter(format, salt),
		out:    s,
		sink:   s,
		logger: logger.With("audit_device", conf.Path),
	}, nil
}

func parseSocketOptions(opts map[string]string) (*socketSink, error) {
	addr := strings.TrimSpace(opts[optAddress])
	if addr == "" {
		return nil, fmt.Errorf("%w: %q is required", ErrInvalidConfig, optAddress)
	}
	s := &socketSink{address: addr, network: defaultSocketType, timeout: defaultWriteTimeout}
	if v, ok := opts[optSocketType]; ok {
		switch n := strings.ToLower(strings.TrimSpace(v)); n {
		case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "unix", "unixgram":
			s.network = n
		default:
			return nil, fmt.Errorf("%w: unsupported %q %q", ErrInvalidConfig, optSocketType, v)
		}
	}
	if v, ok := opts[optWriteTimeout]; ok {
		d, err := logical.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%w: unable to parse %q %q: want a positive duration", ErrInvalidConfig, optWriteTimeout, v)
		}
		s.timeout = d
	}
	return s, nil
}

// socketSink writes entries to one connection, one write per entry (a
// datagram per entry for UDP), under a mutex.
type socketSink struct {
	network, address string
	timeout          time.Duration

	mu     sync.Mutex
	conn   net.Conn
	closed bool

	// live is conn, readable without mu: close shuts it from under a write
	// blocked on a peer that never reads, instead of waiting write_timeout.
	live    atomic.Pointer[net.Conn]
	closing atomic.Bool

	chain   *chain // nil: lines are written as they come; guarded by mu
	scratch []byte
}

// connect dials if not connected. Callers hold s.mu.
func (s *socketSink) connect(ctx context.Context) error {
	if s.conn != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, s.network, s.address)
	if err != nil {
		return fmt.Errorf("audit: connect to %s %q: %w", s.network, s.address, err)
	}
	s.conn = conn
	s.live.Store(&conn)
	return nil
}

// writeOnce writes line on the current connection, connecting if needed.
// Callers hold s.mu.
func (s *socketSink) writeOnce(line []byte) error {
	if err := s.connect(context.Background()); err != nil {
		return err
	}
	if err := s.conn.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil {
		return fmt.Errorf("audit: set write deadline: %w", err)
	}
	if _, err := s.conn.Write(line); err != nil {
		_ = s.conn.Close()
		s.conn = nil
		return fmt.Errorf("audit: write to %s %q: %w", s.network, s.address, err)
	}
	return nil
}

// write implements entryWriter, retrying once on a new connection.
func (s *socketSink) write(line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.chain != nil {
		s.scratch = s.chain.seal(s.scratch[:0], line)
		line = s.scratch
		if cap(s.scratch) > maxPooledLine {
			s.scratch = nil
		}
	}
	err := s.writeOnce(line)
	if err == nil {
		return nil
	}
	if s.closing.Load() {
		return errors.Join(err, ErrClosed)
	}
	if err2 := s.writeOnce(line); err2 != nil {
		return errors.Join(err, err2)
	}
	return nil
}

// reopen drops the connection and dials again.
func (s *socketSink) reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
	return s.connect(context.Background())
}

func (s *socketSink) close() error {
	s.closing.Store(true)
	if c := s.live.Swap(nil); c != nil {
		_ = (*c).Close() // unblocks a write in progress
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("audit: close socket: %w", err)
	}
	return nil
}
