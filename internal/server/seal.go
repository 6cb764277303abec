package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/config"
	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/seal"
	"github.com/strongbox/strongbox/internal/seal/awskms"
	"github.com/strongbox/strongbox/internal/seal/pkcs11"
	"github.com/strongbox/strongbox/internal/seal/transit"
)

// sealStartTimeout bounds the first attempt to reach the key service at
// start; a slow or absent service then leaves the node sealed and retrying
// instead of holding up the listeners.
const sealStartTimeout = 15 * time.Second

// wrapperFactory builds a seal's Wrapper from its stanza.
type wrapperFactory func(ctx context.Context, conf map[string]string, getenv func(string) string, logger *slog.Logger) (seal.Wrapper, error)

// wrapperFactories are the auto-unseal seals this server offers, by type.
func wrapperFactories() map[string]wrapperFactory {
	return map[string]wrapperFactory{
		"pkcs11": func(ctx context.Context, conf map[string]string, getenv func(string) string, logger *slog.Logger) (seal.Wrapper, error) {
			return pkcs11.New(ctx, conf, getenv, logger)
		},
		"awskms": func(ctx context.Context, conf map[string]string, getenv func(string) string, logger *slog.Logger) (seal.Wrapper, error) {
			return awskms.New(ctx, conf, getenv, logger)
		},
		"transit": func(ctx context.Context, conf map[string]string, getenv func(string) string, logger *slog.Logger) (seal.Wrapper, error) {
			return transit.New(ctx, conf, getenv, logger)
		},
	}
}

// retryIntervals are the seals the core retries at a steady interval when
// their key service fails, instead of its growing backoff: a transit seal
// must unseal within seconds of the other server coming back.
var retryIntervals = map[string]time.Duration{"transit": transit.RetryInterval}

// seals are the key services a configuration names: the seal in use and,
// during a seal migration, the one being left (the stanza marked
// disabled = "true"). A nil Wrapper is the Shamir seal.
type seals struct {
	current seal.Wrapper
	old     seal.Wrapper
}

// close closes both Wrappers; called after the core has sealed.
func (s seals) close(logger *slog.Logger) {
	for _, w := range []seal.Wrapper{s.current, s.old} {
		if w == nil {
			continue
		}
		if err := w.Close(); err != nil {
			logger.Warn("close seal", "seal", w.Type(), "error", err)
		}
	}
}

// openSeals builds the Wrappers the config's seal stanzas ask for, as
// Vault reads them: at most one enabled stanza (none, or seal "shamir",
// is the Shamir seal) and at most one marked disabled = "true", the seal a
// migration moves away from. Vault's three migrations are:
//
//   - Shamir to auto: the new auto stanza alone; the core finds Shamir in
//     storage and enters migration mode.
//   - auto to Shamir: the auto stanza marked disabled.
//   - auto to auto: the old stanza marked disabled, the new one enabled.
//
// A bad stanza is an error: an unknown type, two enabled or two disabled,
// or settings the seal rejects. A key service that cannot be reached (or
// refuses the PIN) is not: the node starts sealed, the error is logged, and
// the returned Wrapper keeps trying to connect each time the core uses it.
func openSeals(ctx context.Context, stanzas []*config.Seal, getenv func(string) string, logger *slog.Logger) (seals, error) {
	var enabled, disabled []*config.Seal
	for _, s := range stanzas {
		if s.Disabled {
			disabled = append(disabled, s)
		} else {
			enabled = append(enabled, s)
		}
	}
	switch {
	case len(enabled) > 1:
		return seals{}, fmt.Errorf("%s:%d: only one seal stanza may be enabled", enabled[1].File, enabled[1].Line)
	case len(disabled) > 1:
		return seals{}, fmt.Errorf("%s:%d: only one seal stanza may be disabled (the seal a migration moves away from)", disabled[1].File, disabled[1].Line)
	}
	var out seals
	if len(enabled) == 1 {
		w, err := openWrapper(ctx, enabled[0], getenv, logger)
		if err != nil {
			return seals{}, err
		}
		out.current = w
	}
	if len(disabled) == 1 {
		d := disabled[0]
		w, err := openWrapper(ctx, d, getenv, logger)
		if err != nil {
			out.close(logger)
			return seals{}, err
		}
		if w == nil && out.current == nil {
			return seals{}, fmt.Errorf("%s:%d: seal \"shamir\" is disabled but no other seal is enabled to migrate to", d.File, d.Line)
		}
		out.old = w
		logger.Info("seal migration configured", "from", sealTypeName(out.old), "to", sealTypeName(out.current))
	}
	return out, nil
}

func sealTypeName(w seal.Wrapper) string {
	if w == nil {
		return "shamir"
	}
	return w.Type()
}

