package kv

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// versioned is KV version 2.
type versioned struct {
	locks keyLocks
	// configMu serialises read-modify-write of the engine config.
	configMu sync.Mutex
	logger   *slog.Logger
	// now is the clock; tests replace it to step past delete_version_after.
	now func() time.Time
	// meta caches decoded metadata: the engine is the only writer of its
	// storage on the active node, and a new instance starts empty.
	meta *logical.ReadCache[*keyMeta]
	// conf caches the engine configuration the same way.
	conf *logical.ReadCache[*engineConfig]
}

func newVersioned(logger *slog.Logger) logical.Backend {
	_, fb := newVersionedBackend(logger)
	return fb
}

// newVersionedBackend returns the engine and its router; tests use the
// engine to control the clock.
func newVersionedBackend(logger *slog.Logger) (*versioned, *logical.FrameworkBackend) {
	b := &versioned{logger: logger, now: func() time.Time { return time.Now().UTC() },
		meta: logical.NewReadCache(maxCachedMeta, (*keyMeta).clone),
		conf: logical.NewReadCache(1, cloneConfig)}
	pathField := map[string]*logical.FieldSchema{
		"path":     {Type: logical.TypeString, Description: "Location of the secret."},
		"versions": {Type: logical.TypeRaw, Description: "Version numbers: a list or a comma-separated string."},
	}
	fb := &logical.FrameworkBackend{
		Paths: []*logical.Path{
			b.pathConfig(),
			b.pathData(),
			b.pathMetadata(),
			b.pathSubkeys(),
			{
				Pattern:      "delete/(?P<path>.*)",
				Fields:       pathField,
				Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.deleteVersions},
				HelpSynopsis: "Marks one or more versions as deleted in the KV store.",
			},
			{
				Pattern:      "undelete/(?P<path>.*)",
				Fields:       pathField,
				Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.undeleteVersions},
				HelpSynopsis: "Undeletes one or more versions from the KV store.",
			},
			{
				Pattern:      "destroy/(?P<path>.*)",
				Fields:       pathField,
				Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.destroyVersions},
				HelpSynopsis: "Permanently removes one or more versions in the KV store.",
			},
			// Last, so that every valid path is tried first.
			b.pathInvalid(),
		},
	}
	return b, fb
}

// pathInvalid answers v1-style paths on a v2 mount the way Vault does: 404
// with a warning that points at the right CLI command.
func (b *versioned) pathInvalid() *logical.Path {
	handler := func(_ context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
		switch strings.TrimSuffix(req.Path, "/") {
		case "metadata", "data", "delete", "undelete", "destroy", "subkeys":
			return respondWithStatus(req, http.StatusNotFound, nil,
				[]string{"Non-listing operations on the root of a K/V v2 mount are not supported."})
		}
		var sub string
		switch req.Operation {
		case logical.CreateOperation, logical.UpdateOperation:
			sub = "put"
		case logical.PatchOperation:
			sub = "patch"
		case logical.ReadOperation:
			sub = "get"
		case logical.ListOperation:
			sub = "list"
		case logical.DeleteOperation:
			sub = "delete"
		}
		return respondWithStatus(req, http.StatusNotFound, nil, []string{fmt.Sprintf(
			"Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv %s' for this operation.", sub)})
	}
	return &logical.Path{
		Pattern: ".*",
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   handler,
			logical.UpdateOperation: handler,
			logical.PatchOperation:  handler,
			logical.DeleteOperation: handler,
			logical.ListOperation:   handler,
		},
	}
}

// pathConfig is the engine-wide configuration.
func (b *versioned) pathConfig() *logical.Path {
	return &logical.Path{
		Pattern: "config",
		Fields: map[string]*logical.FieldSchema{
			"max_versions":         {Type: logical.TypeRaw, Description: "Versions kept per key; 0 means 10."},
			"cas_required":         {Type: logical.TypeRaw, Description: "Require the cas option on every write."},
			"delete_version_after": {Type: logical.TypeRaw, Description: "Delete versions this long after they are written; negative disables."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readConfig,
			logical.UpdateOperation: b.writeConfig,
		},
		HelpSynopsis: "Configures settings for the KV store.",
	}
}

func (b *versioned) readConfig(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	c, err := b.loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"max_versions":         c.MaxVersions,
		"cas_required":         c.CasRequired,
		"delete_version_after": c.DeleteVersionAfter.String(),
	}}, nil
}

func (b *versioned) writeConfig(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	maxRaw, mOk := d.Raw["max_versions"]
	casRaw, cOk := d.Raw["cas_required"]
	dvaRaw, dOk := d.Raw["delete_version_after"]
	if !mOk && !cOk && !dOk {
		return nil, nil
	}
	// Parse everything before touching storage: bad input changes nothing.
	var (
		maxVersions uint32
		cas         bool
		dva         time.Duration
		err         error
	)
	if mOk {
		if maxVersions, err = parseMaxVersions(maxRaw); err != nil {
			return nil, err
		}
	}
	if cOk {
		if cas, err = parseBool(casRaw); err != nil {
			return nil, logical.BadRequest("invalid cas_required: %v", err)
		}
	}
	if dOk {
		if dva, err = parseSignedDuration(dvaRaw); err != nil {
			return nil, logical.BadRequest("invalid delete_version_after: %v", err)
		}
		if dva < 0 {
			// Any negative value means "disabled"; store one canonical value.
			dva = -time.Second
		}
	}

	b.configMu.Lock()
	defer b.configMu.Unlock()
	c, err := b.loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if mOk {
		c.MaxVersions = maxVersions
	}
	if cOk {
		c.CasRequired = cas
	}
	if dOk {
		c.DeleteVersionAfter = dva
	}
	return nil, b.saveConfig(ctx, req.Storage, c)
}

// parseMaxVersions validates a max_versions value: a non-negative 32-bit
// integer.
func parseMaxVersions(raw any) (uint32, error) {
	n, err := parseInt(raw)
	if err != nil {
		return 0, logical.BadRequest("invalid max_versions: %v", err)
	}
	if n < 0 {
		return 0, logical.BadRequest("max_versions must not be negative, got %d", n)
	}
	if n > 1<<32-1 {
		return 0, logical.BadRequest("max_versions %d is too large", n)
	}
	return uint32(n), nil
}
