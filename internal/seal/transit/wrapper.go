package transit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/seal"
)

// Mechanism is what blobs made by this seal record.
const Mechanism = "transit"

// RetryInterval is how often the core retries a key service that failed
// (down, sealed, refusing the token): steady, as Vault's, so the node
// unseals within seconds of the service coming back.
const RetryInterval = 2 * time.Second

// callTimeout bounds one HTTP call to the key service.
const callTimeout = 30 * time.Second

// probe is what KeyID encrypts to learn the key's current version.
var probe = base64.StdEncoding.EncodeToString([]byte("strongbox transit seal key probe"))

var errClosed = errors.New("transit seal: wrapper is closed")

// Wrapper encrypts and decrypts with a transit key of another server. It
// implements seal.Wrapper and is safe for concurrent use.
type Wrapper struct {
	logger    *slog.Logger
	client    *vault.Client
	transport *http.Transport
	address   string
	mount     string
	keyName   string

	mu     sync.Mutex
	closed bool

	stopRenew context.CancelFunc
	renewDone chan struct{}
}

var _ seal.Wrapper = (*Wrapper)(nil)

// New builds the client from conf (Vault's seal "transit" stanza) and the
// environment read through getenv, and starts the token's renewal unless
// disable_renewal. It does not contact the key service: one that is down
// at start is the core's to retry. A bad setting is an error wrapping
// ErrConfig (a *ConfigError naming the key).
func New(ctx context.Context, conf map[string]string, getenv func(string) string, logger *slog.Logger) (*Wrapper, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := parseConfig(conf, getenv)
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = cfg.tls
	vc := &vault.Config{
		Address:    cfg.address,
		HttpClient: &http.Client{Transport: transport, Timeout: callTimeout},
		Timeout:    callTimeout,
		// The core retries at its own pace; a call fails at once.
		MaxRetries: 0,
	}
	client, err := vault.NewClient(vc)
	if err != nil {
		return nil, configErr("address", "%v", err)
	}
	// NewClient reads VAULT_TOKEN and VAULT_NAMESPACE from the process;
	// the parsed configuration decides both.
	client.SetToken(cfg.token)
	client.ClearNamespace()
	w := &Wrapper{logger: logger, client: client, transport: transport, address: cfg.address, mount: cfg.mountPath, keyName: cfg.keyName}
	if !cfg.disableRenewal {
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		w.stopRenew, w.renewDone = cancel, make(chan struct{})
		go func() {
			defer close(w.renewDone)
			w.renewLoop(rctx)
		}()
	}
	logger.Info("transit seal configured", "address", cfg.address, "mount_path", cfg.mountPath,
		"key_name", cfg.keyName, "token_renewal", !cfg.disableRenewal)
	return w, nil
}

// Type returns "transit".
func (w *Wrapper) Type() string { return "transit" }

// RetryInterval is the steady pace at which the core retries this seal.
func (w *Wrapper) RetryInterval() time.Duration { return RetryInterval }

// KeyID names the transit key's current version on its server, learned by
// encrypting a probe: the seal's token needs no read access to the key.
func (w *Wrapper) KeyID(ctx context.Context) (string, error) {
	if err := w.check(ctx); err != nil {
		return "", err
	}
	ct, err := w.encrypt(ctx, probe)
	if err != nil {
		return "", err
	}
	return w.keyID(ct)
}

// Encrypt has the transit key encrypt plaintext.
func (w *Wrapper) Encrypt(ctx context.Context, plaintext []byte) (*seal.BlobInfo, error) {
	if err := w.check(ctx); err != nil {
		return nil, err
	}
	ct, err := w.encrypt(ctx, base64.StdEncoding.EncodeToString(plaintext))
	if err != nil {
		return nil, err
	}
	id, err := w.keyID(ct)
	if err != nil {
		return nil, err
	}
	return &seal.BlobInfo{Ciphertext: []byte(ct), KeyID: id, Mechanism: Mechanism}, nil
}

