package kv

import (
	"context"
	"fmt"

	"github.com/strongbox/strongbox/internal/logical"
)

// pathData serves data/<path>: read a version, write a new one, patch the
// latest, soft-delete the latest.
func (b *versioned) pathData() *logical.Path {
	return &logical.Path{
		// The secret's path never ends in "/" (that would be a folder).
		Pattern: "data/(?P<path>.*[^/])",
		Fields: map[string]*logical.FieldSchema{
			"path":    {Type: logical.TypeString, Description: "Location of the secret."},
			"version": {Type: logical.TypeRaw, Description: "On read, the version to return; latest when 0 or unset."},
			"options": {Type: logical.TypeRaw, Description: `Write options; "cas" makes the write check-and-set.`},
			"data":    {Type: logical.TypeRaw, Description: "The secret's key/value pairs."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readData,
			logical.CreateOperation: b.writeData,
			logical.UpdateOperation: b.writeData,
			logical.PatchOperation:  b.patchData,
			logical.DeleteOperation: b.deleteLatest,
		},
		ExistenceCheck: b.exists,
		HelpSynopsis:   "Write, patch, read and delete data in the key/value store.",
	}
}

// exists is the existence check of data/ and metadata/: a secret exists
// once it has a metadata entry.
func (b *versioned) exists(ctx context.Context, req *logical.Request, d *logical.FieldData) (bool, error) {
	m, err := b.loadMeta(ctx, req.Storage, d.Get("path").(string))
	if err != nil {
		return false, err
	}
	return m != nil, nil
}

func (b *versioned) readData(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	want, err := intParam(d, "version")
	if err != nil {
		return nil, err
	}
	return b.readVersion(ctx, req, d.Get("path").(string), want, "data",
		func(data map[string]any) any { return data })
}

// readVersion answers a read of version want (0: the latest) of key, data/
// and subkeys/ alike: {field: view(data), "metadata": …}. The answer is
// empty (a 404) when there is no such version, and a 404 carrying the
// metadata when the version is deleted or destroyed.
func (b *versioned) readVersion(ctx context.Context, req *logical.Request, key string, want int64, field string, view func(map[string]any) any) (*logical.Response, error) {
	lock := b.locks.forKey(key)
	lock.RLock()
	defer lock.RUnlock()

	m, err := b.loadMeta(ctx, req.Storage, key)
	if err != nil || m == nil {
		return nil, err
	}
	n := m.CurrentVersion
	if want > 0 {
		n = uint64(want)
	}
	vm := m.Versions[n]
	if vm == nil {
		return nil, nil
	}
	out := map[string]any{field: nil, "metadata": versionResponse(n, vm, m)}
	if vm.Destroyed || vm.deleted(b.now()) {
		return notFound(req, out)
	}
	data, err := loadLiveVersionData(ctx, req.Storage, key, n)
	if err != nil {
		return nil, err
	}
	out[field] = view(data)
	return &logical.Response{Data: out}, nil
}

// loadLiveVersionData loads the data of version n, which the metadata says
// is live: its data missing is then an internal error, not "not found".
func loadLiveVersionData(ctx context.Context, s logical.Storage, key string, n uint64) (map[string]any, error) {
	data, err := loadVersionData(ctx, s, key, n)
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, fmt.Errorf("kv: version %d of a secret has metadata but no data", n)
	}
	return data, nil
}

// checkAndSet enforces the "cas" option: when given it must equal the
// current version; when absent it is an error if the engine or the key
// requires it.
func checkAndSet(d *logical.FieldData, c *engineConfig, m *keyMeta) error {
	opts, _, err := objectParam(d, "options")
	if err != nil {
		return err
	}
	raw, ok := opts["cas"]
	if ok && raw != nil {
		cas, err := parseInt(raw)
		if err != nil {
			return logical.BadRequest("error parsing check-and-set parameter")
		}
		if cas < 0 || uint64(cas) != m.CurrentVersion {
			return logical.BadRequest("check-and-set parameter did not match the current version")
		}
		return nil
	}
	if c.CasRequired || m.CasRequired {
		return logical.BadRequest("check-and-set parameter required for this call")
	}
	return nil
}

func (b *versioned) writeData(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	return b.writeVersion(ctx, req, d, true, func(m *keyMeta, c *engineConfig, data map[string]any) (*logical.Response, error) {
		return b.appendVersion(ctx, req, c, m, data)
	})
}

