package agent

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/hashicorp/hcl/hcl/ast"
	hclparser "github.com/hashicorp/hcl/hcl/parser"
	jsonparser "github.com/hashicorp/hcl/json/parser"
)

// Config is a parsed agent configuration, in Vault agent's HCL.
type Config struct {
	Vault         VaultConfig
	AutoAuth      AutoAuth
	ExitAfterAuth bool
	PidFile       string
	// Templates are rendered with consul-template each time the agent has
	// a new token, and re-rendered when their secrets change.
	Templates      []Template
	TemplateConfig TemplateConfig
	// EnvTemplates and Exec: the rendered values become the environment
	// of a child process, restarted when they change.
	EnvTemplates []EnvTemplate
	Exec         *Exec
	// Cache turns on response caching in the proxy (`cache {}`).
	Cache bool
	// Listeners serve the proxy; without any, no proxy runs.
	Listeners []Listener
	// UseAutoAuthToken is api_proxy (or, in older configs, cache)
	// use_auto_auth_token: "" (off), "true" (added to requests without a
	// token) or "force" (replaces any token).
	UseAutoAuthToken string
}

// Listener is `listener "tcp"|"unix" { address, tls_disable, tls_cert_file, tls_key_file }`.
type Listener struct {
	Type        string
	Address     string
	TLSDisable  bool
	TLSCertFile string
	TLSKeyFile  string
}

// Template is one `template` stanza.
type Template struct {
	Source            string
	Contents          string
	Destination       string
	Perms             uint32 // 0 means consul-template's default (0644)
	Command           string
	ErrorOnMissingKey bool
	Backup            bool
}

// EnvTemplate is `env_template "NAME" { contents, error_on_missing_key }`.
type EnvTemplate struct {
	Name              string
	Contents          string
	ErrorOnMissingKey bool
}

// Exec is `exec { command, restart_on_secret_changes }`.
type Exec struct {
	Command []string
	// RestartOnSecretChanges is "always" (the default) or "never".
	RestartOnSecretChanges string
}

// TemplateConfig is the `template_config` stanza.
type TemplateConfig struct {
	// StaticSecretRenderInterval is how often secrets without a lease
	// (KV) are read again; 0 means consul-template's default (5m).
	StaticSecretRenderInterval time.Duration
	// ExitOnRetryFailure makes the agent exit when rendering fails after
	// consul-template's retries, instead of starting over.
	ExitOnRetryFailure bool
}

// VaultConfig is the `vault` stanza: how the agent reaches the server.
type VaultConfig struct {
	Address       string
	CACert        string
	ClientCert    string
	ClientKey     string
	TLSSkipVerify bool
	// NumRetries is retry { num_retries }: 0 means Vault's default (12),
	// -1 turns retries off.
	NumRetries int
}

// AutoAuth is the `auto_auth` stanza.
type AutoAuth struct {
	Method Method
	Sinks  []FileSink
}

// Method is `auto_auth { method "<type>" { … } }`.
type Method struct {
	Type       string
	MountPath  string
	MinBackoff time.Duration
	MaxBackoff time.Duration
	ExitOnErr  bool
	// AppRole settings (type "approle").
	RoleIDFile              string
	SecretIDFile            string
	RemoveSecretIDAfterRead bool
	// TokenFile setting (type "token_file").
	TokenFilePath string
	// Cert setting (type "cert"): the certificate role to log in against;
	// the client certificate is vault { client_cert, client_key }.
	CertName string
	// LDAP settings (type "ldap").
	Username                string
	PasswordFile            string
	RemovePasswordAfterRead bool
}

// FileSink is `sink "file" { config { path, mode } }`.
type FileSink struct {
	Path string
	Mode uint32
}

// Defaults, as Vault's agent has them.
const (
	defaultMinBackoff = time.Second
	defaultMaxBackoff = 5 * time.Minute
	defaultSinkMode   = 0o640
	defaultNumRetries = 12
)

// posRE finds "line:col" in hcl's syntax errors.
var posRE = regexp.MustCompile(`(\d+):\d+`)

// ParseFile reads and parses one agent configuration file.
func ParseFile(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("agent config: %w", err)
	}
	return Parse(path, src)
}

// ParseProxyFile reads and parses a `strongbox proxy` configuration: Vault
// proxy's, which is the agent's without templates and exit_after_auth.
func ParseProxyFile(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("proxy config: %w", err)
	}
	return parse(path, src, true)
}

