package server

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/logical"
)

// devSetup initializes and unseals a dev server with one key share, mounts
// KV v2 at secret/ and, when asked, replaces the root token by one with the
// given id. It returns the unseal key (hex) and the root token.
func devSetup(ctx context.Context, c *core.Core, rootID string) (string, string, error) {
	res, err := c.Init(ctx, core.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		return "", "", fmt.Errorf("dev: init: %w", err)
	}
	if err := c.Unseal(ctx, res.Keys[0]); err != nil {
		return "", "", fmt.Errorf("dev: unseal: %w", err)
	}
	root := res.RootToken
	call := func(tok string, op logical.Operation, path string, data map[string]any) error {
		_, err := c.HandleRequest(ctx, &logical.Request{Operation: op, Path: path, Data: data, ClientToken: tok})
		return err
	}
	if rootID != "" && rootID != root {
		if err := call(root, logical.UpdateOperation, "auth/token/create", map[string]any{
			"id": rootID, "policies": []any{"root"}, "no_parent": true, "display_name": "root",
		}); err != nil {
			return "", "", fmt.Errorf("dev: create root token: %w", err)
		}
		if err := call(root, logical.UpdateOperation, "auth/token/revoke-self", nil); err != nil {
			return "", "", fmt.Errorf("dev: revoke generated root token: %w", err)
		}
		root = rootID
	}
	if err := call(root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{
		"type": "kv", "description": "key/value secret storage", "options": map[string]any{"version": "2"},
	}); err != nil {
		return "", "", fmt.Errorf("dev: mount secret/: %w", err)
	}
	return hex.EncodeToString(res.Keys[0]), root, nil
}

// storeDevToken writes the root token where the CLI's token helper reads it,
// as Vault's dev mode does, so the CLI is authenticated at once.
func storeDevToken(token string) {
	home, err := os.UserHomeDir()
	if err != nil {
		return
	}
	_ = os.WriteFile(filepath.Join(home, ".vault-token"), []byte(token), 0o600)
}

func printDevBanner(w io.Writer, addr, unsealKey, root string) {
	fmt.Fprintf(w, `WARNING! dev mode is enabled! In this mode, Strongbox runs entirely in-memory
and starts unsealed with a single unseal key. The root token is already
authenticated to the CLI, so you can immediately begin using Strongbox.

You may need to set the following environment variables:

    $ export VAULT_ADDR='http://%s'

The unseal key and root token are displayed below in case you want to
seal/unseal the Vault or re-authenticate.

Unseal Key: %s
Root Token: %s

Development mode should NOT be used in production installations!

`, addr, unsealKey, root)
}
