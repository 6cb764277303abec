package database

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/strongbox/strongbox/internal/builtin/secrets/database/dbdriver"
	"github.com/strongbox/strongbox/internal/logical"
)

// dbConfig is a stored connection, config/<name>.
type dbConfig struct {
	PluginName             string   `json:"plugin_name"`
	PluginVersion          string   `json:"plugin_version,omitempty"`
	ConnectionURL          string   `json:"connection_url"`
	Username               string   `json:"username"`
	Password               string   `json:"password"`
	MaxOpenConnections     int      `json:"max_open_connections"`
	MaxIdleConnections     int      `json:"max_idle_connections"`
	MaxConnectionLifetime  int64    `json:"max_connection_lifetime"` // seconds
	VerifyConnection       bool     `json:"verify_connection"`
	AllowedRoles           []string `json:"allowed_roles"`
	RootRotationStatements []string `json:"root_rotation_statements"`
	PasswordPolicy         string   `json:"password_policy"`
	UsernameTemplate       string   `json:"username_template"`
	PasswordAuthentication string   `json:"password_authentication,omitempty"`
	// PendingPassword is written ahead of a root rotation (Vault's WAL):
	// if the node dies after the database took the new password but
	// before the config was rewritten, Rollback finds out which of the
	// two logs in and keeps it.
	PendingPassword string `json:"pending_password,omitempty"`
}

func (c *dbConfig) driverConfig() dbdriver.Config {
	return dbdriver.Config{
		ConnectionURL: c.ConnectionURL, Username: c.Username, Password: c.Password,
		MaxOpenConnections: c.MaxOpenConnections, MaxIdleConnections: c.MaxIdleConnections,
		MaxConnectionLifetime:  time.Duration(c.MaxConnectionLifetime) * time.Second,
		PasswordAuthentication: c.PasswordAuthentication,
	}
}

// allows reports whether the config lets role use it ("*" lets any).
func (c *dbConfig) allows(role string) bool {
	return slices.Contains(c.AllowedRoles, "*") || slices.Contains(c.AllowedRoles, role)
}

func readConfig(ctx context.Context, s logical.Storage, name string) (*dbConfig, error) {
	e, err := s.Get(ctx, configPrefix+name)
	if err != nil {
		return nil, fmt.Errorf("database: read config: %w", err)
	}
	if e == nil {
		return nil, nil
	}
	var c dbConfig
	if err := json.Unmarshal(e.Value, &c); err != nil {
		return nil, fmt.Errorf("database: decode config %q: %w", name, err)
	}
	return &c, nil
}

func writeConfig(ctx context.Context, s logical.Storage, name string, c *dbConfig) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := s.Put(ctx, &logical.StorageEntry{Key: configPrefix + name, Value: raw}); err != nil {
		return fmt.Errorf("database: write config: %w", err)
	}
	return nil
}

var configFields = map[string]*logical.FieldSchema{
	"name":                     {Type: logical.TypeString, Description: "Name of the connection."},
	"plugin_name":              {Type: logical.TypeString, Description: "postgresql-database-plugin or mysql(-aurora|-rds|-legacy)-database-plugin."},
	"plugin_version":           {Type: logical.TypeString, Description: "Accepted for compatibility; builtin plugins have no version."},
	"verify_connection":        {Type: logical.TypeBool, Default: true, Description: "Check the connection works before storing the config."},
	"allowed_roles":            {Type: logical.TypeCommaStringSlice, Description: "Roles allowed to use this connection; \"*\" for any."},
	"root_rotation_statements": {Type: logical.TypeStringSlice, Description: "Statements rotate-root runs; {{username}} and {{password}}."},
	"password_policy":          {Type: logical.TypeString, Description: "Password policy (sys/policies/password) for generated passwords."},
	"connection_url":           {Type: logical.TypeString, Description: "Connection string, with {{username}} and {{password}} templates."},
	"username":                 {Type: logical.TypeString, Description: "Root username for the connection."},
	"password":                 {Type: logical.TypeString, Description: "Root password for the connection."},
	"max_open_connections":     {Type: logical.TypeInt, Description: "Most open connections (default 4)."},
	"max_idle_connections":     {Type: logical.TypeInt, Description: "Most idle connections (default: max_open_connections)."},
	"max_connection_lifetime":  {Type: logical.TypeDurationSecond, Description: "Longest a connection is reused (default: no limit)."},
	"username_template":        {Type: logical.TypeString, Description: "Template for dynamic usernames."},
	"password_authentication":  {Type: logical.TypeString, Description: "PostgreSQL: \"password\" (default) or \"scram-sha-256\" (passwords hashed by the engine before they are sent)."},
	"disable_escaping":         {Type: logical.TypeBool, Description: "Accepted for compatibility: credentials are never escaped into the URL."},
}

