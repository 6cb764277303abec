package kv

import (
	"context"
	"fmt"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// versionsParam reads the required "versions" list; missingMsg is Vault's
// message for an empty one (its wording differs between endpoints).
func versionsParam(d *logical.FieldData, missingMsg string) ([]uint64, error) {
	vs, err := parseVersions(d.Raw["versions"])
	if err != nil {
		return nil, logical.BadRequest("invalid versions: %v", err)
	}
	if len(vs) == 0 {
		return nil, logical.BadRequest("%s", missingMsg)
	}
	return vs, nil
}

// deleteVersions soft-deletes the listed versions (delete/<path>).
func (b *versioned) deleteVersions(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	key := d.Get("path").(string)
	vs, err := versionsParam(d, "No version number provided")
	if err != nil {
		return nil, err
	}
	lock := b.locks.forKey(key)
	lock.Lock()
	defer lock.Unlock()

	_, err = b.markVersions(ctx, req.Storage, key, vs, softDelete)
	return nil, err
}

// undeleteVersions restores soft-deleted versions (undelete/<path>). A
// delete_version_after in force starts counting again from now, as in Vault.
func (b *versioned) undeleteVersions(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	key := d.Get("path").(string)
	vs, err := versionsParam(d, "No version number provided")
	if err != nil {
		return nil, err
	}
	c, err := b.loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	lock := b.locks.forKey(key)
	lock.Lock()
	defer lock.Unlock()

	_, err = b.markVersions(ctx, req.Storage, key, vs, func(m *keyMeta, vm *versionMeta, now time.Time) bool {
		vm.DeletionTime = deletionTimeFor(now, m, c)
		return true
	})
	return nil, err
}

// destroyVersions marks the listed versions destroyed and removes their
// data for good (destroy/<path>). The metadata is written first so that no
// reader ever finds a live version without data.
func (b *versioned) destroyVersions(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	key := d.Get("path").(string)
	vs, err := versionsParam(d, "no version number provided")
	if err != nil {
		return nil, err
	}
	lock := b.locks.forKey(key)
	lock.Lock()
	defer lock.Unlock()

	doomed, err := b.markVersions(ctx, req.Storage, key, vs, func(_ *keyMeta, vm *versionMeta, _ time.Time) bool {
		vm.Destroyed = true
		return true
	})
	if err != nil {
		return nil, err
	}
	for _, n := range doomed {
		if err := req.Storage.Delete(ctx, versionKey(key, n)); err != nil {
			return nil, fmt.Errorf("kv: destroy version %d: %w", n, err)
		}
	}
	return nil, nil
}

// markVersions applies mark to each version of key in vs (nil: the current
// version) that exists and is not destroyed; mark reports whether it changed
// the version. When any changed, the metadata is saved and the changed
// versions are returned; a key without metadata changes nothing. The caller
// holds the key's lock.
func (b *versioned) markVersions(ctx context.Context, s logical.Storage, key string, vs []uint64,
	mark func(m *keyMeta, vm *versionMeta, now time.Time) bool) ([]uint64, error) {
	m, err := b.loadMeta(ctx, s, key)
	if err != nil || m == nil {
		return nil, err
	}
	if vs == nil {
		vs = []uint64{m.CurrentVersion}
	}
	now := b.now()
	var changed []uint64
	for _, n := range vs {
		vm := m.Versions[n]
		if vm == nil || vm.Destroyed || !mark(m, vm, now) {
			continue
		}
		changed = append(changed, n)
	}
	if len(changed) == 0 {
		return nil, nil
	}
	if err := b.saveMeta(ctx, s, m); err != nil {
		return nil, err
	}
	return changed, nil
}

// softDelete marks a live version deleted as of now; one already deleted
// keeps its deletion time.
func softDelete(_ *keyMeta, vm *versionMeta, now time.Time) bool {
	if vm.deleted(now) {
		return false
	}
	vm.DeletionTime = now
	return true
}
