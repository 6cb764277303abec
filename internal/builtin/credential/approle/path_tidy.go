package approle

import (
	"context"
	"fmt"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
)

func (b *backend) pathTidy() *logical.Path {
	return &logical.Path{
		Pattern:      "tidy/secret-id",
		Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.tidyHandler},
		HelpSynopsis: "Remove expired secret IDs, secret IDs of deleted roles and dangling accessors.",
	}
}

// tidyHandler tidies before answering (Vault starts it in the background
// and answers 202); the counts say what went.
func (b *backend) tidyHandler(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	st, err := b.tidy(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	resp := &logical.Response{Data: map[string]any{
		"expired_secret_ids": st.expired, "orphaned_secret_ids": st.orphaned, "dangling_accessors": st.accessors,
	}}
	resp.AddWarning("Tidy operation successfully started. Any information from the operation will be printed to Vault's server logs.")
	return resp, nil
}

// periodicTidy is the method's PeriodicFunc: expired secret IDs do not
// pile up in storage between explicit tidies.
func (b *backend) periodicTidy(ctx context.Context, req *logical.Request) error {
	_, err := b.tidy(ctx, req.Storage)
	return err
}

type tidyStats struct{ expired, orphaned, accessors int }

// tidy removes secret IDs that expired or whose role is gone, then
// accessors whose secret ID is gone. It takes each secret ID's lock, so it
// is safe beside logins.
func (b *backend) tidy(ctx context.Context, s logical.Storage) (tidyStats, error) {
	var st tidyStats
	// live maps each role's secret ID folder to the role. A folder not in
	// it may belong to a role made since it was read: it is read again
	// before a folder counts as orphaned, and roles are always written
	// before their first secret ID.
	live, err := b.liveFolders(ctx, s)
	if err != nil {
		return st, err
	}
	for _, top := range []string{secretIDPrefix, secretIDLocalPrefix} {
		folders, err := s.List(ctx, top)
		if err != nil {
			return st, fmt.Errorf("approle: tidy: list secret ids: %w", err)
		}
		for _, f := range folders {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			prefix := top + strings.TrimSuffix(f, "/") + "/"
			r, ok := live[prefix]
			if !ok {
				if live, err = b.liveFolders(ctx, s); err != nil {
					return st, err
				}
				r = live[prefix]
			}
			keys, err := s.List(ctx, prefix)
			if err != nil {
				return st, fmt.Errorf("approle: tidy: list secret ids: %w", err)
			}
			for _, k := range keys {
				n, err := b.tidyOne(ctx, s, r, prefix+k)
				if err != nil {
					return st, err
				}
				if n && r == nil {
					st.orphaned++
				} else if n {
					st.expired++
				}
			}
		}
	}
	for _, top := range []string{accessorPrefix, accessorLocalPrefix} {
		keys, err := s.List(ctx, top)
		if err != nil {
			return st, fmt.Errorf("approle: tidy: list accessors: %w", err)
		}
		for _, k := range keys {
			var a accessorEntry
			ok, err := getJSON(ctx, s, top+k, &a)
			if err != nil || !ok {
				if err != nil {
					return st, err
				}
				continue
			}
			unlock := b.lockSecret(a.SecretIDKey)
			e, err := readSecretID(ctx, s, a.SecretIDKey)
			if err == nil && e == nil {
				err = s.Delete(ctx, top+k)
				st.accessors++
			}
			unlock()
			if err != nil {
				return st, fmt.Errorf("approle: tidy: accessor: %w", err)
			}
		}
	}
	return st, nil
}

func (b *backend) liveFolders(ctx context.Context, s logical.Storage) (map[string]*role, error) {
	names, err := s.List(ctx, rolePrefix)
	if err != nil {
		return nil, fmt.Errorf("approle: tidy: list roles: %w", err)
	}
	live := make(map[string]*role, len(names))
	for _, name := range names {
		r, err := b.role(ctx, s, name)
		if err != nil {
			return nil, err
		}
		if r != nil {
			live[r.secretPrefix()] = r
		}
	}
	return live, nil
}

// tidyOne removes one secret ID when it expired or its role r is gone
// (nil), and reports whether it did. Without a role its accessor is left
// for the accessor sweep.
func (b *backend) tidyOne(ctx context.Context, s logical.Storage, r *role, key string) (bool, error) {
	defer b.lockSecret(key)()
	e, err := readSecretID(ctx, s, key)
	if err != nil || e == nil {
		return false, err
	}
	if r != nil {
		if !e.expired(b.now()) {
			return false, nil
		}
		return true, b.destroyLocked(ctx, s, r, key)
	}
	if err := s.Delete(ctx, key); err != nil {
		return false, fmt.Errorf("approle: tidy: delete secret id: %w", err)
	}
	return true, nil
}
