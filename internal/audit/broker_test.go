package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// quietLogger keeps the broker's expected error logs out of test output.
var quietLogger = slog.New(slog.DiscardHandler)

// fakeDevice counts entries and fails on demand.
type fakeDevice struct {
	fail      atomic.Bool
	requests  atomic.Int64
	responses atomic.Int64
	reloads   atomic.Int64
	closed    atomic.Bool
	lastInput atomic.Pointer[LogInput]
}

var errFake = errors.New("fake device failure")

func (f *fakeDevice) LogRequest(_ context.Context, in *LogInput) error {
	if f.fail.Load() {
		return errFake
	}
	f.lastInput.Store(in)
	f.requests.Add(1)
	return nil
}

func (f *fakeDevice) LogResponse(_ context.Context, in *LogInput) error {
	if f.fail.Load() {
		return errFake
	}
	f.lastInput.Store(in)
	f.responses.Add(1)
	return nil
}

func (f *fakeDevice) Hash(_ context.Context, s string) (string, error) { return "fake:" + s, nil }

func (f *fakeDevice) Reload(context.Context) error {
	f.reloads.Add(1)
	if f.fail.Load() {
		return errFake
	}
	return nil
}

func (f *fakeDevice) Close() error { f.closed.Store(true); return nil }

func TestBrokerFailureSemantics(t *testing.T) {
	tests := []struct {
		name     string
		failing  []bool // one device per element; true = fails
		wantFail bool
	}{
		{"no devices", nil, false},
		{"one ok", []bool{false}, false},
		{"one failing", []bool{true}, true},
		{"one of two failing", []bool{true, false}, false},
		{"both failing", []bool{true, true}, true},
		{"two of three failing", []bool{true, false, true}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			b := NewBroker(quietLogger)
			var devs []*fakeDevice
			for i, fail := range tc.failing {
				d := &fakeDevice{}
				d.fail.Store(fail)
				devs = append(devs, d)
				if err := b.Register(fmt.Sprintf("dev%d/", i), d, &DeviceConfig{}); err != nil {
					t.Fatal(err)
				}
			}
			for _, logFn := range []func(context.Context, *LogInput) error{b.LogRequest, b.LogResponse} {
				err := logFn(ctx, sampleInput())
				if got := errors.Is(err, ErrAuditFailed); got != tc.wantFail {
					t.Errorf("err = %v; fail closed = %v, want %v", err, got, tc.wantFail)
				}
				if tc.wantFail && !errors.Is(err, errFake) {
					t.Errorf("err = %v does not carry the device errors", err)
				}
			}
			for i, d := range devs {
				wantN := int64(1)
				if tc.failing[i] {
					wantN = 0
				}
				if d.requests.Load() != wantN || d.responses.Load() != wantN {
					t.Errorf("device %d logged %d requests, %d responses; want %d each", i, d.requests.Load(), d.responses.Load(), wantN)
				}
			}
		})
	}
}

