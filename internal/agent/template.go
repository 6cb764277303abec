package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	ctconfig "github.com/hashicorp/consul-template/config"
	ctlogging "github.com/hashicorp/consul-template/logging"
	"github.com/hashicorp/consul-template/manager"
)

// templates renders the config's templates with consul-template. Each new
// token from auto-auth replaces the runner, so templates always read with
// the current token; consul-template itself re-reads secrets when their
// leases near expiry and every static_secret_render_interval for KV.
type templates struct {
	cfg    *Config
	log    *slog.Logger
	tokens chan string
}

func newTemplates(cfg *Config, log *slog.Logger) *templates {
	return &templates{cfg: cfg, log: log, tokens: make(chan string, 1)}
}

// setToken hands a new token to the renderer, replacing one not yet taken.
func (t *templates) setToken(tok string) {
	select {
	case <-t.tokens:
	default:
	}
	t.tokens <- tok
}

func (t *templates) runnerConfig(token string, once bool) (*ctconfig.Config, error) {
	v := t.cfg.Vault
	c := ctconfig.DefaultConfig()
	addr := v.Address
	if addr == "" {
		addr = os.Getenv("VAULT_ADDR")
	}
	attempts := v.NumRetries
	retry := attempts > 0
	tls := strings.HasPrefix(addr, "https://")
	verify := !v.TLSSkipVerify
	renew := false
	empty := ""
	c.Vault = &ctconfig.VaultConfig{
		Address: &addr,
		Token:   &token,
		// The agent renews its own token; consul-template must not.
		RenewToken: &renew,
		Retry:      &ctconfig.RetryConfig{Attempts: &attempts, Enabled: &retry},
		SSL: &ctconfig.SSLConfig{Enabled: &tls, Verify: &verify, CaCert: &v.CACert,
			Cert: &v.ClientCert, Key: &v.ClientKey, ServerName: &empty},
	}
	if d := t.cfg.TemplateConfig.StaticSecretRenderInterval; d > 0 {
		c.Vault.DefaultLeaseDuration = &d
	}
	tcs := make(ctconfig.TemplateConfigs, 0, len(t.cfg.Templates))
	for _, tp := range t.cfg.Templates {
		tc := ctconfig.DefaultTemplateConfig()
		if tp.Source != "" {
			tc.Source = &tp.Source
		} else {
			tc.Contents = &tp.Contents
		}
		tc.Destination = &tp.Destination
		if tp.Perms != 0 {
			m := os.FileMode(tp.Perms)
			tc.Perms = &m
		}
		if tp.Command != "" {
			// One element: consul-template runs it with the shell.
			tc.Command = []string{tp.Command}
		}
		tc.ErrMissingKey = &tp.ErrorOnMissingKey
		tc.Backup = &tp.Backup
		tcs = append(tcs, tc)
	}
	c.Templates = &tcs
	c.Once = once
	c.Finalize()
	return c, nil
}

// renderOnce renders every template once (exit_after_auth).
func (t *templates) renderOnce(ctx context.Context, token string) error {
	c, err := t.runnerConfig(token, true)
	if err != nil {
		return err
	}
	r, err := manager.NewRunner(c, false)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	go r.Start()
	defer r.Stop()
	select {
	case <-ctx.Done():
		return nil
	case err := <-r.ErrCh:
		return fmt.Errorf("templates: %w", err)
	case <-r.DoneCh:
		t.log.Info("templates rendered")
		return nil
	}
}

// run renders until ctx is done. It returns an error only when rendering
// failed and exit_on_retry_failure is set.
func (t *templates) run(ctx context.Context) error {
	var r *manager.Runner
	var token string
	stop := func() {
		if r != nil {
			r.Stop()
			r = nil
		}
	}
	defer func() { stop() }()
	start := func() error {
		stop()
		c, err := t.runnerConfig(token, false)
		if err != nil {
			return err
		}
		if r, err = manager.NewRunner(c, false); err != nil {
			return fmt.Errorf("templates: %w", err)
		}
		go r.Start()
		return nil
	}
	for {
		var errCh <-chan error
		var rendered <-chan struct{}
		if r != nil {
			errCh, rendered = r.ErrCh, r.TemplateRenderedCh()
		}
		select {
		case <-ctx.Done():
			return nil
		case token = <-t.tokens:
			if err := start(); err != nil {
				return err
			}
		case <-rendered:
			t.log.Info("template rendered")
		case err := <-errCh:
			if t.cfg.TemplateConfig.ExitOnRetryFailure {
				return fmt.Errorf("templates: %w", err)
			}
			t.log.Error("template rendering failed; starting over", "error", err)
			if err := start(); err != nil {
				return err
			}
		}
	}
}

// SetTemplateLogging sends consul-template's own log lines (it logs through
// the standard library's global logger) to w, keeping those at level and
// above: "trace", "debug", "info", "warn" or "err". It changes process-wide
// state, so only the command that is the agent calls it.
func SetTemplateLogging(w io.Writer, level string) error {
	return ctlogging.Setup(&ctlogging.Config{Level: strings.ToUpper(level), Writer: w})
}
