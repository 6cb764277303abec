package agent

import (
	"context"
	"errors"
	"fmt"
	"net/url"
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
		return &appRole{m: m, secretID: fileSecret{path: m.SecretIDFile, remove: m.RemoveSecretIDAfterRead}}, nil
	case "token_file":
		return &tokenFile{path: m.TokenFilePath}, nil
	case "cert":
		return &certLogin{m: m}, nil
	case "ldap":
		return &ldapLogin{m: m, password: fileSecret{path: m.PasswordFile, remove: m.RemovePasswordAfterRead}}, nil
	}
	return nil, fmt.Errorf("auto_auth: method %q is not supported", m.Type)
}

// appRole logs in at <mount_path>/login with a role ID and a secret ID
// read from files (remove_secret_id_file_after_reading: see fileSecret).
type appRole struct {
	m        Method
	secretID fileSecret
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
	data := map[string]any{"role_id": roleID}
	if a.m.SecretIDFile != "" {
		sid, err := a.secretID.get()
		if err != nil {
			return nil, fmt.Errorf("approle: secret ID file: %w", err)
		}
		data["secret_id"] = sid
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

// fileSecret is a credential read from a file. With remove, the file is
// deleted once read and the value kept in memory for later logins, so a
// credential delivered once survives re-authentication.
type fileSecret struct {
	path   string
	remove bool
	mu     sync.Mutex
	value  string
}

func (f *fileSecret) get() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := readTrimmed(f.path)
	switch {
	case err == nil && s != "":
		f.value = s
		if f.remove {
			if rerr := os.Remove(f.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				return "", fmt.Errorf("remove %s: %w", f.path, rerr)
			}
		}
	case f.value == "" && err != nil:
		return "", err
	case f.value == "":
		return "", fmt.Errorf("%s is empty", f.path)
	}
	return f.value, nil
}

// ldapLogin logs in at <mount_path>/login/<username> with a password
// read from a file.
type ldapLogin struct {
	m        Method
	password fileSecret
}

func (l *ldapLogin) login(ctx context.Context, c *vault.Client) (*vault.Secret, error) {
	pw, err := l.password.get()
	if err != nil {
		return nil, fmt.Errorf("ldap: password file: %w", err)
	}
	path := strings.Trim(l.m.MountPath, "/") + "/login/" + url.PathEscape(l.m.Username)
	s, err := c.Logical().WriteWithContext(ctx, path, map[string]any{"password": pw})
	if err != nil {
		return nil, fmt.Errorf("ldap: login: %w", err)
	}
	return s, nil
}

// certLogin logs in at <mount_path>/login with the TLS client certificate
// the vault stanza configures.
type certLogin struct {
	m Method
}

func (l *certLogin) login(ctx context.Context, c *vault.Client) (*vault.Secret, error) {
	var data map[string]any
	if l.m.CertName != "" {
		data = map[string]any{"name": l.m.CertName}
	}
	s, err := c.Logical().WriteWithContext(ctx, strings.Trim(l.m.MountPath, "/")+"/login", data)
	if err != nil {
		return nil, fmt.Errorf("cert: login: %w", err)
	}
	return s, nil
}