// ParseProxy parses a proxy configuration; name is used in errors.
func ParseProxy(name string, src []byte) (*Config, error) { return parse(name, src, true) }

// Parse parses an agent configuration (HCL, or JSON when it starts with
// "{"). Every problem is reported with its file and line; keys this agent
// does not act on are refused, never silently ignored.
func Parse(name string, src []byte) (*Config, error) { return parse(name, src, false) }

func parse(name string, src []byte, proxyOnly bool) (c *Config, err error) {
	defer func() {
		// hcl's parser has panicked on malformed input before.
		if r := recover(); r != nil {
			c, err = nil, &ConfigError{File: name, Msg: fmt.Sprintf("syntax error: %v", r)}
		}
	}()
	var f *ast.File
	if t := bytes.TrimSpace(src); len(t) > 0 && t[0] == '{' {
		f, err = jsonparser.Parse(src)
	} else {
		f, err = hclparser.Parse(src)
	}
	if err != nil {
		line := 0
		if m := posRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return nil, &ConfigError{File: name, Line: line, Msg: fmt.Sprintf("syntax error: %v", err)}
	}
	list, ok := f.Node.(*ast.ObjectList)
	if !ok {
		return nil, &ConfigError{File: name, Msg: "the file must hold settings and stanzas"}
	}
	d := &decoder{file: name, proxyOnly: proxyOnly}
	c = &Config{}
	d.top(c, list)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return c, nil
}

func (d *decoder) top(c *Config, list *ast.ObjectList) {
	known := []string{"vault", "auto_auth", "pid_file", "cache", "listener", "api_proxy"}
	if d.proxyOnly {
		// Agent-only settings are refused by name in a proxy config.
		d.refused = map[string]string{"template": "", "template_config": "", "exit_after_auth": "", "env_template": "", "exec": ""}
	} else {
		known = append(known, "exit_after_auth", "template", "template_config", "env_template", "exec")
	}
	b := d.body(list, "", 0, known...)
	d.refused = nil
	d.proxy(c, b)
	for _, t := range b.blocks("template", false) {
		d.template(c, &t)
	}
	if tc := b.one("template_config"); tc != nil {
		tb := d.body(tc.list, "template_config", tc.line, "static_secret_render_interval", "exit_on_retry_failure")
		tb.duration("static_secret_render_interval", &c.TemplateConfig.StaticSecretRenderInterval)
		tb.boolean("exit_on_retry_failure", &c.TemplateConfig.ExitOnRetryFailure)
	}
	b.boolean("exit_after_auth", &c.ExitAfterAuth)
	b.str("pid_file", &c.PidFile)
	c.Vault.NumRetries = defaultNumRetries
	if v := b.one("vault"); v != nil {
		d.vault(&c.Vault, v)
	}
	d.execStanzas(c, b)
	aa := b.one("auto_auth")
	if aa == nil {
		if len(c.Listeners) == 0 || len(c.Templates) > 0 || c.Exec != nil || c.UseAutoAuthToken != "" || c.ExitAfterAuth {
			d.errorf(0, "auto_auth is required (templates, sinks and use_auto_auth_token need its token)")
		}
		return
	}
	d.autoAuth(&c.AutoAuth, aa)
	if c.AutoAuth.Method.Type == "cert" && c.Vault.ClientCert == "" {
		d.errorf(aa.line, "auto_auth: method \"cert\" needs vault { client_cert, client_key }")
	}
}

func (d *decoder) vault(v *VaultConfig, bl *block) {
	b := d.body(bl.list, "vault", bl.line, "address", "ca_cert", "client_cert", "client_key", "tls_skip_verify", "retry")
	b.str("address", &v.Address)
	b.str("ca_cert", &v.CACert)
	b.str("client_cert", &v.ClientCert)
	b.str("client_key", &v.ClientKey)
	b.boolean("tls_skip_verify", &v.TLSSkipVerify)
	if (v.ClientCert == "") != (v.ClientKey == "") {
		d.errorf(bl.line, "vault: client_cert and client_key must be set together")
	}
	if r := b.one("retry"); r != nil {
		rb := d.body(r.list, "vault.retry", r.line, "num_retries")
		n := 0
		rb.integer("num_retries", &n)
		switch {
		case n < -1:
			d.errorf(r.line, "vault.retry: num_retries must be -1 (no retries), 0 (default) or more")
		case n == 0:
			v.NumRetries = defaultNumRetries
		case n == -1:
			v.NumRetries = 0
		default:
			v.NumRetries = n
		}
	}
}

