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
	"time"
)

// DefaultWriteDeadline bounds how long a request waits for one device to
// record its entry before that device is marked failing.
const DefaultWriteDeadline = 2 * time.Second

// Broker fans audit entries out to every registered device. It is safe for
// concurrent use: requests log while devices are enabled and disabled.
//
// Devices write in parallel, each under its own lock (none is shared across
// devices), and each within the broker's write deadline: a device that has
// not answered by then is marked failing and the request goes on with the
// devices that did record it. A failing device is left out of requests
// while a background loop reopens it with backoff; it is tried again once
// it reopens, or when no healthy device is left. With devices registered
// and none recording the entry, logging fails with ErrAuditFailed.
type Broker struct {
	logger *slog.Logger

	// mu serializes Register and Deregister; logging reads regs without it.
	mu   sync.Mutex
	regs atomic.Pointer[[]*registration] // sorted by path, copy on write

	headers  atomic.Pointer[HeaderConfig]
	deadline atomic.Int64 // time.Duration
	observer atomic.Pointer[Observer]
	retryMin time.Duration
	retryMax time.Duration
}

// Observer is told of every device write once it ends (late ones too):
// the device path, "request" or "response", how long it took and its
// error. Telemetry hangs its audit counters and timers here. It must be
// fast and safe for concurrent use.
type Observer func(path, kind string, took time.Duration, err error)

// DeviceStatus is the health of one device as the broker sees it.
type DeviceStatus struct {
	// Failing is true from a failed or timed-out write until a write
	// succeeds again.
	Failing bool
	// Stuck is true while a write that missed the deadline has not
	// returned; the device is left out of requests meanwhile.
	Stuck bool
	// LastError is the error that made the device failing.
	LastError string
	// Failures counts failed or timed-out writes; Skipped counts entries
	// not sent to the device because it was failing.
	Failures, Skipped int64
}

// NewBroker returns a broker with no devices and DefaultWriteDeadline. A
// nil logger means slog.Default().
func NewBroker(logger *slog.Logger) *Broker {
	if logger == nil {
		logger = slog.Default()
	}
	b := &Broker{logger: logger, retryMin: 250 * time.Millisecond, retryMax: 30 * time.Second}
	b.regs.Store(&[]*registration{})
	h := DefaultAuditedHeaders()
	b.headers.Store(&h)
	b.deadline.Store(int64(DefaultWriteDeadline))
	return b
}

// SetWriteDeadline sets how long a request waits for each device; d <= 0
// restores DefaultWriteDeadline.
func (b *Broker) SetWriteDeadline(d time.Duration) {
	if d <= 0 {
		d = DefaultWriteDeadline
	}
	b.deadline.Store(int64(d))
}

// SetObserver installs fn (nil removes it).
func (b *Broker) SetObserver(fn Observer) {
	if fn == nil {
		b.observer.Store(nil)
		return
	}
	b.observer.Store(&fn)
}

// Register adds d under path (the device's mount path, e.g. "file/"). The
// broker owns d from now on and closes it on Deregister. conf is kept for
// Config. It fails with ErrAlreadyRegistered if path is in use.
func (b *Broker) Register(path string, d Device, conf *DeviceConfig) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.regs.Load()
	for _, r := range old {
		if r.path == path {
			return fmt.Errorf("%w: %q", ErrAlreadyRegistered, path)
		}
	}
	regs := append(make([]*registration, 0, len(old)+1), old...)
	regs = append(regs, &registration{path: path, device: d, conf: conf, stop: make(chan struct{})})
	sort.Slice(regs, func(i, j int) bool { return regs[i].path < regs[j].path })
	b.regs.Store(&regs)
	return nil
}

// remove takes the registration at path out of the list.
func (b *Broker) remove(path string) *registration {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.regs.Load()
	for i, r := range old {
		if r.path == path {
			regs := append(append(make([]*registration, 0, len(old)-1), old[:i]...), old[i+1:]...)
			b.regs.Store(&regs)
			return r
		}
	}
	return nil
}

// Deregister removes and closes the device at path. Entries already being
// written to it finish or fail on their own; requests started afterwards
// no longer count it. It fails with ErrUnknownDevice if there is none; a
// close error is returned but the device is removed regardless.
func (b *Broker) Deregister(path string) error {
	reg := b.remove(path)
	if reg == nil {
		return fmt.Errorf("%w %q", ErrUnknownDevice, path)
	}
	reg.shutdown()
	if err := reg.device.Close(); err != nil {
		return fmt.Errorf("audit: close device %q: %w", path, err)
	}
	return nil
}

func (b *Broker) find(path string) *registration {
	for _, r := range *b.regs.Load() {
		if r.path == path {
			return r
		}
	}
	return nil
}

// IsRegistered reports whether a device is registered at path.
func (b *Broker) IsRegistered(path string) bool { return b.find(path) != nil }

// Paths returns the registered paths, sorted.
func (b *Broker) Paths() []string {
	regs := *b.regs.Load()
	paths := make([]string, len(regs))
	for i, r := range regs {
		paths[i] = r.path
	}
	return paths
}

