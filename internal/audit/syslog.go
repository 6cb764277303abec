package audit

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"log/syslog"
	"os"
	"strings"
	"sync"
)

// Options of the syslog device, as in Vault.
const (
	optFacility = "facility"
	optTag      = "tag"

	defaultFacility = "AUTH"
	defaultTag      = "strongbox"
)

// SyslogSocketEnv names a Unix datagram socket the syslog device uses in
// place of the local syslog daemon's (/dev/log): for tests, and for hosts
// whose daemon listens elsewhere.
const SyslogSocketEnv = "STRONGBOX_AUDIT_SYSLOG_SOCKET"

var facilities = map[string]syslog.Priority{
	"KERN": syslog.LOG_KERN, "USER": syslog.LOG_USER, "MAIL": syslog.LOG_MAIL, "DAEMON": syslog.LOG_DAEMON,
	"AUTH": syslog.LOG_AUTH, "SYSLOG": syslog.LOG_SYSLOG, "LPR": syslog.LOG_LPR, "NEWS": syslog.LOG_NEWS,
	"UUCP": syslog.LOG_UUCP, "CRON": syslog.LOG_CRON, "AUTHPRIV": syslog.LOG_AUTHPRIV, "FTP": syslog.LOG_FTP,
	"LOCAL0": syslog.LOG_LOCAL0, "LOCAL1": syslog.LOG_LOCAL1, "LOCAL2": syslog.LOG_LOCAL2, "LOCAL3": syslog.LOG_LOCAL3,
	"LOCAL4": syslog.LOG_LOCAL4, "LOCAL5": syslog.LOG_LOCAL5, "LOCAL6": syslog.LOG_LOCAL6, "LOCAL7": syslog.LOG_LOCAL7,
}

// NewSyslog is the Factory of the "syslog" device: each entry is one
// message at priority INFO of the facility option (default AUTH) with the
// tag option (default "strongbox"), sent to the local syslog daemon. It
// connects when enabled, so a host without a daemon is refused up front.
func NewSyslog(_ context.Context, conf *DeviceConfig) (Device, error) {
	if conf == nil {
		return nil, fmt.Errorf("%w: no configuration", ErrInvalidConfig)
	}
	format, err := parseFormatOptions(conf.Options)
	if err != nil {
		return nil, err
	}
	facility := defaultFacility
	if v := strings.TrimSpace(conf.Options[optFacility]); v != "" {
		facility = strings.ToUpper(v)
	}
	prio, ok := facilities[facility]
	if !ok {
		return nil, fmt.Errorf("%w: unsupported %q %q", ErrInvalidConfig, optFacility, conf.Options[optFacility])
	}
	tag := defaultTag
	if v := strings.TrimSpace(conf.Options[optTag]); v != "" {
		tag = v
	}
	s := &syslogSink{priority: prio | syslog.LOG_INFO, tag: tag, socket: os.Getenv(SyslogSocketEnv)}
	if err := s.reopen(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	salt := newSalter(conf.SaltStorage)
	if format.chain {
		s.chain = newChain(salt.sign)
	}
	logger := conf.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &device{
		fmt:    newFormatter(format, salt),
		out:    s,
		sink:   s,
		logger: logger.With("audit_device", conf.Path),
	}, nil
}

// syslogSink sends entries to syslog, one message each.
type syslogSink struct {
	priority syslog.Priority
	tag      string
	socket   string // "" for the local daemon

	mu      sync.Mutex
	w       *syslog.Writer
	closed  bool
	chain   *chain
	scratch []byte
}

// reopen (re)connects to the daemon.
func (s *syslogSink) reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	var w *syslog.Writer
	var err error
	if s.socket != "" {
		w, err = syslog.Dial("unixgram", s.socket, s.priority, s.tag)
	} else {
		w, err = syslog.New(s.priority, s.tag)
	}
	if err != nil {
		return fmt.Errorf("audit: connect to syslog: %w", err)
	}
	if s.w != nil {
		_ = s.w.Close()
	}
	s.w = w
	return nil
}

func (s *syslogSink) write(line []byte) error {
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
	// syslog.Writer reconnects once on its own when a send fails.
	if _, err := s.w.Write(bytes.TrimRight(line, "\n")); err != nil {
		return fmt.Errorf("audit: write to syslog: %w", err)
	}
	return nil
}

func (s *syslogSink) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.w.Close(); err != nil {
		return fmt.Errorf("audit: close syslog: %w", err)
	}
	return nil
}
