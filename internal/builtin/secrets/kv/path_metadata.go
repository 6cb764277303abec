package kv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/strongbox/strongbox/internal/logical"
)

// Vault's limits on custom_metadata.
const (
	maxCustomMetadataKeys        = 64
	maxCustomMetadataKeyLength   = 128
	maxCustomMetadataValueLength = 512
	customMetadataErrPrefix      = "custom_metadata validation failed"
)

const casMandatedWarning = `"cas_required" set to false, but is mandated by backend config. This value will be ignored.`

// pathMetadata serves metadata/<path>: read, list, write, patch, and
// delete (the key with every version).
func (b *versioned) pathMetadata() *logical.Path {
	return &logical.Path{
		Pattern: "metadata(?:/(?P<path>.*))?",
		Fields: map[string]*logical.FieldSchema{
			"path":                 {Type: logical.TypeString, Description: "Location of the secret."},
			"max_versions":         {Type: logical.TypeRaw, Description: "Versions to keep; 0 uses the engine's setting."},
			"cas_required":         {Type: logical.TypeRaw, Description: "Require the cas option on every write of this key."},
			"delete_version_after": {Type: logical.TypeRaw, Description: "Delete versions this long after they are written."},
			"custom_metadata":      {Type: logical.TypeRaw, Description: "User-provided string key/value pairs."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readMetadata,
			logical.ListOperation:   b.listMetadata,
			logical.CreateOperation: b.writeMetadata,
			logical.UpdateOperation: b.writeMetadata,
			logical.PatchOperation:  b.patchMetadata,
			logical.DeleteOperation: b.deleteMetadata,
		},
		ExistenceCheck: b.exists,
		HelpSynopsis:   "Read, write and delete a key's metadata and settings; list keys.",
	}
}

func rootWarning(req *logical.Request) (*logical.Response, error) {
	return respondWithStatus(req, http.StatusNotFound, nil,
		[]string{"Non-listing operations on the root of a K/V v2 mount are not supported."})
}

func (b *versioned) listMetadata(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	prefix := d.Get("path").(string)
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	keys, err := req.Storage.List(ctx, metadataPrefix+prefix)
	if err != nil {
		return nil, fmt.Errorf("kv: list: %w", err)
	}
	return listResponse(keys), nil
}

func (b *versioned) readMetadata(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	key := d.Get("path").(string)
	if key == "" {
		return rootWarning(req)
	}
	m, err := b.loadMeta(ctx, req.Storage, key)
	if err != nil || m == nil {
		return nil, err
	}
	versions := make(map[string]any, len(m.Versions))
	for n, v := range m.Versions {
		versions[strconv.FormatUint(n, 10)] = map[string]any{
			"created_time":  formatTime(v.CreatedTime),
			"deletion_time": formatTime(v.DeletionTime),
			"destroyed":     v.Destroyed,
		}
	}
	return &logical.Response{Data: map[string]any{
		"versions":             versions,
		"current_version":      m.CurrentVersion,
		"oldest_version":       m.OldestVersion,
		"created_time":         formatTime(m.CreatedTime),
		"updated_time":         formatTime(m.UpdatedTime),
		"max_versions":         m.MaxVersions,
		"cas_required":         m.CasRequired,
		"delete_version_after": m.DeleteVersionAfter.String(),
		"custom_metadata":      customMetadataValue(m.CustomMetadata),
	}}, nil
}

// metadataInput is the parsed body of a metadata write or patch; nil
// pointers are fields the client did not send.
type metadataInput struct {
	maxVersions *uint32
	casRequired *bool
	dva         *time.Duration
	// custom is the custom_metadata sent; customSet says it was sent at all
	// (null included). In a patch, removals are the keys in customRemove.
	custom       map[string]string
	customRemove []string
	customSet    bool
}

func (in *metadataInput) empty() bool {
	return in.maxVersions == nil && in.casRequired == nil && in.dva == nil && !in.customSet
}

// casWarning is what a metadata write or patch answers when it turns
// cas_required off for a key while the engine config mandates it: a warning
// that the setting is ignored. Otherwise it is nil (no body).
func (in *metadataInput) casWarning(c *engineConfig) *logical.Response {
	if in.casRequired == nil || *in.casRequired || !c.CasRequired {
		return nil
	}
	resp := &logical.Response{}
	resp.AddWarning(casMandatedWarning)
	return resp
}

// applySettings sets the key settings the client sent; custom_metadata is
// left to the caller, since a write replaces it and a patch merges into it.
func (in *metadataInput) applySettings(m *keyMeta) {
	if in.maxVersions != nil {
		m.MaxVersions = *in.maxVersions
	}
	if in.casRequired != nil {
		m.CasRequired = *in.casRequired
	}
	if in.dva != nil {
		m.DeleteVersionAfter = *in.dva
	}
}

// parseMetadataInput validates every metadata field before anything is
// written. In a patch a null custom_metadata value removes that key; a null
// scalar field resets it to its default.
func parseMetadataInput(d *logical.FieldData, patch bool) (*metadataInput, error) {
	in := &metadataInput{}
	if raw, ok := d.Raw["max_versions"]; ok {
		n, err := parseMaxVersions(raw)
		if err != nil {
			return nil, err
		}
		in.maxVersions = &n
	}
	if raw, ok := d.Raw["cas_required"]; ok {
		v, err := parseBool(raw)
		if err != nil {
			return nil, logical.BadRequest("invalid cas_required: %v", err)
		}
		in.casRequired = &v
	}
	if raw, ok := d.Raw["delete_version_after"]; ok {
		v, err := parseDurationNonNeg(raw)
		if err != nil {
			return nil, logical.BadRequest("invalid delete_version_after: %v", err)
		}
		in.dva = &v
	}
	if raw, ok := d.Raw["custom_metadata"]; ok {
		in.customSet = true
		if raw != nil {
			obj, isMap := raw.(map[string]any)
			if !isMap {
				return nil, logical.BadRequest("%s: expected an object, got %s", customMetadataErrPrefix, jsonKind(raw))
			}
			in.custom = make(map[string]string, len(obj))
			for k, v := range obj {
				if v == nil && patch {
					in.customRemove = append(in.customRemove, k)
					continue
				}
				s, err := customMetadataString(v)
				if err != nil {
					return nil, logical.BadRequest("%s: key %q: %v", customMetadataErrPrefix, k, err)
				}
				in.custom[k] = s
			}
			if err := validateCustomMetadata(in.custom); err != nil {
				return nil, err
			}
		}
	}
	return in, nil
}

// customMetadataString converts a scalar custom_metadata value to its string
// form, as Vault's weak decoding does.
func customMetadataString(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case json.Number:
		return x.String(), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	}
	return "", fmt.Errorf("expected a string, got %s", jsonKind(v))
}

