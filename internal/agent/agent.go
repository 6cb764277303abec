package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// ErrAuthFailed is returned by Run when login fails and the method has
// exit_on_err set.
var ErrAuthFailed = errors.New("auto-auth failed")

// Run logs in, writes the token to every sink and keeps it fresh until ctx
// is done (or, with exit_after_auth, returns after the first login). It
// never logs a token, role ID or secret ID.
func Run(ctx context.Context, cfg *Config, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	removePID, err := writePIDFile(cfg.PidFile)
	if err != nil {
		return err
	}
	defer removePID()
	client, err := newClient(cfg.Vault)
	if err != nil {
		return err
	}
	a := &runner{cfg: cfg, log: logger, client: client,
		bo: newBackoff(cfg.AutoAuth.Method.MinBackoff, cfg.AutoAuth.Method.MaxBackoff)}
	if cfg.AutoAuth.Method.Type != "" {
		if a.method, err = newMethod(cfg.AutoAuth.Method); err != nil {
			return err
		}
	}
	if len(cfg.Templates) > 0 {
		a.tmpl = newTemplates(cfg, logger)
	}
	if cfg.Exec != nil {
		a.exec = newExecRunner(cfg, logger)
	}
	if cfg.ExitAfterAuth {
		return a.run(ctx)
	}
	// The parts run side by side; the first to fail stops the others.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var parts []func(context.Context) error
	if a.method != nil {
		parts = append(parts, a.run)
	}
	if a.tmpl != nil {
		parts = append(parts, a.tmpl.run)
	}
	if a.exec != nil {
		parts = append(parts, a.exec.run)
	}
	if len(cfg.Listeners) > 0 {
		if a.proxy, err = newProxy(cfg, client, logger); err != nil {
			return err
		}
		parts = append(parts, func(ctx context.Context) error { return a.proxy.serve(ctx, cfg.Listeners, nil) })
	}
	errc := make(chan error, len(parts))
	for _, part := range parts {
		go func() {
			err := part(ctx)
			cancel()
			errc <- err
		}()
	}
	var errs []error
	for range parts {
		errs = append(errs, <-errc)
	}
	return errors.Join(errs...)
}

func newClient(v VaultConfig) (*vault.Client, error) {
	vc := vault.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("vault client: %w", vc.Error)
	}
	if v.Address != "" {
		vc.Address = v.Address
	}
	vc.MaxRetries = v.NumRetries
	if v.CACert != "" || v.ClientCert != "" || v.TLSSkipVerify {
		if err := vc.ConfigureTLS(&vault.TLSConfig{
			CACert: v.CACert, ClientCert: v.ClientCert, ClientKey: v.ClientKey, Insecure: v.TLSSkipVerify,
		}); err != nil {
			return nil, fmt.Errorf("vault: tls: %w", err)
		}
	}
	c, err := vault.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	// The agent's own identity comes from auto-auth only, never from a
	// VAULT_TOKEN that happens to be in its environment.
	c.ClearToken()
	return c, nil
}

type runner struct {
	cfg    *Config
	log    *slog.Logger
	client *vault.Client
	method authMethod
	bo     *backoff
	tmpl   *templates  // nil without templates
	proxy  *proxy      // nil without listeners
	exec   *execRunner // nil without exec
}