// Config returns the configuration the device at path was registered with.
func (b *Broker) Config(path string) (*DeviceConfig, bool) {
	r := b.find(path)
	if r == nil {
		return nil, false
	}
	return r.conf, true
}

// Status returns the health of the device at path.
func (b *Broker) Status(path string) (DeviceStatus, bool) {
	r := b.find(path)
	if r == nil {
		return DeviceStatus{}, false
	}
	return r.status(), true
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
// devices it does nothing. If devices are registered and none records the
// entry within the write deadline it returns an error wrapping
// ErrAuditFailed, and the core must refuse the request; a device failing
// while another succeeds is only logged and reported by Status.
func (b *Broker) LogRequest(ctx context.Context, in *LogInput) error {
	return b.log(ctx, in, false)
}

// LogResponse records the response entry of in, with LogRequest's rules.
func (b *Broker) LogResponse(ctx context.Context, in *LogInput) error {
	return b.log(ctx, in, true)
}

func (b *Broker) log(ctx context.Context, in *LogInput, response bool) error {
	regs := *b.regs.Load()
	if len(regs) == 0 {
		return nil
	}
	kind := "request"
	if response {
		kind = "response"
	}
	if in != nil && in.AuditedHeaders == nil {
		cp := *in
		cp.AuditedHeaders = *b.headers.Load()
		in = &cp
	}
	// Failing devices sit out while a healthy one is there to take the
	// entry; with none healthy, every device not stuck in a write is tried,
	// so a device that came back is found on the next request.
	use := make([]*registration, 0, len(regs))
	var errs []error
	for _, r := range regs {
		if !r.failing.Load() {
			use = append(use, r)
		}
	}
	if len(use) == 0 {
		for _, r := range regs {
			if !r.stuck.Load() {
				use = append(use, r)
			}
		}
	}
	for _, r := range regs {
		if !contains(use, r) {
			r.skipped.Add(1)
			errs = append(errs, fmt.Errorf("%s: failing: %w", r.path, r.lastError()))
		}
	}

	done := make(chan writeResult, len(use))
	started := make([]*registration, 0, len(use))
	for _, r := range use {
		// Entries are formatted here, on the caller's goroutine, so in is
		// never read after this call returns even if a write outlives it.
		w, err := prepare(ctx, r.device, in, response)
		if err != nil {
			b.failed(r, err)
			errs = append(errs, fmt.Errorf("%s: %w", r.path, err))
			continue
		}
		r.inflight.Add(1)
		go b.write(r, len(started), kind, w, done)
		started = append(started, r)
	}
	if len(started) == 0 {
		return fmt.Errorf("audit: logging the %s: %w: %w", kind, ErrAuditFailed, errors.Join(errs...))
	}

	succeeded := 0
	answered := make([]bool, len(started))
	timer := time.NewTimer(time.Duration(b.deadline.Load()))
	defer timer.Stop()
	for pending := len(started); pending > 0; {
		select {
		case res := <-done:
			pending--
			answered[res.idx] = true
			if res.err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", started[res.idx].path, res.err))
				continue
			}
			succeeded++
		case <-timer.C:
			for i, r := range started {
				if !answered[i] {
					err := fmt.Errorf("%w after %v", errDeadline, time.Duration(b.deadline.Load()))
					b.timedOut(r, err)
					errs = append(errs, fmt.Errorf("%s: %w", r.path, err))
				}
			}
			pending = 0
		}
	}
	if succeeded == 0 {
		return fmt.Errorf("audit: logging the %s: %w: %w", kind, ErrAuditFailed, errors.Join(errs...))
	}
	return nil
}

var errDeadline = errors.New("audit device did not write within the deadline")

func contains(regs []*registration, r *registration) bool {
	for _, x := range regs {
		if x == r {
			return true
		}
	}
	return false
}

type writeResult struct {
	idx int
	err error
}

// write runs one device write and reports to done (buffered, so a write
// that outlives its request never blocks).
func (b *Broker) write(r *registration, idx int, kind string, w func() error, done chan<- writeResult) {
	start := time.Now()
	err := w()
	took := time.Since(start)
	if err != nil {
		b.failed(r, err)
	} else {
		b.succeeded(r)
	}
	if r.inflight.Add(-1) == 0 {
		r.stuck.Store(false)
	}
	if obs := b.observer.Load(); obs != nil {
		(*obs)(r.path, kind, took, err)
	}
	done <- writeResult{idx: idx, err: err}
}

// prepare formats the entry for d and returns the write left to do. A
// device of this package is split so only its write runs past the caller;
// another Device does all its work in the returned func.
func prepare(ctx context.Context, d Device, in *LogInput, response bool) (func() error, error) {
	if sd, ok := d.(*device); ok {
		lb, err := sd.fmt.format(ctx, in, response)
		if err != nil {
			return nil, err
		}
		return func() error {
			err := sd.out.write(lb.b)
			sd.fmt.release(lb)
			return err
		}, nil
	}
	if response {
		return func() error { return d.LogResponse(ctx, in) }, nil
	}
	return func() error { return d.LogRequest(ctx, in) }, nil
}

