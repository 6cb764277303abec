package server

import (
	"context"
	"errors"
	"fmt"
	"github.com/strongbox/strongbox/internal/core/auditing"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/config"
	"github.com/strongbox/strongbox/internal/core"
	apihttp "github.com/strongbox/strongbox/internal/http"
	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/telemetry"
)

// Version is the server version reported by the API.
const Version = "1.0.0"

// shutdownGrace bounds how long in-flight requests may take at shutdown.
const shutdownGrace = 30 * time.Second

// Run starts the server and blocks until ctx is done, then shuts down
// gracefully: in-flight requests finish and storage is closed. A value on
// reload re-reads what can change at run time (log level, TLS certificates,
// audit files).
func Run(ctx context.Context, opts Options, reload <-chan struct{}) error {
	cfg, err := loadConfig(opts)
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	logger := opts.Logger
	if logger == nil {
		logger = newLogger(opts.Logs, cfg.LogFormat, level)
	}
	if lvl := firstNonEmpty(opts.LogLevel, cfg.LogLevel); lvl != "" {
		if err := setLevel(level, lvl); err != nil {
			return err
		}
	}
	lf, err := openLogFile(cfg)
	if err != nil {
		return err
	}
	if lf != nil {
		// Closed last: every deferred step below may still log.
		defer lf.Close()
		logger = teeLogger(logger, lf, cfg.LogFormat, level)
	}
	removePID, err := writePIDFile(cfg.PidFile)
	if err != nil {
		return err
	}
	defer removePID()
	if !cfg.DisableMlock {
		if err := lockMemory(); err != nil {
			return err
		}
	}
	// Metrics first: raft storage reports to go-metrics' global from the
	// moment it opens.
	tel, err := telemetry.Setup(cfg.Telemetry, logger.With("component", "telemetry"))
	if err != nil {
		return err
	}
	defer tel.Close()
	// The cluster port comes first: raft storage runs over it, and its TLS
	// comes from the core once the core exists.
	var cl *cluster.Listener
	tlsp := &lateTLS{}
	if cfg.ClusterCipherSuites != "" {
		if tlsp.suites, err = config.CipherSuites(cfg.ClusterCipherSuites); err != nil {
			return fmt.Errorf("cluster_cipher_suites: %w", err)
		}
	}
	if cfg.Storage.Type == "raft" {
		if cl, err = startCluster(ctx, cfg, tlsp, logger); err != nil {
			return err
		}
		defer cl.Close()
	}
	var backend physical.Backend
	var node nodeInfo
	if cfg.Storage.Type == "raft" {
		rs, err := openRaft(ctx, cfg, cl, logger)
		if err != nil {
			return err
		}
		backend, node.raftNodeID = rs, rs.NodeID()
	} else if backend, err = openStorage(ctx, cfg.Storage, logger); err != nil {
		return err
	}
	defer closeStorage(backend, logger)

	sealLogger := logger.With("component", "seal")
	wrappers, err := openSeals(ctx, cfg.Seals, os.Getenv, sealLogger)
	if err != nil {
		return err
	}
	// Closed after the core has sealed (deferred calls run in reverse).
	defer wrappers.close(sealLogger)

	lockoutConf, err := userLockoutConfig(cfg, os.Getenv)
	if err != nil {
		return err
	}
	c, err := core.New(core.Config{
		Physical:        backend,
		Logger:          logger.With("component", "core"),
		ClusterName:     cfg.ClusterName,
		StorageType:     cfg.Storage.Type,
		Version:         Version,
		DefaultLeaseTTL: cfg.DefaultLeaseTTL,
		MaxLeaseTTL:     cfg.MaxLeaseTTL,
		SecretEngines:   builtin.SecretEngines(),
		AuthMethods:     builtin.AuthMethods(),
		AuditDevices:    audit.Factories(),
		Audit:           auditPolicy(cfg),
		APIAddr:         cfg.APIAddr,
		ClusterAddr:     cfg.ClusterAddr,
		Seal:            wrappers.current,
		MigrationSeal:   wrappers.old,
		Now:             opts.Now,
		UserLockout:     lockoutConf,
		Metrics:         tel,
		SanitizedConfig: cfg.Sanitized(),
	})
	if err != nil {
		return err
	}
	if err := c.CheckSeal(ctx); errors.Is(err, core.ErrSealMismatch) {
		return err
	} else if err != nil {
		logger.Warn("could not read the stored seal configuration at start", "error", err)
	}
	tlsp.set(c.ClusterTLS())
	if cl != nil {
		c.SetClusterListener(cl)
	}
	if err := applyRaftOptions(c, cfg); err != nil {
		return err
	}

	mctx, stopMetrics := context.WithCancel(ctx)
	defer stopMetrics()
	go c.RunMetricsLoop(mctx, tel.UsageGaugePeriod)

	srv, err := startListeners(cfg, c, node, logger)
	if err != nil {
		return err
	}
	defer srv.shutdown(c, logger)
	// Auto-unseal (a no-op under Shamir) stops before the core seals.
	defer startAutoUnseal(ctx, c)()
	if cl != nil {
		// Standbys forward client requests here, to the first API handler.
		cl.Register(cluster.ProtoForwarding, cluster.NewForwardServer(srv.handlers[0], logger.With("component", "forwarding")))
		if targets := retryJoinTargets(cfg.Storage); len(targets) > 0 {
			jctx, cancel := context.WithCancel(ctx)
			defer cancel()
			c.StartRetryJoin(jctx, targets)
		}
	}

	if opts.Dev {
		key, root, err := devSetup(ctx, c, opts.DevRootTokenID)
		if err != nil {
			return err
		}
		storeDevToken(root)
		out := opts.Out
		if out == nil {
			out = os.Stdout
		}
		printDevBanner(out, srv.addrs[0], key, root)
	}
	logger.Info("strongbox server started", "version", Version, "storage", cfg.Storage.Type, "listeners", strings.Join(srv.addrs, ","))
	if opts.Ready != nil {
		opts.Ready(srv.addrs)
	}
	for {
		select {
		case <-ctx.Done():
			logger.Info("shutdown requested")
			return nil
		case err := <-srv.errs:
			return err
		case <-reload:
			srv.reload(ctx, c, opts, level, logger)
		}
	}
}