func (b *backend) pathConfigList() *logical.Path {
	return &logical.Path{
		Pattern:    "config/?",
		Operations: map[logical.Operation]logical.OperationFunc{logical.ListOperation: listPrefix(configPrefix)},
	}
}

func (b *backend) pathConfig() *logical.Path {
	return &logical.Path{
		Pattern: "config/" + nameRe,
		Fields:  configFields,
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readConfig,
			logical.UpdateOperation: b.writeConfig,
			logical.DeleteOperation: b.deleteConfig,
		},
		ExistenceCheck: existsAt(configPrefix),
		HelpSynopsis:   "Configure a connection to a database.",
	}
}

func listPrefix(prefix string) logical.OperationFunc {
	return func(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
		keys, err := req.Storage.List(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("database: list: %w", err)
		}
		if len(keys) == 0 {
			return nil, nil
		}
		return &logical.Response{Data: map[string]any{"keys": keys}}, nil
	}
}

func existsAt(prefix string) logical.ExistenceFunc {
	return func(ctx context.Context, req *logical.Request, d *logical.FieldData) (bool, error) {
		e, err := req.Storage.Get(ctx, prefix+d.Get("name").(string))
		return e != nil, err
	}
}

func (b *backend) readConfig(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	c, err := readConfig(ctx, req.Storage, d.Get("name").(string))
	if err != nil || c == nil {
		return nil, err
	}
	details := map[string]any{
		"connection_url":          redactURL(c.ConnectionURL),
		"username":                c.Username,
		"max_open_connections":    c.MaxOpenConnections,
		"max_idle_connections":    c.MaxIdleConnections,
		"max_connection_lifetime": (time.Duration(c.MaxConnectionLifetime) * time.Second).String(),
	}
	if c.UsernameTemplate != "" {
		details["username_template"] = c.UsernameTemplate
	}
	if c.PasswordAuthentication != "" {
		details["password_authentication"] = c.PasswordAuthentication
	}
	return &logical.Response{Data: map[string]any{
		"plugin_name":                        c.PluginName,
		"plugin_version":                     c.PluginVersion,
		"connection_details":                 details,
		"allowed_roles":                      nonNil(c.AllowedRoles),
		"root_credentials_rotate_statements": nonNil(c.RootRotationStatements),
		"password_policy":                    c.PasswordPolicy,
		"verify_connection":                  c.VerifyConnection,
	}}, nil
}

