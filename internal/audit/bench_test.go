package audit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// kvReadInput is what a KV v2 read looks like to the audit layer.
func kvReadInput() *LogInput {
	return &LogInput{
		Request: &logical.Request{
			ID:                  "5b8c3d6e-0f5e-4b7b-9a39-0a1c3d2e4f50",
			Operation:           logical.ReadOperation,
			Path:                "data/app/config",
			MountPoint:          "secret/",
			MountType:           "kv",
			ClientToken:         "hvs.CAESIJ0123456789abcdefghijklmnopqrstuv",
			ClientTokenAccessor: "a1b2c3d4e5f6g7h8i9j0k1l2",
			Connection:          &logical.Connection{RemoteAddr: "10.0.0.12:51234"},
		},
		Auth: &logical.Auth{
			ClientToken:   "hvs.CAESIJ0123456789abcdefghijklmnopqrstuv",
			Accessor:      "a1b2c3d4e5f6g7h8i9j0k1l2",
			DisplayName:   "approle",
			Policies:      []string{"default", "app-read"},
			TokenPolicies: []string{"default", "app-read"},
			Metadata:      map[string]string{"role_name": "app"},
			EntityID:      "9e0e5a4c-1f1c-4c53-a1c5-6c2f2f7c9d11",
			TokenType:     "service",
			LeaseDuration: time.Hour,
		},
		Response: &logical.Response{
			Data: map[string]any{
				"data": map[string]any{"username": "app", "password": "s3cr3t-p4ss", "port": "5432"},
				"metadata": map[string]any{
					"created_time":  "2025-01-01T00:00:00Z",
					"deletion_time": "",
					"destroyed":     false,
					"version":       3,
				},
			},
		},
	}
}

// BenchmarkFileLogRequestResponse measures a request and a response entry
// per operation, from parallel goroutines, to a real file.
func BenchmarkFileLogRequestResponse(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts map[string]string
	}{
		{"hmac", nil},
		{"raw", map[string]string{"log_raw": "true"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			d, _ := newDevice(b, tc.opts, nil)
			in := kvReadInput()
			if err := d.LogRequest(ctx, in); err != nil { // load the salt
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := d.LogRequest(ctx, in); err != nil {
						b.Error(err)
						return
					}
					if err := d.LogResponse(ctx, in); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkFormat isolates building and encoding an entry (no I/O).
func BenchmarkFormat(b *testing.B) {
	ctx := context.Background()
	d, _ := newDevice(b, nil, nil)
	in := kvReadInput()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lb, err := d.fmt.format(ctx, in, true)
		if err != nil {
			b.Fatal(err)
		}
		d.fmt.release(lb)
	}
}

// BenchmarkBrokerDevices: one request and one response entry through the
// broker with 1 and 3 file devices (chain on), 32 goroutines: the audit
// cost a request pays, without the HTTP and storage around it.
func BenchmarkBrokerDevices(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("devices=%d", n), func(b *testing.B) {
			br := NewBroker(quietLogger)
			b.Cleanup(func() { _ = br.Close() })
			for i := 0; i < n; i++ {
				d, _ := newDevice(b, nil, nil)
				if err := br.Register(fmt.Sprintf("f%d/", i), d, nil); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				in := sampleInput()
				for pb.Next() {
					if err := br.LogRequest(ctx, in); err != nil {
						b.Error(err)
						return
					}
					if err := br.LogResponse(ctx, in); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