func loadConfig(opts Options) (*config.Config, error) {
	var cfg *config.Config
	if opts.Dev {
		addr := opts.DevListenAddress
		if addr == "" {
			addr = "127.0.0.1:8200"
		}
		cfg = config.DevConfig(addr)
	} else {
		if len(opts.ConfigPaths) == 0 {
			return nil, errors.New("a configuration file must be given with -config, or use -dev")
		}
		var err error
		if cfg, err = config.Load(opts.ConfigPaths...); err != nil {
			return nil, err
		}
	}
	if err := cfg.ApplyEnv(os.Getenv); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

type servers struct {
	http     []*http.Server
	handlers []*apihttp.Handler
	certs    []*certHolder
	addrs    []string
	errs     chan error
	configs  []string
}

func startListeners(cfg *config.Config, c *core.Core, node nodeInfo, logger *slog.Logger) (*servers, error) {
	s := &servers{errs: make(chan error, len(cfg.Listeners)), configs: nil}
	for _, l := range cfg.Listeners {
		if l.TLSClientCAFile != "" && !l.TLSRequireAndVerifyClientCert && !l.TLSDisable {
			// As in Vault: the CA file only checks the certificates a
			// listener requires; otherwise a client certificate is
			// requested, never verified in the handshake, and judged by
			// the cert auth method against its own CAs.
			logger.Warn("tls_client_ca_file has no effect without tls_require_and_verify_client_cert", "listener", l.Address)
		}
		ln, holder, err := listen(l)
		if err != nil {
			s.close()
			return nil, err
		}
		hs, h, err := newHTTPServer(cfg, l, c, node, logger)
		if err != nil {
			ln.Close()
			s.close()
			return nil, err
		}
		s.http = append(s.http, hs)
		s.handlers = append(s.handlers, h)
		if holder != nil {
			s.certs = append(s.certs, holder)
		}
		s.addrs = append(s.addrs, ln.Addr().String())
		go func(ln net.Listener) {
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.errs <- fmt.Errorf("listener %s: %w", ln.Addr(), err)
			}
		}(ln)
	}
	return s, nil
}

func (s *servers) close() {
	for _, hs := range s.http {
		_ = hs.Close()
	}
}

// shutdown stops accepting requests, lets in-flight ones finish, then seals.
func (s *servers) shutdown(c *core.Core, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	for _, hs := range s.http {
		if err := hs.Shutdown(ctx); err != nil {
			logger.Warn("listener shutdown", "error", err)
		}
	}
	for _, h := range s.handlers {
		h.Close()
	}
	if err := c.Seal(ctx); err != nil {
		logger.Warn("seal at shutdown", "error", err)
	}
}

func (s *servers) reload(ctx context.Context, c *core.Core, opts Options, level *slog.LevelVar, logger *slog.Logger) {
	logger.Info("reloading")
	if !opts.Dev && len(opts.ConfigPaths) > 0 {
		if cfg, err := config.Load(opts.ConfigPaths...); err != nil {
			logger.Error("reload: config", "error", err)
		} else if lvl := firstNonEmpty(opts.LogLevel, cfg.LogLevel); lvl != "" {
			if err := setLevel(level, lvl); err != nil {
				logger.Error("reload: log level", "error", err)
			}
		}
	}
	for _, h := range s.certs {
		if err := h.reload(); err != nil {
			logger.Error("reload: TLS certificate", "error", err)
		}
	}
	if err := c.ReloadAudit(ctx); err != nil {
		logger.Error("reload: audit devices", "error", err)
	}
}

func closeStorage(b physical.Backend, logger *slog.Logger) {
	if cl, ok := b.(physical.Closer); ok {
		if err := cl.Close(); err != nil {
			logger.Warn("close storage", "error", err)
		}
	}
}

func newLogger(w io.Writer, format string, level *slog.LevelVar) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	hopts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts))
	}
	return slog.New(slog.NewTextHandler(w, hopts))
}

func setLevel(v *slog.LevelVar, s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace", "debug":
		v.Set(slog.LevelDebug)
	case "info", "":
		v.Set(slog.LevelInfo)
	case "warn", "warning":
		v.Set(slog.LevelWarn)
	case "err", "error":
		v.Set(slog.LevelError)
	default:
		return fmt.Errorf("unknown log level %q (trace, debug, info, warn, error)", s)
	}
	return nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// auditPolicy is the core's view of the configuration's audit stanzas.
func auditPolicy(cfg *config.Config) auditing.Policy {
	p := auditing.Policy{DisableAPICreation: cfg.DisableAPIAuditCreation}
	for _, a := range cfg.Audits {
		p.Declared = append(p.Declared, auditing.Declared{
			Type: a.Type, Path: a.Path, Description: a.Description, Local: a.Local, Options: a.Options,
		})
	}
	return p
}