// registration is one device and its health. Health changes are per
// device: nothing here is shared with another device.
type registration struct {
	path   string
	device Device
	conf   *DeviceConfig

	inflight atomic.Int32 // writes started and not yet returned
	stuck    atomic.Bool  // a write missed the deadline and has not returned
	failing  atomic.Bool
	retrying atomic.Bool
	failures atomic.Int64
	skipped  atomic.Int64

	mu      sync.Mutex // guards lastErr and backoff
	lastErr error
	backoff time.Duration

	stop     chan struct{}
	stopOnce sync.Once
}

func (r *registration) shutdown() { r.stopOnce.Do(func() { close(r.stop) }) }

func (r *registration) lastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastErr == nil {
		return errors.New("unknown error")
	}
	return r.lastErr
}

func (r *registration) status() DeviceStatus {
	st := DeviceStatus{Failing: r.failing.Load(), Stuck: r.stuck.Load(), Failures: r.failures.Load(), Skipped: r.skipped.Load()}
	if st.Failing {
		st.LastError = r.lastError().Error()
	}
	return st
}

// timedOut marks r stuck and failing after a write missed the deadline.
func (b *Broker) timedOut(r *registration, err error) {
	r.stuck.Store(true)
	if r.inflight.Load() == 0 { // the write returned as the timer fired
		r.stuck.Store(false)
	}
	b.failed(r, err)
}

// failed records a failed write and starts the retry loop on the first.
func (b *Broker) failed(r *registration, err error) {
	r.failures.Add(1)
	r.mu.Lock()
	r.lastErr = err
	r.mu.Unlock()
	if !r.failing.Swap(true) {
		b.logger.Error("audit device failing; requests go on with the other devices", "path", r.path, "error", err)
	}
	if !r.retrying.Swap(true) {
		go b.retry(r)
	}
}

// succeeded clears the failing state after a write that went through.
func (b *Broker) succeeded(r *registration) {
	if r.failing.Swap(false) {
		b.logger.Info("audit device recovered", "path", r.path)
	}
	r.mu.Lock()
	r.backoff = 0
	r.mu.Unlock()
}

// retry reopens a failing device in the background, with doubling delays,
// until the reopen works (the next request then tries it), it recovers
// through a write, or it is deregistered. A device stuck in a write is not
// reopened until that write returns.
func (b *Broker) retry(r *registration) {
	defer r.retrying.Store(false)
	for {
		r.mu.Lock()
		if r.backoff < b.retryMin {
			r.backoff = b.retryMin
		} else if r.backoff *= 2; r.backoff > b.retryMax {
			r.backoff = b.retryMax
		}
		wait := r.backoff
		r.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-r.stop:
			t.Stop()
			return
		case <-t.C:
		}
		if !r.failing.Load() {
			return
		}
		if r.stuck.Load() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(b.deadline.Load()))
		err := r.device.Reload(ctx)
		cancel()
		if err != nil {
			b.logger.Debug("audit device still failing", "path", r.path, "error", err)
			continue
		}
		// On probation: requests try it again; a failed write brings it
		// back here with a longer delay.
		r.failing.Store(false)
		b.logger.Info("audit device reopened; trying it again", "path", r.path)
		return
	}
}

// Hash returns the HMAC of s under the salt of the device at path
// (sys/audit-hash/<path>); ErrUnknownDevice if there is none.
func (b *Broker) Hash(ctx context.Context, path, s string) (string, error) {
	r := b.find(path)
	if r == nil {
		return "", fmt.Errorf("%w %q", ErrUnknownDevice, path)
	}
	return r.device.Hash(ctx, s)
}

// Reload reloads every device (on SIGHUP), returning the errors of those
// that failed. A device stuck in a write is skipped: its reopen would wait
// for that write.
func (b *Broker) Reload(ctx context.Context) error {
	var errs []error
	for _, r := range *b.regs.Load() {
		if r.stuck.Load() {
			errs = append(errs, fmt.Errorf("audit: reload %q: %w", r.path, errDeadline))
			continue
		}
		if err := r.device.Reload(ctx); err != nil {
			b.logger.Error("audit device failed to reload", "path", r.path, "error", err)
			errs = append(errs, fmt.Errorf("audit: reload %q: %w", r.path, err))
		}
	}
	return errors.Join(errs...)
}

// Close deregisters and closes every device (the core tearing down).
func (b *Broker) Close() error {
	b.mu.Lock()
	regs := *b.regs.Load()
	b.regs.Store(&[]*registration{})
	b.mu.Unlock()
	var errs []error
	for _, r := range regs {
		r.shutdown()
		if err := r.device.Close(); err != nil {
			errs = append(errs, fmt.Errorf("audit: close device %q: %w", r.path, err))
		}
	}
	return errors.Join(errs...)
}