// TestBrokerWithBrokenFile runs the fail-closed and one-of-two rules with a
// real file device whose file can no longer be opened (its directory has
// been replaced by a regular file, which defeats even root).
func TestBrokerWithBrokenFile(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "logs")
	brokenPath := filepath.Join(dir, "audit.log")
	broken, err := NewFile(ctx, &DeviceConfig{Path: "broken/", Options: map[string]string{"file_path": brokenPath}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := NewBroker(quietLogger)
	t.Cleanup(func() { _ = b.Close() })
	if err := b.Register("broken/", broken, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(ctx); err == nil {
		t.Fatal("Reload of an unopenable file succeeded")
	}
	if err := b.LogRequest(ctx, sampleInput()); !errors.Is(err, ErrAuditFailed) {
		t.Fatalf("only device broken: err = %v, want ErrAuditFailed", err)
	}

	good, goodPath := newDevice(t, nil, nil)
	if err := b.Register("good/", good, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.LogRequest(ctx, sampleInput()); err != nil {
		t.Fatalf("one of two broken: err = %v, want nil", err)
	}
	if err := b.LogResponse(ctx, sampleInput()); err != nil {
		t.Fatalf("one of two broken: err = %v, want nil", err)
	}
	if n := len(readEntries(t, goodPath, "")); n != 2 {
		t.Fatalf("good device has %d entries, want 2", n)
	}
}

func TestBrokerRegistry(t *testing.T) {
	ctx := context.Background()
	b := NewBroker(quietLogger)
	d := &fakeDevice{}
	conf := &DeviceConfig{Path: "file/", Options: map[string]string{"file_path": "x"}}
	if err := b.Register("file/", d, conf); err != nil {
		t.Fatal(err)
	}
	if err := b.Register("file/", &fakeDevice{}, nil); !errors.Is(err, ErrAlreadyRegistered) {
		t.Errorf("second Register = %v, want ErrAlreadyRegistered", err)
	}
	if !b.IsRegistered("file/") || b.IsRegistered("other/") {
		t.Error("IsRegistered wrong")
	}
	if got, ok := b.Config("file/"); !ok || got != conf {
		t.Errorf("Config = %v, %v", got, ok)
	}
	if got := fmt.Sprint(b.Paths()); got != "[file/]" {
		t.Errorf("Paths = %s", got)
	}
	if h, err := b.Hash(ctx, "file/", "abc"); err != nil || h != "fake:abc" {
		t.Errorf("Hash = %q, %v", h, err)
	}
	_, err := b.Hash(ctx, "nope/", "abc")
	if !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("Hash on unknown path = %v, want ErrUnknownDevice", err)
	}
	if status, _ := logical.StatusOf(err); status != 400 {
		t.Errorf("unknown device status = %d, want 400", status)
	}
	if err := b.Reload(ctx); err != nil || d.reloads.Load() != 1 {
		t.Errorf("Reload = %v, reloads = %d", err, d.reloads.Load())
	}
	d.fail.Store(true)
	if err := b.Reload(ctx); !errors.Is(err, errFake) {
		t.Errorf("failing Reload = %v", err)
	}
	d.fail.Store(false)
	if err := b.Deregister("file/"); err != nil {
		t.Fatal(err)
	}
	if !d.closed.Load() {
		t.Error("Deregister did not close the device")
	}
	if b.IsRegistered("file/") {
		t.Error("still registered after Deregister")
	}
	if err := b.Deregister("file/"); !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("second Deregister = %v, want ErrUnknownDevice", err)
	}
	if err := b.LogRequest(ctx, sampleInput()); err != nil {
		t.Errorf("no devices left: %v", err)
	}
}

func TestBrokerAuditedHeaders(t *testing.T) {
	ctx := context.Background()
	b := NewBroker(quietLogger)
	d := &fakeDevice{}
	if err := b.Register("f/", d, nil); err != nil {
		t.Fatal(err)
	}
	in := sampleInput()
	if err := b.LogRequest(ctx, in); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(d.lastInput.Load().AuditedHeaders); got != fmt.Sprint(DefaultAuditedHeaders()) {
		t.Errorf("default headers = %s", got)
	}
	if in.AuditedHeaders != nil {
		t.Error("broker modified the caller's LogInput")
	}
	b.SetAuditedHeaders(HeaderConfig{"X-Custom": true, "X-Correlation-Id": true})
	if err := b.LogRequest(ctx, in); err != nil {
		t.Fatal(err)
	}
	want := HeaderConfig{"correlation-id": false, "x-correlation-id": true, "x-custom": true}
	if got := d.lastInput.Load().AuditedHeaders; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("headers = %v, want %v", got, want)
	}
	if got := b.AuditedHeaders(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("AuditedHeaders = %v, want %v", got, want)
	}
	// An input that brings its own configuration keeps it.
	in.AuditedHeaders = HeaderConfig{}
	if err := b.LogRequest(ctx, in); err != nil {
		t.Fatal(err)
	}
	if got := d.lastInput.Load().AuditedHeaders; len(got) != 0 {
		t.Errorf("explicit empty config replaced by %v", got)
	}
}

// TestBrokerConcurrency logs in parallel while devices come and go; run
// with -race. One device stays registered throughout, so no log may fail.
func TestBrokerConcurrency(t *testing.T) {
	ctx := context.Background()
	b := NewBroker(quietLogger)
	t.Cleanup(func() { _ = b.Close() })
	stable, stablePath := newDevice(t, nil, nil)
	if err := b.Register("stable/", stable, nil); err != nil {
		t.Fatal(err)
	}
	const loggers, perLogger, churn = 8, 40, 30
	var wg sync.WaitGroup
	errs := make(chan error, loggers*perLogger*2+churn)
	for i := 0; i < loggers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < perLogger; j++ {
				in := sampleInput()
				if err := b.LogRequest(ctx, in); err != nil {
					errs <- err
				}
				if err := b.LogResponse(ctx, in); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		dir := t.TempDir()
		for i := 0; i < churn; i++ {
			path := fmt.Sprintf("churn%d/", i%3)
			d, err := NewFile(ctx, &DeviceConfig{Path: path, Options: map[string]string{
				"file_path": filepath.Join(dir, fmt.Sprintf("churn%d.log", i)),
			}})
			if err != nil {
				errs <- err
				return
			}
			if err := b.Register(path, d, nil); err != nil {
				_ = d.Close()
				if err := b.Deregister(path); err != nil {
					errs <- err
				}
				continue
			}
			_ = b.IsRegistered(path)
			if _, err := b.Hash(ctx, path, "x"); err != nil {
				errs <- err
			}
			if err := b.Reload(ctx); err != nil {
				errs <- err
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(readEntries(t, stablePath, "")); n != loggers*perLogger*2 {
		t.Errorf("stable device has %d entries, want %d", n, loggers*perLogger*2)
	}
}
