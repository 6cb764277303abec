package kv

import (
	"context"
	"fmt"

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

	m, err := b.loadMeta(ctx, req.Storage, key)
	if err != nil || m == nil {
		return nil, err
	}
	now := b.now()
	changed := false
	for _, n := range vs {
		vm := m.Versions[n]
		if vm == nil || vm.Destroyed || vm.deleted(now) {
			continue
		}
		vm.DeletionTime = now
		changed = true
	}
	if !changed {
		return nil, nil
	}
	return nil, b.saveMeta(ctx, req.Storage, m)
}

// undeleteVersions restores soft-deleted versions (undelete/<path>). A
// delete_version_after in force starts counting again from now, as in Vault.
func (b *versioned) undeleteVersions(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	key := d.Get("path").(string)
	vs, err := versionsParam(d, "No version number provided")
	if err != nil {
		return nil, err
	}
	c, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	lock := b.locks.forKey(key)
	lock.Lock()
	defer lock.Unlock()

	m, err := b.loadMeta(ctx, req.Storage, key)
	if err != nil || m == nil {
		return nil, err
	}
	now := b.now()
	changed := false
	for _, n := range vs {
		vm := m.Versions[n]
		if vm == nil || vm.Destroyed {
			continue
		}
		vm.DeletionTime = deletionTimeFor(now, m, c)
		changed = true
	}
	if !changed {
		return nil, nil
	}
	return nil, b.saveMeta(ctx, req.Storage, m)
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

	m, err := b.loadMeta(ctx, req.Storage, key)
	if err != nil || m == nil {
		return nil, err
	}
	var doomed []uint64
	for _, n := range vs {
		vm := m.Versions[n]
		if vm == nil || vm.Destroyed {
			continue
		}
		vm.Destroyed = true
		doomed = append(doomed, n)
	}
	if len(doomed) == 0 {
		return nil, nil
	}
	if err := b.saveMeta(ctx, req.Storage, m); err != nil {
		return nil, err
	}
	for _, n := range doomed {
		if err := req.Storage.Delete(ctx, versionKey(key, n)); err != nil {
			return nil, fmt.Errorf("kv: destroy version %d: %w", n, err)
		}
	}
	return nil, nil
}