// redactURL hides a password written literally into a connection URL
// (not the {{password}} template), for reads.
func redactURL(raw string) string {
	prepared, _, _ := dbdriver.PrepareURL(raw)
	var pw string
	if u, err := url.Parse(prepared); err == nil && u.User != nil {
		pw, _ = u.User.Password()
	} else if cfg, err := gomysql.ParseDSN(prepared); err == nil {
		pw = cfg.Passwd
	} else if i := strings.Index(prepared, "password="); i >= 0 {
		pw = strings.Fields(prepared[i+len("password="):] + " ")[0]
	}
	if pw == "" || pw == dbdriver.URLPasswordPlaceholder {
		return raw
	}
	return strings.ReplaceAll(raw, pw, "*****")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeConfig creates or updates a connection: fields not sent keep their
// stored values. With verify_connection the database must answer with the
// credentials before anything is stored.
func (b *backend) writeConfig(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	defer b.lock(configPrefix + name)()
	old, err := readConfig(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	c := &dbConfig{}
	if old != nil {
		cp := *old
		c = &cp
	}
	if v, ok := d.GetOk("plugin_name"); ok {
		c.PluginName = v.(string)
	}
	if c.PluginName == "" {
		return nil, logical.BadRequest("empty plugin name")
	}
	if _, ok := plugins[c.PluginName]; !ok {
		return nil, logical.BadRequest("error creating database object: plugin %q not found in the catalog", c.PluginName)
	}
	if v, ok := d.GetOk("plugin_version"); ok && v.(string) != "" {
		return nil, logical.BadRequest("plugin_version %q: builtin plugins have no version", v)
	}
	str := func(k string, dst *string) {
		if v, ok := d.GetOk(k); ok {
			*dst = v.(string)
		}
	}
	str("connection_url", &c.ConnectionURL)
	str("username", &c.Username)
	str("password", &c.Password)
	str("password_policy", &c.PasswordPolicy)
	str("username_template", &c.UsernameTemplate)
	str("password_authentication", &c.PasswordAuthentication)
	if v, ok := d.GetOk("allowed_roles"); ok {
		c.AllowedRoles = v.([]string)
	}
	if v, ok := d.GetOk("root_rotation_statements"); ok {
		c.RootRotationStatements = v.([]string)
	}
	c.VerifyConnection = d.Get("verify_connection").(bool)
	for k, dst := range map[string]*int{"max_open_connections": &c.MaxOpenConnections, "max_idle_connections": &c.MaxIdleConnections} {
		if v, ok := d.GetOk(k); ok {
			if v.(int) < 0 {
				return nil, logical.BadRequest("%s must not be negative", k)
			}
			*dst = v.(int)
		}
	}
	if v, ok := d.GetOk("max_connection_lifetime"); ok {
		if v.(int) < 0 {
			return nil, logical.BadRequest("max_connection_lifetime must not be negative")
		}
		c.MaxConnectionLifetime = int64(v.(int))
	}
	if strings.TrimSpace(c.ConnectionURL) == "" {
		return nil, logical.BadRequest("connection_url is required")
	}
	if c.UsernameTemplate != "" {
		if _, err := parseUsernameTemplate(c.UsernameTemplate); err != nil {
			return nil, logical.BadRequest("%v", err)
		}
	}
	if c.PasswordPolicy != "" {
		if _, err := b.generatePassword(ctx, c.PasswordPolicy); err != nil {
			return nil, err
		}
	}
	drv, err := openDriver(ctx, c)
	if err != nil {
		return nil, err
	}
	if c.VerifyConnection {
		vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
		err := drv.Ping(vctx)
		cancel()
		if err != nil {
			drv.Close()
			return nil, logical.BadRequest("error creating database object: %v", err)
		}
	}
	if err := writeConfig(ctx, req.Storage, name, c); err != nil {
		drv.Close()
		return nil, err
	}
	b.replaceConn(name, &conn{d: drv, cfg: c})
	var resp *logical.Response
	if len(c.AllowedRoles) == 0 {
		resp = &logical.Response{Warnings: []string{"No allowed_roles: no role can use this connection until allowed_roles is set."}}
	}
	return resp, nil
}

// replaceConn caches c as the config's driver and closes the previous one.
func (b *backend) replaceConn(name string, c *conn) {
	b.mu.Lock()
	prev := b.conns[name]
	b.conns[name] = c
	b.mu.Unlock()
	if prev != nil {
		if err := prev.d.Close(); err != nil {
			b.logger.Warn("close database connection", "name", name, "error", err)
		}
	}
}

func (b *backend) deleteConfig(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	defer b.lock(configPrefix + name)()
	if err := req.Storage.Delete(ctx, configPrefix+name); err != nil {
		return nil, fmt.Errorf("database: delete config: %w", err)
	}
	b.closeConn(name)
	return nil, nil
}

func (b *backend) pathReset() *logical.Path {
	return &logical.Path{
		Pattern: "reset/" + nameRe,
		Fields:  map[string]*logical.FieldSchema{"name": {Type: logical.TypeString}},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation: func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
				name := d.Get("name").(string)
				c, err := readConfig(ctx, req.Storage, name)
				if err != nil {
					return nil, err
				}
				if c == nil {
					return nil, logical.BadRequest("no database configuration %q", name)
				}
				b.closeConn(name)
				return nil, nil
			},
		},
		HelpSynopsis: "Close the connection; the next use opens a new one from the stored config.",
	}
}