// Decrypt has the transit key decrypt a blob. A blob that is not a
// transit ciphertext, or that the key service rejects as such (HTTP 400:
// tampered, another key, a version trimmed away), is an error wrapping
// seal.ErrInvalidKey; a service that is down, sealed (503) or refuses the
// token (403) is any other error, and callers retry.
func (w *Wrapper) Decrypt(ctx context.Context, blob *seal.BlobInfo) ([]byte, error) {
	if err := w.check(ctx); err != nil {
		return nil, err
	}
	switch {
	case blob == nil:
		return nil, fmt.Errorf("%w: empty blob", seal.ErrInvalidKey)
	case blob.Mechanism != "" && blob.Mechanism != Mechanism:
		return nil, fmt.Errorf("%w: blob mechanism %q is not %q", seal.ErrInvalidKey, blob.Mechanism, Mechanism)
	case !strings.HasPrefix(string(blob.Ciphertext), "vault:v"):
		return nil, fmt.Errorf("%w: blob is not a transit ciphertext", seal.ErrInvalidKey)
	}
	path := w.mount + "/decrypt/" + w.keyName
	s, err := w.client.Logical().WriteWithContext(ctx, path, map[string]any{"ciphertext": string(blob.Ciphertext)})
	if err != nil {
		return nil, w.callError("decrypt", path, err)
	}
	if s == nil || s.Data == nil {
		return nil, fmt.Errorf("transit seal: decrypt at %s/v1/%s: empty response", w.address, path)
	}
	b64, _ := s.Data["plaintext"].(string)
	pt, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("transit seal: decrypt at %s/v1/%s: the plaintext is not base64", w.address, path)
	}
	return pt, nil
}

// Close stops the token's renewal and makes later calls fail.
func (w *Wrapper) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	if w.stopRenew != nil {
		w.stopRenew()
		<-w.renewDone
	}
	w.transport.CloseIdleConnections()
	return nil
}

func (w *Wrapper) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errClosed
	}
	return nil
}

// encrypt returns the transit ciphertext of a base64 plaintext.
func (w *Wrapper) encrypt(ctx context.Context, b64 string) (string, error) {
	path := w.mount + "/encrypt/" + w.keyName
	s, err := w.client.Logical().WriteWithContext(ctx, path, map[string]any{"plaintext": b64})
	if err != nil {
		return "", w.callError("encrypt", path, err)
	}
	var ct string
	if s != nil && s.Data != nil {
		ct, _ = s.Data["ciphertext"].(string)
	}
	if !strings.HasPrefix(ct, "vault:v") {
		return "", fmt.Errorf("transit seal: encrypt at %s/v1/%s: the response holds no transit ciphertext", w.address, path)
	}
	return ct, nil
}

// keyID is "<address>/<mount>/<key>:v<N>" for a ciphertext of version N.
func (w *Wrapper) keyID(ciphertext string) (string, error) {
	parts := strings.SplitN(ciphertext, ":", 3)
	if len(parts) != 3 || len(parts[1]) < 2 {
		return "", fmt.Errorf("transit seal: malformed ciphertext from the key service")
	}
	return fmt.Sprintf("%s/%s/%s:%s", w.address, w.mount, w.keyName, parts[1]), nil
}

// callError explains a failed call: why, from the operator's side.
func (w *Wrapper) callError(op, path string, err error) error {
	where := fmt.Sprintf("transit seal: %s with key %q at %s/v1/%s", op, w.keyName, w.address, path)
	var re *vault.ResponseError
	if !errors.As(err, &re) {
		return fmt.Errorf("%s: cannot reach the key service: %w", where, err)
	}
	msg := strings.Join(re.Errors, "; ")
	switch {
	case re.StatusCode == http.StatusServiceUnavailable:
		return fmt.Errorf("%s: the key service is sealed or unavailable (HTTP 503: %s)", where, msg)
	case re.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%s: the key service refused the seal's token (HTTP 403: %s): check the token and that its policy allows update on %s", where, msg, path)
	case re.StatusCode == http.StatusBadRequest && op == "decrypt":
		return fmt.Errorf("%w: %s: the key service rejected the ciphertext (HTTP 400: %s)", seal.ErrInvalidKey, where, msg)
	default:
		return fmt.Errorf("%s: HTTP %d: %s", where, re.StatusCode, msg)
	}
}