// validateCustomMetadata enforces Vault's limits and reports every problem
// in Vault's multi-error shape.
func validateCustomMetadata(cm map[string]string) error {
	if n := len(cm); n > maxCustomMetadataKeys {
		return multiError([]string{fmt.Sprintf("%s: payload must contain at most %d keys, provided %d",
			customMetadataErrPrefix, maxCustomMetadataKeys, n)})
	}
	keys := make([]string, 0, len(cm))
	for k := range cm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []string
	for _, k := range keys {
		v := cm[k]
		if n := len(k); n == 0 || n > maxCustomMetadataKeyLength {
			errs = append(errs, fmt.Sprintf("%s: length of key %q is %d but must be 0 < len(key) <= %d",
				customMetadataErrPrefix, k, n, maxCustomMetadataKeyLength))
		}
		if n := len(v); n == 0 || n > maxCustomMetadataValueLength {
			errs = append(errs, fmt.Sprintf("%s: length of value for key %q is %d but must be 0 < len(value) <= %d",
				customMetadataErrPrefix, k, n, maxCustomMetadataValueLength))
		}
		if !printable(k) {
			errs = append(errs, fmt.Sprintf("%s: key %q (%s) contains unprintable characters", customMetadataErrPrefix, k, k))
		}
		if !printable(v) {
			errs = append(errs, fmt.Sprintf("%s: value for key %q contains unprintable characters", customMetadataErrPrefix, k))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return multiError(errs)
}

// multiError formats errors like hashicorp/go-multierror, which is what
// Vault's clients see.
func multiError(errs []string) error {
	if len(errs) == 1 {
		return logical.BadRequest("1 error occurred:\n\t* %s\n\n", errs[0])
	}
	return logical.BadRequest("%d errors occurred:\n\t* %s\n\n", len(errs), strings.Join(errs, "\n\t* "))
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func (b *versioned) writeMetadata(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	key := d.Get("path").(string)
	if key == "" {
		return rootWarning(req)
	}
	if strings.HasSuffix(key, "/") {
		return nil, logical.BadRequest("path %q must not end in \"/\"", key)
	}
	in, err := parseMetadataInput(d, false)
	if err != nil {
		return nil, err
	}
	if in.empty() {
		// Like Vault: nothing to set creates nothing.
		return nil, nil
	}
	c, err := b.loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	resp := in.casWarning(c)

	lock := b.locks.forKey(key)
	lock.Lock()
	defer lock.Unlock()

	m, err := b.loadMeta(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if m == nil {
		now := b.now()
		m = &keyMeta{Key: key, Versions: map[uint64]*versionMeta{}, CreatedTime: now, UpdatedTime: now}
	}
	in.applySettings(m)
	if in.customSet {
		m.CustomMetadata = normalizeCustom(in.custom)
	}
	if err := b.saveMeta(ctx, req.Storage, m); err != nil {
		return nil, err
	}
	return resp, nil
}

func normalizeCustom(cm map[string]string) map[string]string {
	if len(cm) == 0 {
		return nil
	}
	return cm
}

func (b *versioned) patchMetadata(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	key := d.Get("path").(string)
	if key == "" {
		return rootWarning(req)
	}
	in, err := parseMetadataInput(d, true)
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

	m, err := b.loadMeta(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, logical.Errorf(http.StatusNotFound, "no metadata found at %q", key)
	}
	resp := in.casWarning(c)
	in.applySettings(m)
	if in.customSet {
		if in.custom == nil {
			// "custom_metadata": null removes it all (RFC 7396).
			m.CustomMetadata = nil
		} else {
			merged := make(map[string]string, len(m.CustomMetadata)+len(in.custom))
			for k, v := range m.CustomMetadata {
				merged[k] = v
			}
			for _, k := range in.customRemove {
				delete(merged, k)
			}
			for k, v := range in.custom {
				merged[k] = v
			}
			// The merged map must obey the same limits as a full write.
			if err := validateCustomMetadata(merged); err != nil {
				return nil, err
			}
			m.CustomMetadata = normalizeCustom(merged)
		}
	}
	if err := b.saveMeta(ctx, req.Storage, m); err != nil {
		return nil, err
	}
	return resp, nil
}

func (b *versioned) deleteMetadata(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	key := d.Get("path").(string)
	if key == "" {
		return rootWarning(req)
	}
	lock := b.locks.forKey(key)
	lock.Lock()
	defer lock.Unlock()

	// Metadata first: if a version delete then fails, the key is already
	// gone and the leftovers are unreachable; a retry sweeps them, since
	// the sweep runs whether or not metadata was found.
	b.meta.Invalidate(key)
	err := req.Storage.Delete(ctx, metadataPrefix+key)
	b.meta.Invalidate(key)
	if err != nil {
		return nil, fmt.Errorf("kv: delete metadata: %w", err)
	}
	dir := versionDir(key)
	children, err := req.Storage.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("kv: list versions: %w", err)
	}
	for _, c := range children {
		if err := req.Storage.Delete(ctx, dir+c); err != nil {
			return nil, fmt.Errorf("kv: delete version: %w", err)
		}
	}
	return nil, nil
}