func (b *backend) pathRotateRoot() *logical.Path {
	return &logical.Path{
		Pattern: "rotate-root/" + nameRe,
		Fields:  map[string]*logical.FieldSchema{"name": {Type: logical.TypeString}},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation: b.rotateRoot,
		},
		HelpSynopsis: "Give the connection's user a new password only the engine knows.",
	}
}

// rotateRoot sets a new password on the database for the config's user,
// then stores it. The new password is stored as pending first, so a crash
// in between never loses the way in (Rollback settles it); if storing the
// result fails the old password is put back.
func (b *backend) rotateRoot(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	defer b.lock(configPrefix + name)()
	drv, c, err := b.driver(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if c.Username == "" {
		return nil, logical.BadRequest("unable to rotate root credentials: no username in configuration")
	}
	pw, err := b.generatePassword(ctx, c.PasswordPolicy)
	if err != nil {
		return nil, err
	}
	pending := *c
	pending.PendingPassword = pw
	if err := writeConfig(ctx, req.Storage, name, &pending); err != nil {
		return nil, err
	}
	if err := drv.SetPassword(ctx, c.RootRotationStatements, c.Username, pw); err != nil {
		if werr := writeConfig(ctx, req.Storage, name, c); werr != nil {
			b.logger.Warn("rotate-root: clear the pending password", "name", name, "error", werr)
		}
		return nil, dbError("rotate root credentials", err)
	}
	next := *c
	next.Password = pw
	if err := writeConfig(ctx, req.Storage, name, &next); err != nil {
		if rerr := drv.SetPassword(ctx, c.RootRotationStatements, c.Username, c.Password); rerr != nil {
			b.logger.Error("rotate-root: the new password could not be stored nor the old one restored; the pending one is kept for rollback", "name", name, "error", rerr)
		}
		return nil, err
	}
	// Connections logged in with the old password go; new ones use the new.
	b.closeConn(name)
	return nil, nil
}

// rollback settles root rotations a crash interrupted: for a config with
// a pending password, whichever of the pending and the stored password
// logs in is kept. When neither does (the database is down) it tries
// again at the next run.
func (b *backend) rollback(ctx context.Context, req *logical.Request) error {
	names, err := req.Storage.List(ctx, configPrefix)
	if err != nil {
		return fmt.Errorf("database: list configs: %w", err)
	}
	var errs []error
	for _, name := range names {
		if err := b.settleRootRotation(ctx, req.Storage, name); err != nil {
			errs = append(errs, fmt.Errorf("config %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (b *backend) settleRootRotation(ctx context.Context, s logical.Storage, name string) error {
	defer b.lock(configPrefix + name)()
	c, err := readConfig(ctx, s, name)
	if err != nil || c == nil || c.PendingPassword == "" {
		return err
	}
	for _, pw := range []string{c.PendingPassword, c.Password} {
		try := *c
		try.Password, try.PendingPassword = pw, ""
		drv, err := openDriver(ctx, &try)
		if err != nil {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, verifyTimeout)
		err = drv.Ping(pctx)
		cancel()
		drv.Close()
		if err != nil {
			continue
		}
		if err := writeConfig(ctx, s, name, &try); err != nil {
			return err
		}
		b.closeConn(name)
		return nil
	}
	return fmt.Errorf("neither the pending nor the stored root password logs in yet")
}
