package kv

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

// pathSubkeys serves subkeys/<path>: a version's structure with every leaf
// value replaced by null.
func (b *versioned) pathSubkeys() *logical.Path {
	return &logical.Path{
		Pattern: "subkeys/(?P<path>.*)",
		Fields: map[string]*logical.FieldSchema{
			"path":    {Type: logical.TypeString, Description: "Location of the secret."},
			"version": {Type: logical.TypeRaw, Description: "The version to read; latest when 0 or unset."},
			"depth":   {Type: logical.TypeRaw, Description: "Deepest nesting level to show; 0 means no limit."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: b.readSubkeys,
		},
		HelpSynopsis: "Read the structure of a secret with its values removed.",
	}
}

func (b *versioned) readSubkeys(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	want, err := intParam(d, "version")
	if err != nil {
		return nil, err
	}
	depth, err := intParam(d, "depth")
	if err != nil {
		return nil, err
	}
	return b.readVersion(ctx, req, d.Get("path").(string), want, "subkeys",
		func(data map[string]any) any { return subkeys(data, 1, depth) })
}

// subkeys copies m keeping only its shape: a non-empty object nested above
// maxDepth (0: unlimited) is walked, everything else becomes null. level is
// the depth of m's own keys.
func subkeys(m map[string]any, level, maxDepth int64) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		child, ok := v.(map[string]any)
		if ok && len(child) > 0 && (maxDepth == 0 || level < maxDepth) {
			out[k] = subkeys(child, level+1, maxDepth)
			continue
		}
		out[k] = nil
	}
	return out
}
