package kv

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"sync"

	"github.com/strongbox/strongbox/internal/logical"
)

// Factory builds the engine for a mount: version 2 (versioned) when
// conf.Config["version"] is "2", version 1 (pass-through) when it is "1" or
// unset. Any other version is an error.
func Factory(_ context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	if conf == nil {
		return nil, fmt.Errorf("kv: nil backend config")
	}
	logger := conf.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var b logical.Backend
	switch v := conf.Config["version"]; v {
	case "", "1":
		b = newPassthrough(conf.System, logger)
	case "2":
		b = newVersioned(logger)
	default:
		return nil, logical.BadRequest("kv: unsupported version %q, expected \"1\" or \"2\"", v)
	}
	return &viewBackend{Backend: b, view: conf.StorageView}, nil
}

// viewBackend hands the mount's storage view to requests that arrive
// without one. The core normally sets req.Storage to that same view.
type viewBackend struct {
	logical.Backend
	view logical.Storage
}

func (b *viewBackend) withView(req *logical.Request) *logical.Request {
	if req.Storage != nil || b.view == nil {
		return req
	}
	r := *req
	r.Storage = b.view
	return &r
}

// HandleRequest implements logical.Backend.
func (b *viewBackend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	return b.Backend.HandleRequest(ctx, b.withView(req))
}

// ExistenceCheck implements logical.Backend.
func (b *viewBackend) ExistenceCheck(ctx context.Context, req *logical.Request) (bool, bool, error) {
	return b.Backend.ExistenceCheck(ctx, b.withView(req))
}

// lockStripes is how many mutexes guard per-key read-modify-write; two keys
// sharing a stripe only costs some parallelism.
const lockStripes = 256

// keyLocks serialises updates to one secret's metadata.
type keyLocks struct {
	mu [lockStripes]sync.RWMutex
}

func (l *keyLocks) forKey(key string) *sync.RWMutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return &l.mu[h.Sum32()%lockStripes]
}

// respondWithStatus builds a response whose HTTP status is not the default
// (Vault's KV answers 404 with the version's metadata for deleted versions):
// the full JSON envelope goes out verbatim in Raw.
func respondWithStatus(req *logical.Request, status int, data map[string]any, warnings []string) (*logical.Response, error) {
	var dataOut any
	if data != nil {
		dataOut = data
	}
	var warnOut any
	if len(warnings) > 0 {
		warnOut = warnings
	}
	body, err := json.Marshal(map[string]any{
		"request_id":     req.ID,
		"lease_id":       "",
		"renewable":      false,
		"lease_duration": 0,
		"data":           dataOut,
		"wrap_info":      nil,
		"warnings":       warnOut,
		"auth":           nil,
		"mount_type":     req.MountType,
	})
	if err != nil {
		return nil, fmt.Errorf("kv: encode response: %w", err)
	}
	return &logical.Response{
		Data:           data,
		Warnings:       warnings,
		Raw:            body,
		RawContentType: "application/json",
		RawStatus:      status,
	}, nil
}

// notFound is a 404 with the given body data (deleted or destroyed version).
func notFound(req *logical.Request, data map[string]any) (*logical.Response, error) {
	return respondWithStatus(req, http.StatusNotFound, data, nil)
}

// listResponse is Vault's list shape; an empty list is "nothing here" (404).
func listResponse(keys []string) *logical.Response {
	if len(keys) == 0 {
		return nil
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}
}