func (a *runner) run(ctx context.Context) error {
	for {
		secret, err := a.method.login(ctx, a.client)
		if err == nil && (secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "") {
			err = errors.New("login response holds no token")
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if a.cfg.AutoAuth.Method.ExitOnErr {
				return fmt.Errorf("%w: %w", ErrAuthFailed, err)
			}
			wait := a.bo.next()
			a.log.Error("authentication failed; will retry", "error", err, "backoff", wait)
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		a.bo.reset()
		auth := secret.Auth
		if err := a.writeSinks(ctx, auth.ClientToken); err != nil {
			return nil // ctx done while retrying a sink
		}
		a.log.Info("authentication successful, sinks written", "ttl", time.Duration(auth.LeaseDuration)*time.Second, "renewable", auth.Renewable)
		if a.proxy != nil {
			a.proxy.setToken(auth.ClientToken)
		}
		if a.exec != nil {
			a.exec.setToken(auth.ClientToken)
		}
		if a.tmpl != nil {
			if a.cfg.ExitAfterAuth {
				return a.tmpl.renderOnce(ctx, auth.ClientToken)
			}
			a.tmpl.setToken(auth.ClientToken)
		}
		if a.cfg.ExitAfterAuth {
			return nil
		}
		if !a.keepFresh(ctx, auth) {
			return nil
		}
		a.log.Info("re-authenticating")
	}
}

// writeSinks writes every sink, retrying failed writes with backoff; it
// returns an error only when ctx is done.
func (a *runner) writeSinks(ctx context.Context, token string) error {
	bo := newBackoff(a.cfg.AutoAuth.Method.MinBackoff, a.cfg.AutoAuth.Method.MaxBackoff)
	for _, s := range a.cfg.AutoAuth.Sinks {
		for {
			err := writeSink(s, token)
			if err == nil {
				break
			}
			wait := bo.next()
			a.log.Error("writing sink failed; will retry", "error", err, "backoff", wait)
			if !sleep(ctx, wait) {
				return ctx.Err()
			}
		}
	}
	return nil
}

// keepFresh renews the token at about two thirds of its TTL until it can
// no longer be renewed, and returns true when the agent must log in again
// (false when ctx is done). Renewal is done here rather than with
// vault/api's LifetimeWatcher because the watcher treats "permission
// denied" (a revoked token) as "not renewable" and waits for the expiry,
// leaving a dead token in the sinks; here a revoked token is replaced at
// the next renewal.
func (a *runner) keepFresh(ctx context.Context, auth *vault.SecretAuth) bool {
	ttl := time.Duration(auth.LeaseDuration) * time.Second
	if ttl <= 0 {
		// A token without expiry: nothing to renew.
		<-ctx.Done()
		return false
	}
	firstTTL := ttl
	token := auth.ClientToken
	renewable := auth.Renewable
	expires := time.Now().Add(ttl)
	for {
		if !renewable || ttl < firstTTL/3 {
			// Not renewable, or max_ttl is close: log in again before
			// the token expires.
			return sleep(ctx, renewDelay(time.Until(expires)))
		}
		if !sleep(ctx, renewDelay(time.Until(expires))) {
			return false
		}
		bo := newBackoff(a.cfg.AutoAuth.Method.MinBackoff, a.cfg.AutoAuth.Method.MaxBackoff)
		for {
			s, err := a.client.Auth().Token().RenewTokenAsSelfWithContext(ctx, token, 0)
			if err == nil && s != nil && s.Auth != nil {
				ttl = time.Duration(s.Auth.LeaseDuration) * time.Second
				renewable = s.Auth.Renewable
				expires = time.Now().Add(ttl)
				a.log.Info("token renewed", "ttl", ttl)
				break
			}
			if ctx.Err() != nil {
				return false
			}
			if err == nil {
				err = errors.New("renewal response holds no auth")
			}
			var re *vault.ResponseError
			if errors.As(err, &re) && (re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusBadRequest) {
				// Revoked, expired or otherwise refused: no retry helps.
				a.log.Warn("token can no longer be renewed", "error", err)
				return true
			}
			left := time.Until(expires)
			wait := min(bo.next(), left/2)
			if left < time.Second || wait <= 0 {
				a.log.Warn("token renewal failed until expiry", "error", err)
				return true
			}
			a.log.Warn("token renewal failed; will retry", "error", err, "backoff", wait)
			if !sleep(ctx, wait) {
				return false
			}
		}
	}
}

// renewDelay is about two thirds of what is left, with jitter so many
// agents started together do not renew together.
func renewDelay(left time.Duration) time.Duration {
	if left <= 0 {
		return 0
	}
	return time.Duration(float64(left) * (0.6 + 0.1*rand.Float64()))
}

// backoff is exponential with jitter between min and max.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(lo, hi time.Duration) *backoff { return &backoff{min: lo, max: hi} }

func (b *backoff) reset() { b.cur = 0 }

// next returns the next wait: doubling from min up to max, each value
// reduced by up to a quarter at random.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	return b.cur - time.Duration(rand.Int64N(int64(b.cur)/4+1))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func writePIDFile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return nil, fmt.Errorf("pid_file: %w", err)
	}
	return func() { os.Remove(path) }, nil
}