// openWrapper builds one stanza's Wrapper: nil for seal "shamir".
func openWrapper(ctx context.Context, s *config.Seal, getenv func(string) string, logger *slog.Logger) (seal.Wrapper, error) {
	typ := strings.ToLower(s.Type)
	if typ == "shamir" {
		return nil, nil
	}
	factory, ok := wrapperFactories()[typ]
	if !ok {
		return nil, fmt.Errorf("%s:%d: seal type %q is not supported (supported: shamir, pkcs11, awskms, transit)", s.File, s.Line, s.Type)
	}
	lw := &lazyWrapper{
		typ:    typ,
		retry:  retryIntervals[typ],
		logger: logger,
		build: func(ctx context.Context) (seal.Wrapper, error) {
			return factory(ctx, s.Config, getenv, logger)
		},
	}
	sctx, cancel := context.WithTimeout(ctx, sealStartTimeout)
	defer cancel()
	_, err := lw.get(sctx)
	var cerr *transit.ConfigError
	switch {
	case err == nil:
	case errors.As(err, &cerr):
		return nil, fmt.Errorf("%s:%d: seal %q: %w", s.File, s.KeyLine(cerr.Key), s.Type, cerr)
	case errors.Is(err, pkcs11.ErrConfig), errors.Is(err, awskms.ErrConfig):
		return nil, fmt.Errorf("%s:%d: seal %q: %w", s.File, s.Line, s.Type, err)
	case lw.permanent() != nil:
		logger.Error("the seal's key service refused this server's credentials; the node stays sealed until the seal configuration is fixed and the server restarted",
			"seal", typ, "disabled", s.Disabled, "error", err)
	default:
		logger.Warn("the seal's key service is unavailable at start; the node stays sealed and keeps trying",
			"seal", typ, "disabled", s.Disabled, "error", err)
	}
	return lw, nil
}

// lazyWrapper is a Wrapper built on first successful use: a key service
// down at start must not stop the server, which then serves seal-status
// sealed and unseals once the service answers. Each call tries to build
// the real Wrapper until that succeeds; the core's auto-unseal backoff
// paces the attempts. A refused login is never retried: an HSM locks the
// PIN after a few wrong tries.
type lazyWrapper struct {
	typ string
	// retry, when set, is the steady interval at which the core retries
	// the key service (seal.RetryPacer).
	retry  time.Duration
	logger *slog.Logger
	build  func(context.Context) (seal.Wrapper, error)

	mu     sync.Mutex
	w      seal.Wrapper
	perm   error
	closed bool
}

var _ seal.Wrapper = (*lazyWrapper)(nil)

var errSealClosed = errors.New("seal: closed")

func (l *lazyWrapper) get(ctx context.Context) (seal.Wrapper, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return nil, errSealClosed
	case l.w != nil:
		return l.w, nil
	case l.perm != nil:
		return nil, l.perm
	}
	w, err := l.build(ctx)
	if err != nil {
		if loginRefused(err) {
			l.perm = fmt.Errorf("%w: %w", seal.ErrCredentialsRefused, err)
			return nil, l.perm
		}
		return nil, fmt.Errorf("%s seal: connect to the key service: %w", l.typ, err)
	}
	l.w = w
	l.logger.Info("the seal is ready", "seal", l.typ)
	return w, nil
}

func (l *lazyWrapper) permanent() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.perm
}

// loginRefused recognizes a key service that refused this server's
// credentials: a PKCS#11 login refused for its PIN.
func loginRefused(err error) bool {
	return errors.Is(err, pkcs11.ErrLogin)
}

// Type is the configured seal type, known before the service answers.
func (l *lazyWrapper) Type() string { return l.typ }

// RetryInterval is the seal type's steady retry interval; zero leaves the
// core's backoff.
func (l *lazyWrapper) RetryInterval() time.Duration { return l.retry }

// KeyID returns the key service's current key.
func (l *lazyWrapper) KeyID(ctx context.Context) (string, error) {
	w, err := l.get(ctx)
	if err != nil {
		return "", err
	}
	return w.KeyID(ctx)
}

// Encrypt encrypts with the key service.
func (l *lazyWrapper) Encrypt(ctx context.Context, plaintext []byte) (*seal.BlobInfo, error) {
	w, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return w.Encrypt(ctx, plaintext)
}

// Decrypt decrypts with the key service. Failing to reach it is never
// seal.ErrInvalidKey, so the core retries.
func (l *lazyWrapper) Decrypt(ctx context.Context, blob *seal.BlobInfo) ([]byte, error) {
	w, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return w.Decrypt(ctx, blob)
}

// Close closes the real Wrapper, if one was built; later calls fail.
func (l *lazyWrapper) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.w == nil {
		return nil
	}
	err := l.w.Close()
	l.w = nil
	return err
}

// startAutoUnseal runs the core's auto-unseal loop (a no-op under the
// Shamir seal) and returns a function that stops it and waits for it.
func startAutoUnseal(ctx context.Context, c *core.Core) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.RunAutoUnseal(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
