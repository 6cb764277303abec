package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Broker fans audit entries out to every registered device. It is safe for
// concurrent use: requests log while devices are enabled and disabled.
type Broker struct {
	logger *slog.Logger

	// mu is held for reading while entries are logged, so Deregister (which
	// closes the device) waits for the entries in flight on it.
	mu      sync.RWMutex
	devices map[string]*registration

	headers atomic.Pointer[HeaderConfig]
}

type registration struct {
	device Device
	conf   *DeviceConfig
}

// NewBroker returns a broker with no devices. A nil logger means
// slog.Default().
func NewBroker(logger *slog.Logger) *Broker {
	if logger == nil {
		logger = slog.Default()
	}
	b := &Broker{logger: logger, devices: map[string]*registration{}}
	h := DefaultAuditedHeaders()
	b.headers.Store(&h)
	return b
}

// Register adds d under path (the device's mount path, e.g. "file/"). The
// broker owns d from now on and closes it on Deregister. conf is kept for
// Config. It fails with ErrAlreadyRegistered if path is in use.
func (b *Broker) Register(path string, d Device, conf *DeviceConfig) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.devices[path]; ok {
		return fmt.Errorf("%w: %q", ErrAlreadyRegistered, path)
	}
	b.devices[path] = &registration{device: d, conf: conf}
	return nil
}

// Deregister removes and closes the device at path, after the entries being
// logged on it are done. It fails with ErrUnknownDevice if there is none;
// a close error is returned but the device is removed regardless.
func (b *Broker) Deregister(path string) error {
	b.mu.Lock()
	reg, ok := b.devices[path]
	delete(b.devices, path)
	b.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownDevice, path)
	}
	if err := reg.device.Close(); err != nil {
		return fmt.Errorf("audit: close device %q: %w", path, err)
	}
	return nil
}

// IsRegistered reports whether a device is registered at path.
func (b *Broker) IsRegistered(path string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, ok := b.devices[path]
	return ok
}

// Paths returns the registered paths, sorted.
func (b *Broker) Paths() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	paths := make([]string, 0, len(b.devices))
	for p := range b.devices {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// Config returns the configuration the device at path was registered with.
func (b *Broker) Config(path string) (*DeviceConfig, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	reg, ok := b.devices[path]
	if !ok {
		return nil, false
	}
	return reg.conf, true
}

// SetAuditedHeaders sets which request headers entries record (Vault's
// sys/config/auditing/request-headers), by case-insensitive name, each with
// whether its values are HMAC'd. DefaultAuditedHeaders are always included
// unless cfg names them itself.
func (b *Broker) SetAuditedHeaders(cfg HeaderConfig) {
	h := DefaultAuditedHeaders()
	for name, doHMAC := range cfg {
		h[strings.ToLower(name)] = doHMAC
	}
	b.headers.Store(&h)
}

// AuditedHeaders returns a copy of the header configuration in effect.
func (b *Broker) AuditedHeaders() HeaderConfig {
	return maps.Clone(*b.headers.Load())
}

// LogRequest records the request entry of in on every device. With no
// devices it does nothing. If devices are registered and none succeeds it
// returns an error wrapping ErrAuditFailed, and the core must refuse the
// request; a device failing while another succeeds is only logged.
func (b *Broker) LogRequest(ctx context.Context, in *LogInput) error {
	return b.log(ctx, in, "request", Device.LogRequest)
}

// LogResponse records the response entry of in, with LogRequest's rules.
func (b *Broker) LogResponse(ctx context.Context, in *LogInput) error {
	return b.log(ctx, in, "response", Device.LogResponse)
}

func (b *Broker) log(ctx context.Context, in *LogInput, kind string, logFn func(Device, context.Context, *LogInput) error) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.devices) == 0 {
		return nil
	}
	if in != nil && in.AuditedHeaders == nil {
		cp := *in
		cp.AuditedHeaders = *b.headers.Load()
		in = &cp
	}
	var errs []error
	succeeded := 0
	for path, reg := range b.devices {
		if err := logFn(reg.device, ctx, in); err != nil {
			b.logger.Error("audit device failed to log "+kind, "path", path, "error", err)
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			continue
		}
		succeeded++
	}
	if succeeded == 0 {
		return fmt.Errorf("audit: logging the %s: %w: %w", kind, ErrAuditFailed, errors.Join(errs...))
	}
	return nil
}

// Hash returns the HMAC of s under the salt of the device at path
// (sys/audit-hash/<path>); ErrUnknownDevice if there is none.
func (b *Broker) Hash(ctx context.Context, path, s string) (string, error) {
	b.mu.RLock()
	reg, ok := b.devices[path]
	b.mu.RUnlock()
	if !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownDevice, path)
	}
	return reg.device.Hash(ctx, s)
}

// Reload reloads every device (on SIGHUP), returning the errors of those
// that failed.
func (b *Broker) Reload(ctx context.Context) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var errs []error
	for path, reg := range b.devices {
		if err := reg.device.Reload(ctx); err != nil {
			b.logger.Error("audit device failed to reload", "path", path, "error", err)
			errs = append(errs, fmt.Errorf("audit: reload %q: %w", path, err))
		}
	}
	return errors.Join(errs...)
}

// Close deregisters and closes every device (the core tearing down).
func (b *Broker) Close() error {
	b.mu.Lock()
	devices := b.devices
	b.devices = map[string]*registration{}
	b.mu.Unlock()
	var errs []error
	for path, reg := range devices {
		if err := reg.device.Close(); err != nil {
			errs = append(errs, fmt.Errorf("audit: close device %q: %w", path, err))
		}
	}
	return errors.Join(errs...)
}
