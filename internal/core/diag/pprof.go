package diag

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// PprofRootPaths need sudo, as in Vault: a profile shows the process'
// memory and call stacks.
var PprofRootPaths = []string{"pprof", "pprof/*"}

// namedProfiles are the runtime profiles sys/pprof/<name> serves.
var namedProfiles = []string{"goroutine", "heap", "allocs", "block", "mutex", "threadcreate"}

// maxProfileSeconds bounds a CPU profile or trace: the request holds the
// node's state lock for reading that long, and a seal waits for it.
const maxProfileSeconds = 300

// cpuProfiling serializes CPU profiles and traces: the runtime runs one of
// each at a time.
var cpuProfiling sync.Mutex

// PprofPaths serve sys/pprof/*: Go's runtime profiles in the format
// `go tool pprof` reads, as Vault's endpoints do.
func PprofPaths() []*logical.Path {
	read := func(fn logical.OperationFunc) map[logical.Operation]logical.OperationFunc {
		return map[logical.Operation]logical.OperationFunc{logical.ReadOperation: fn}
	}
	fields := map[string]*logical.FieldSchema{
		"debug":   {Type: logical.TypeInt},
		"seconds": {Type: logical.TypeInt},
	}
	return []*logical.Path{
		{Pattern: "pprof/?", Operations: read(func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
			var b strings.Builder
			b.WriteString("Profiles served under sys/pprof/:\n")
			for _, n := range append(append([]string{}, namedProfiles...), "cmdline", "profile", "trace") {
				fmt.Fprintf(&b, "  %s\n", n)
			}
			return rawText([]byte(b.String())), nil
		})},
		{Pattern: "pprof/cmdline", Operations: read(func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
			return rawText([]byte(strings.Join(os.Args, "\x00"))), nil
		})},
		{Pattern: "pprof/(?P<name>" + strings.Join(namedProfiles, "|") + ")", Fields: withName(fields), Operations: read(handleNamedProfile)},
		{Pattern: "pprof/profile", Fields: fields, Operations: read(func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
			return timedProfile(ctx, d, 30, func(b *bytes.Buffer) error { return pprof.StartCPUProfile(b) }, pprof.StopCPUProfile)
		})},
		{Pattern: "pprof/trace", Fields: fields, Operations: read(func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
			return timedProfile(ctx, d, 1, func(b *bytes.Buffer) error { return trace.Start(b) }, trace.Stop)
		})},
	}
}

func withName(f map[string]*logical.FieldSchema) map[string]*logical.FieldSchema {
	out := map[string]*logical.FieldSchema{"name": {Type: logical.TypeString}}
	for k, v := range f {
		out[k] = v
	}
	return out
}

// handleNamedProfile writes a runtime profile: the binary protobuf
// format by default, text with debug=1 or 2 (goroutine stacks).
func handleNamedProfile(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	debug := d.Get("debug").(int)
	if debug < 0 || debug > 2 {
		return nil, logical.BadRequest("debug must be 0, 1 or 2")
	}
	p := pprof.Lookup(d.Get("name").(string))
	if p == nil {
		return nil, logical.ErrUnsupportedPath
	}
	var b bytes.Buffer
	if err := p.WriteTo(&b, debug); err != nil {
		return nil, fmt.Errorf("pprof: %w", err)
	}
	if debug > 0 {
		return rawText(b.Bytes()), nil
	}
	return rawBinary(b.Bytes()), nil
}

// timedProfile runs a CPU profile or execution trace for ?seconds
// (default def), ending early when the client goes away.
func timedProfile(ctx context.Context, d *logical.FieldData, def int, start func(*bytes.Buffer) error, stop func()) (*logical.Response, error) {
	secs := def
	if v, ok := d.GetOk("seconds"); ok {
		secs = v.(int)
	}
	if secs <= 0 || secs > maxProfileSeconds {
		return nil, logical.BadRequest("seconds must be between 1 and %d", maxProfileSeconds)
	}
	if !cpuProfiling.TryLock() {
		return nil, logical.Errorf(http.StatusConflict, "a CPU profile or trace is already running")
	}
	defer cpuProfiling.Unlock()
	var b bytes.Buffer
	if err := start(&b); err != nil {
		// Started outside this endpoint (a test's -cpuprofile).
		return nil, logical.Errorf(http.StatusConflict, "could not start profiling: %v", err)
	}
	t := time.NewTimer(time.Duration(secs) * time.Second)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
	stop()
	return rawBinary(b.Bytes()), nil
}

func rawText(b []byte) *logical.Response {
	return &logical.Response{Raw: b, RawContentType: "text/plain; charset=utf-8", RawStatus: http.StatusOK}
}

func rawBinary(b []byte) *logical.Response {
	return &logical.Response{Raw: b, RawContentType: "application/octet-stream", RawStatus: http.StatusOK}
}

// PprofUnauthenticated serves sys/pprof/<rel> without a token, for a
// listener with profiling { unauthenticated_pprof_access }: the same
// handlers, outside the ACL and audit, as in Vault.
func PprofUnauthenticated(ctx context.Context, rel string, data map[string]any) (*logical.Response, error) {
	b := &logical.FrameworkBackend{Paths: PprofPaths()}
	return b.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: rel, Data: data})
}
