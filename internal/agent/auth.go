package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	vault "github.com/hashicorp/vault/api"
)

// authMethod logs in and returns the login response (its Auth carries
// the token, its TTL and whether it is renewable).
type authMethod interface {
	login(ctx context.Context, c *vault.Client) (*vault.Secret, error)
}

func newMethod(m Method) (authMethod, error) {
	switch m.Type {
	case "approle":
		return &appRole{m: m}, nil
	case "token_file":
		return &tokenFile{path: m.TokenFilePath}, nil
	}
	return nil, fmt.Errorf("auto_auth: method %q is not supported", m.Type)
}

// appRole logs in at <mount_path>/login with a role ID and secret ID read
// from files. With remove_secret_id_file_after_reading, the secret ID file
// is deleted once read and the value kept in memory for later logins,
// as Vault's agent does.
type appRole struct {
	m        Method
	mu       sync.Mutex
	secretID string
}

func readTrimmed(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func (a *appRole) login(ctx context.Context, c *vault.Client) (*vault.Secret, error) {
	roleID, err := readTrimmed(a.m.RoleIDFile)
	if err != nil {
		return nil, fmt.Errorf("approle: read role ID file: %w", err)
	}
	if roleID == "" {
		return nil, errors.New("approle: role ID file is empty")
	}
	a.mu.Lock()
	if a.m.SecretIDFile != "" {
		s, err := readTrimmed(a.m.SecretIDFile)
		switch {
		case err == nil && s != "":
			a.secretID = s
			if a.m.RemoveSecretIDAfterRead {
				if rerr := os.Remove(a.m.SecretIDFile); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
					a.mu.Unlock()
					return nil, fmt.Errorf("approle: remove secret ID file: %w", rerr)
				}
			}
		case a.secretID == "" && err != nil:
			a.mu.Unlock()
			return nil, fmt.Errorf("approle: read secret ID file: %w", err)
		case a.secretID == "":
			a.mu.Unlock()
			return nil, errors.New("approle: secret ID file is empty")
		}
	}
	secretID := a.secretID
	a.mu.Unlock()
	data := map[string]any{"role_id": roleID}
	if secretID != "" {
		data["secret_id"] = secretID
	}
	path := strings.Trim(a.m.MountPath, "/") + "/login"
	s, err := c.Logical().WriteWithContext(ctx, path, data)
	if err != nil {
		return nil, fmt.Errorf("approle: login: %w", err)
	}
	return s, nil
}

// tokenFile uses a token read from a file; the token is looked up, not
// created, so its TTL and renewability come from the server.
type tokenFile struct {
	path string
}

func (t *tokenFile) login(ctx context.Context, c *vault.Client) (*vault.Secret, error) {
	tok, err := readTrimmed(t.path)
	if err != nil {
		return nil, fmt.Errorf("token_file: %w", err)
	}
	if tok == "" {
		return nil, errors.New("token_file: the file is empty")
	}
	cc, err := c.Clone()
	if err != nil {
		return nil, err
	}
	cc.SetToken(tok)
	s, err := cc.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("token_file: look up token: %w", err)
	}
	if s == nil {
		return nil, errors.New("token_file: empty lookup response")
	}
	ttl, _ := s.TokenTTL()
	renewable, _ := s.TokenIsRenewable()
	return &vault.Secret{Auth: &vault.SecretAuth{
		ClientToken:   tok,
		LeaseDuration: int(ttl.Seconds()),
		Renewable:     renewable,
	}}, nil
}
