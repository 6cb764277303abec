package database

import (
	"context"
	"fmt"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// credsType names the secret type of dynamic credentials (Vault's).
const credsType = "creds"

func (b *backend) credsSecret() *logical.SecretType {
	return &logical.SecretType{
		Type: credsType,
		Fields: map[string]*logical.FieldSchema{
			"username": {Type: logical.TypeString, Description: "The database user."},
			"password": {Type: logical.TypeString, Description: "Its password."},
		},
		Renew:  b.renewCreds,
		Revoke: b.revokeCreds,
	}
}

func (b *backend) pathCreds() *logical.Path {
	return &logical.Path{
		Pattern: "creds/" + nameRe,
		Fields:  map[string]*logical.FieldSchema{"name": {Type: logical.TypeString, Description: "Name of the role."}},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: b.readCreds,
		},
		HelpSynopsis: "Create a database user for the role, for the life of a lease.",
	}
}

// readCreds creates a user with the role's creation statements and returns
// it under a lease; the lease's end drops it.
func (b *backend) readCreds(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	r, err := readRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, logical.BadRequest("unknown role: %s", name)
	}
	drv, cfg, err := b.driver(ctx, req.Storage, r.DBName)
	if err != nil {
		return nil, err
	}
	if !cfg.allows(name) {
		return nil, fmt.Errorf("%w: role %q is not allowed by database %q", logical.ErrPermissionDenied, name, r.DBName)
	}
	tmplText := cfg.UsernameTemplate
	if tmplText == "" {
		tmplText = drv.DefaultUsernameTemplate()
	}
	tmpl, err := parseUsernameTemplate(tmplText)
	if err != nil {
		return nil, logical.BadRequest("%v", err)
	}
	username, err := render(tmpl, usernameData{DisplayName: req.DisplayName, RoleName: name})
	if err != nil {
		return nil, logical.BadRequest("%v", err)
	}
	policy := cfg.PasswordPolicy
	if p := r.CredentialConfig["password_policy"]; p != "" {
		policy = p
	}
	password, err := b.generatePassword(ctx, policy)
	if err != nil {
		return nil, err
	}
	ttl, maxTTL := b.leaseTTL(r)
	if err := drv.CreateUser(ctx, r.CreationStatements, username, password, b.now().Add(ttl)); err != nil {
		if len(r.RollbackStatements) > 0 {
			if rerr := drv.RevokeUser(ctx, r.RollbackStatements, username); rerr != nil {
				b.logger.Warn("rollback statements failed", "role", name, "error", rerr)
			}
		}
		return nil, dbError("create user", err)
	}
	resp := b.creds.Response(
		map[string]any{"username": username, "password": password},
		map[string]any{"username": username, "role": name, "db_name": r.DBName},
	)
	resp.Secret.TTL = ttl
	resp.Secret.MaxTTL = maxTTL
	return resp, nil
}

func internalString(req *logical.Request, k string) string {
	if req.Secret == nil {
		return ""
	}
	s, _ := req.Secret.InternalData[k].(string)
	return s
}

// renewCreds extends the user's life on the database (renew_statements,
// by default PostgreSQL's VALID UNTIL) to the new lease end.
func (b *backend) renewCreds(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	username, roleName := internalString(req, "username"), internalString(req, "role")
	r, err := readRole(ctx, req.Storage, roleName)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, logical.BadRequest("error during renew: could not find role with name %q", roleName)
	}
	ttl, maxTTL := b.leaseTTL(r)
	if req.Secret.Increment > 0 {
		ttl = req.Secret.Increment
	}
	end := b.now().Add(ttl)
	if maxTTL > 0 && !req.Secret.IssueTime.IsZero() {
		if last := req.Secret.IssueTime.Add(maxTTL); end.After(last) {
			end = last
			ttl = time.Until(last)
		}
	}
	drv, _, err := b.driver(ctx, req.Storage, r.DBName)
	if err != nil {
		return nil, err
	}
	if err := drv.RenewUser(ctx, r.RenewStatements, username, end); err != nil {
		return nil, dbError("renew user", err)
	}
	s := *req.Secret
	s.TTL = ttl
	s.MaxTTL = maxTTL
	return &logical.Response{Secret: &s}, nil
}

// revokeCreds drops the user: the role's revocation statements, or the
// driver's default when the role has none or is gone. The default treats
// a user already dropped as done, so the core's retries are safe.
func (b *backend) revokeCreds(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	username, roleName, dbName := internalString(req, "username"), internalString(req, "role"), internalString(req, "db_name")
	if username == "" {
		return nil, logical.BadRequest("secret has no username")
	}
	var stmts []string
	r, err := readRole(ctx, req.Storage, roleName)
	if err != nil {
		return nil, err
	}
	if r != nil {
		stmts = r.RevocationStatements
		if dbName == "" {
			dbName = r.DBName
		}
	}
	drv, _, err := b.driver(ctx, req.Storage, dbName)
	if err != nil {
		return nil, err
	}
	if err := drv.RevokeUser(ctx, stmts, username); err != nil {
		return nil, dbError("revoke user", err)
	}
	return nil, nil
}