func (d *decoder) autoAuth(a *AutoAuth, bl *block) {
	b := d.body(bl.list, "auto_auth", bl.line, "method", "sink")
	ms := b.blocks("method", true)
	switch {
	case len(ms) == 0:
		d.errorf(bl.line, "auto_auth: a method is required")
	case len(ms) > 1:
		d.errorf(ms[1].line, "auto_auth: only one method may be given")
	default:
		d.method(&a.Method, &ms[0])
	}
	for _, s := range b.blocks("sink", true) {
		if s.label != "file" {
			d.errorf(s.line, "auto_auth: sink type %q is not supported (only \"file\")", s.label)
			continue
		}
		sb := d.body(s.list, "sink \"file\"", s.line, "config")
		fs := FileSink{Mode: defaultSinkMode}
		cfg := sb.one("config")
		if cfg == nil {
			d.errorf(s.line, "sink \"file\": config { path = … } is required")
			continue
		}
		cb := d.body(cfg.list, "sink \"file\" config", cfg.line, "path", "mode")
		cb.str("path", &fs.Path)
		cb.mode("mode", &fs.Mode)
		if fs.Path == "" {
			d.errorf(cfg.line, "sink \"file\" config: path is required")
		}
		a.Sinks = append(a.Sinks, fs)
	}
}

func (d *decoder) method(m *Method, bl *block) {
	where := fmt.Sprintf("method %q", bl.label)
	b := d.body(bl.list, where, bl.line, "mount_path", "config", "min_backoff", "max_backoff", "exit_on_err")
	m.Type = bl.label
	m.MinBackoff, m.MaxBackoff = defaultMinBackoff, defaultMaxBackoff
	m.MountPath = "auth/" + bl.label
	b.str("mount_path", &m.MountPath)
	b.duration("min_backoff", &m.MinBackoff)
	b.duration("max_backoff", &m.MaxBackoff)
	b.boolean("exit_on_err", &m.ExitOnErr)
	if m.MinBackoff <= 0 {
		m.MinBackoff = defaultMinBackoff
	}
	if m.MaxBackoff < m.MinBackoff {
		d.errorf(bl.line, "%s: max_backoff must not be below min_backoff", where)
	}
	cfg := b.one("config")
	var list *ast.ObjectList
	line := bl.line
	if cfg != nil {
		list, line = cfg.list, cfg.line
	}
	cw := where + " config"
	switch bl.label {
	case "approle":
		cb := d.body(list, cw, line, "role_id_file_path", "secret_id_file_path", "remove_secret_id_file_after_reading")
		m.RemoveSecretIDAfterRead = true
		cb.str("role_id_file_path", &m.RoleIDFile)
		cb.str("secret_id_file_path", &m.SecretIDFile)
		cb.boolean("remove_secret_id_file_after_reading", &m.RemoveSecretIDAfterRead)
		if m.RoleIDFile == "" {
			d.errorf(line, "%s: role_id_file_path is required", cw)
		}
	case "token_file":
		cb := d.body(list, cw, line, "token_file_path")
		cb.str("token_file_path", &m.TokenFilePath)
		if m.TokenFilePath == "" {
			d.errorf(line, "%s: token_file_path is required", cw)
		}
	case "cert":
		cb := d.body(list, cw, line, "name")
		cb.str("name", &m.CertName)
	case "ldap":
		cb := d.body(list, cw, line, "username", "password_file_path", "remove_password_after_reading")
		m.RemovePasswordAfterRead = true
		cb.str("username", &m.Username)
		cb.str("password_file_path", &m.PasswordFile)
		cb.boolean("remove_password_after_reading", &m.RemovePasswordAfterRead)
		if m.Username == "" || m.PasswordFile == "" {
			d.errorf(line, "%s: username and password_file_path are required", cw)
		}
	default:
		d.errorf(bl.line, "auto_auth: method %q is not supported (approle, cert, ldap, token_file)", bl.label)
	}
}

func (d *decoder) template(c *Config, bl *block) {
	b := d.body(bl.list, "template", bl.line, "source", "contents", "destination", "perms", "command", "error_on_missing_key", "backup")
	var t Template
	b.str("source", &t.Source)
	b.str("contents", &t.Contents)
	b.str("destination", &t.Destination)
	b.mode("perms", &t.Perms)
	b.str("command", &t.Command)
	b.boolean("error_on_missing_key", &t.ErrorOnMissingKey)
	b.boolean("backup", &t.Backup)
	if (t.Source == "") == (t.Contents == "") {
		d.errorf(bl.line, "template: exactly one of source and contents is required")
	}
	if t.Destination == "" {
		d.errorf(bl.line, "template: destination is required")
	}
	c.Templates = append(c.Templates, t)
}