// writeVersion runs, in order, the steps a data write and a data patch
// share: it validates "data" and "options", loads the engine config, takes
// the key's lock, loads the key's metadata and checks "cas". A key without
// metadata starts afresh when create is set and is a 404 otherwise. Then
// store, still under the lock, makes the new version from the data sent and
// appends it.
func (b *versioned) writeVersion(ctx context.Context, req *logical.Request, d *logical.FieldData, create bool,
	store func(m *keyMeta, c *engineConfig, data map[string]any) (*logical.Response, error)) (*logical.Response, error) {
	key := d.Get("path").(string)
	data, ok, err := objectParam(d, "data")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, logical.BadRequest("no data provided")
	}
	if _, _, err := objectParam(d, "options"); err != nil {
		return nil, err
	}
	c, err := b.loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}

	lock := b.locks.forKey(key)
	lock.Lock()
	defer lock.Unlock()

	m, err := b.loadMeta(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if m == nil {
		if !create {
			return nil, logical.Errorf(404, "no secret found at %q", key)
		}
		m = &keyMeta{Key: key, Versions: map[uint64]*versionMeta{}}
	}
	if err := checkAndSet(d, c, m); err != nil {
		return nil, err
	}
	return store(m, c, data)
}

// appendVersion stores data as the key's next version and updates its
// metadata. The caller holds the key's lock. The version is written before
// the metadata, so a crash in between leaves only an unreferenced entry
// that the next write overwrites.
func (b *versioned) appendVersion(ctx context.Context, req *logical.Request, c *engineConfig, m *keyMeta, data map[string]any) (*logical.Response, error) {
	now := b.now()
	n := m.CurrentVersion + 1
	ve, err := encodeVersion(m.Key, n, data, now)
	if err != nil {
		return nil, err // bad data: nothing written
	}
	// m is this request's copy: changing it before the writes succeed
	// leaves nothing behind if they fail.
	vm, dropped := m.addVersion(now, c)
	if tx, ok := req.Storage.(logical.Transactional); ok {
		if err := b.commitVersion(ctx, tx, m, ve, dropped); err != nil {
			return nil, err
		}
		return &logical.Response{Data: versionResponse(n, vm, m)}, nil
	}
	if err := req.Storage.Put(ctx, ve); err != nil {
		return nil, fmt.Errorf("kv: write version %d: %w", n, err)
	}
	if err := b.saveMeta(ctx, req.Storage, m); err != nil {
		return nil, err
	}
	resp := &logical.Response{Data: versionResponse(n, vm, m)}
	failed := false
	for _, old := range dropped {
		if err := req.Storage.Delete(ctx, versionKey(m.Key, old)); err != nil {
			// The metadata no longer references it, so the data is
			// unreachable; deleting the key's metadata removes it at the
			// latest.
			b.logger.Warn("kv: could not remove a trimmed version", "version", old, "error", err)
			failed = true
		}
	}
	if failed {
		resp.AddWarning("error occurred when cleaning up old versions; they will be removed when the key's metadata is deleted")
	}
	return resp, nil
}

func (b *versioned) patchData(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	key := d.Get("path").(string)
	return b.writeVersion(ctx, req, d, false, func(m *keyMeta, c *engineConfig, patch map[string]any) (*logical.Response, error) {
		vm := m.Versions[m.CurrentVersion]
		if vm == nil {
			return nil, logical.Errorf(404, "no secret found at %q", key)
		}
		if vm.Destroyed || vm.deleted(b.now()) {
			// Like Vault: the 404 carries the latest version's metadata.
			return notFound(req, versionResponse(m.CurrentVersion, vm, m))
		}
		current, err := loadLiveVersionData(ctx, req.Storage, key, m.CurrentVersion)
		if err != nil {
			return nil, err
		}
		merged, _ := mergePatch(current, patch).(map[string]any)
		return b.appendVersion(ctx, req, c, m, merged)
	})
}

func (b *versioned) deleteLatest(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	key := d.Get("path").(string)
	lock := b.locks.forKey(key)
	lock.Lock()
	defer lock.Unlock()

	_, err := b.markVersions(ctx, req.Storage, key, nil, softDelete)
	return nil, err
}
