package command

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tokenHelper stores the login token in a file readable only by its owner
// (~/.vault-token), as Vault's built-in token helper does. VAULT_TOKEN, when
// set, takes precedence over it.
type tokenHelper struct {
	path string
}

// Get returns the stored token, or "" when there is none.
func (h *tokenHelper) Get() (string, error) {
	b, err := os.ReadFile(h.path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", h.path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Store replaces the stored token. It writes a 0600 temporary file and
// renames it over the old one, so a failed write never leaves a truncated
// token behind and the file always has owner-only permissions.
func (h *tokenHelper) Store(token string) error {
	tmp, err := os.CreateTemp(filepath.Dir(h.path), ".vault-token-*")
	if err != nil {
		return fmt.Errorf("store token: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("store token: %w", err)
	}
	if _, err := tmp.WriteString(token); err != nil {
		tmp.Close()
		return fmt.Errorf("store token: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("store token: %w", err)
	}
	if err := os.Rename(tmp.Name(), h.path); err != nil {
		return fmt.Errorf("store token: %w", err)
	}
	return nil
}