func (d *decoder) proxy(c *Config, b *body) {
	useToken := func(bb *body, where string) (string, bool) {
		lit, line := bb.scalar("use_auto_auth_token")
		if lit == nil {
			return "", false
		}
		text := lit.Token.Text
		if s, err := tokenString(lit.Token); err == nil {
			text = s
		}
		switch text {
		case "true":
			return "true", true
		case "false":
			return "", true
		case "force":
			return "force", true
		}
		d.errorf(line, "%s: use_auto_auth_token must be true, false or \"force\", got %s", where, lit.Token.Text)
		return "", true
	}
	var fromCache, fromProxy bool
	var cacheVal string
	if cb := b.one("cache"); cb != nil {
		c.Cache = true
		cacheVal, fromCache = useToken(d.body(cb.list, "cache", cb.line, "use_auto_auth_token"), "cache")
	}
	if ab := b.one("api_proxy"); ab != nil {
		c.UseAutoAuthToken, fromProxy = useToken(d.body(ab.list, "api_proxy", ab.line, "use_auto_auth_token"), "api_proxy")
		if fromCache && fromProxy {
			d.errorf(ab.line, "use_auto_auth_token is set in both cache and api_proxy; set it only in api_proxy")
		}
	}
	if fromCache {
		c.UseAutoAuthToken = cacheVal
	}
	for _, l := range b.blocks("listener", true) {
		where := fmt.Sprintf("listener %q", l.label)
		lb := d.body(l.list, where, l.line, "address", "tls_disable", "tls_cert_file", "tls_key_file")
		ln := Listener{Type: l.label}
		lb.str("address", &ln.Address)
		lb.boolean("tls_disable", &ln.TLSDisable)
		lb.str("tls_cert_file", &ln.TLSCertFile)
		lb.str("tls_key_file", &ln.TLSKeyFile)
		switch {
		case l.label != "tcp" && l.label != "unix":
			d.errorf(l.line, "%s: listener type must be tcp or unix", where)
		case ln.Address == "":
			d.errorf(l.line, "%s: address is required", where)
		case !ln.TLSDisable && (ln.TLSCertFile == "" || ln.TLSKeyFile == ""):
			d.errorf(l.line, "%s: tls_cert_file and tls_key_file are required unless tls_disable = true", where)
		}
		c.Listeners = append(c.Listeners, ln)
	}
}

func (d *decoder) execStanzas(c *Config, b *body) {
	for _, bl := range b.blocks("env_template", true) {
		eb := d.body(bl.list, fmt.Sprintf("env_template %q", bl.label), bl.line, "contents", "error_on_missing_key")
		et := EnvTemplate{Name: bl.label}
		eb.str("contents", &et.Contents)
		eb.boolean("error_on_missing_key", &et.ErrorOnMissingKey)
		if et.Contents == "" {
			d.errorf(bl.line, "env_template %q: contents is required", bl.label)
		}
		c.EnvTemplates = append(c.EnvTemplates, et)
	}
	ex := b.one("exec")
	if ex != nil {
		eb := d.body(ex.list, "exec", ex.line, "command", "restart_on_secret_changes")
		c.Exec = &Exec{RestartOnSecretChanges: "always"}
		eb.strList("command", &c.Exec.Command)
		eb.str("restart_on_secret_changes", &c.Exec.RestartOnSecretChanges)
		if len(c.Exec.Command) == 0 || c.Exec.Command[0] == "" {
			d.errorf(ex.line, "exec: command is required")
		}
		if r := c.Exec.RestartOnSecretChanges; r != "always" && r != "never" {
			d.errorf(ex.line, "exec: restart_on_secret_changes must be \"always\" or \"never\", got %q", r)
		}
	}
	switch {
	case len(c.EnvTemplates) > 0 && ex == nil:
		d.errorf(0, "env_template needs an exec stanza")
	case ex != nil && len(c.EnvTemplates) == 0:
		d.errorf(ex.line, "exec needs at least one env_template")
	case ex != nil && len(b.items["template"]) > 0:
		d.errorf(ex.line, "exec and env_template cannot be combined with template")
	case ex != nil && c.ExitAfterAuth:
		d.errorf(ex.line, "exec cannot be combined with exit_after_auth")
	}
}
