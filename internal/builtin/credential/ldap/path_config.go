package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

// Vault's defaults.
const (
	defaultURL         = "ldap://127.0.0.1"
	defaultUserAttr    = "cn"
	defaultUserFilter  = "({{.UserAttr}}={{.Username}})"
	defaultGroupFilter = "(|(memberUid={{.Username}})(member={{.UserDN}})(uniqueMember={{.UserDN}}))"
	defaultGroupAttr   = "cn"
	defaultTLSVersion  = "tls12"
	defaultRequestTO   = 90 * time.Second
	defaultConnectTO   = 30 * time.Second
	defaultDeref       = "never"
)

// config is the stored configuration. BindPassword is never read back.
type config struct {
	tokenutil.Params
	URL                  string        `json:"url"`
	BindDN               string        `json:"binddn"`
	BindPassword         string        `json:"bindpass"`
	UserDN               string        `json:"userdn"`
	UserAttr             string        `json:"userattr"`
	UserFilter           string        `json:"userfilter"`
	GroupDN              string        `json:"groupdn"`
	GroupFilter          string        `json:"groupfilter"`
	GroupAttr            string        `json:"groupattr"`
	UPNDomain            string        `json:"upndomain"`
	DiscoverDN           bool          `json:"discoverdn"`
	DenyNullBind         bool          `json:"deny_null_bind"`
	StartTLS             bool          `json:"starttls"`
	InsecureTLS          bool          `json:"insecure_tls"`
	Certificate          string        `json:"certificate"`
	ClientTLSCert        string        `json:"client_tls_cert"`
	ClientTLSKey         string        `json:"client_tls_key"`
	TLSMinVersion        string        `json:"tls_min_version"`
	TLSMaxVersion        string        `json:"tls_max_version"`
	CaseSensitiveNames   bool          `json:"case_sensitive_names"`
	UsernameAsAlias      bool          `json:"username_as_alias"`
	RequestTimeout       time.Duration `json:"request_timeout"`
	ConnectionTimeout    time.Duration `json:"connection_timeout"`
	AnonymousGroupSearch bool          `json:"anonymous_group_search"`
	DerefAliases         string        `json:"dereference_aliases"`
	UsePre111GroupCN     bool          `json:"use_pre111_group_cn_behavior"`
}

func defaultConfig() *config {
	return &config{
		URL: defaultURL, UserAttr: defaultUserAttr, UserFilter: defaultUserFilter,
		GroupFilter: defaultGroupFilter, GroupAttr: defaultGroupAttr, DenyNullBind: true,
		TLSMinVersion: defaultTLSVersion, TLSMaxVersion: defaultTLSVersion,
		RequestTimeout: defaultRequestTO, ConnectionTimeout: defaultConnectTO, DerefAliases: defaultDeref,
	}
}

var tlsVersions = map[string]uint16{
	"tls10": tls.VersionTLS10, "tls11": tls.VersionTLS11, "tls12": tls.VersionTLS12, "tls13": tls.VersionTLS13,
}

// unsupported are Vault's config fields this server does not implement.
// A request may carry them with their zero value (clients such as
// Terraform send every field); any other value is refused, so that no
// setting is accepted and silently ignored.
var unsupported = []string{
	"use_token_groups", "max_page_size", "enable_samaccountname_login", "password_policy",
	"rotation_period", "rotation_schedule", "rotation_window", "disable_automated_rotation",
}

func configFields() map[string]*logical.FieldSchema {
	str := func(desc string) *logical.FieldSchema {
		return &logical.FieldSchema{Type: logical.TypeString, Description: desc}
	}
	boolean := func(desc string) *logical.FieldSchema {
		return &logical.FieldSchema{Type: logical.TypeBool, Description: desc}
	}
	f := map[string]*logical.FieldSchema{
		"url":         str("LDAP URLs, comma-separated, tried in order (default ldap://127.0.0.1)."),
		"binddn":      str("DN of the service account that searches for users and groups."),
		"bindpass":    str("Password of binddn; never read back."),
		"userdn":      str("Base DN under which users are searched (ou=users,dc=example,dc=org)."),
		"userattr":    str("Attribute naming users (default cn); its value names the entity alias."),
		"userfilter":  str("Go template of the user search filter, with .UserAttr and .Username (default ({{.UserAttr}}={{.Username}}))."),
		"groupdn":     str("Base DN under which groups are searched."),
		"groupfilter": str("Go template of the group search filter, with .UserDN and .Username (default Vault's)."),
		"groupattr":   str("Attribute of the entries groupfilter finds that names the groups (default cn)."),
		"upndomain":   str("userPrincipalName domain: users bind as username@upndomain."),
		"discoverdn":  boolean("Search for the user's DN (anonymously unless binddn is set)."),
		"deny_null_bind": {Type: logical.TypeBool, Default: true,
			Description: "Refuse a login with an empty password (default true)."},
		"starttls":        boolean("Upgrade ldap:// connections with StartTLS."),
		"insecure_tls":    boolean("Do not verify the server's certificate: VERY insecure."),
		"certificate":     str("PEM CA certificate(s) that verify the server's certificate."),
		"client_tls_cert": str("PEM client certificate presented to the server (with client_tls_key)."),
		"client_tls_key":  str("PEM private key of client_tls_cert; never read back."),
		"tls_min_version": {Type: logical.TypeString, Default: defaultTLSVersion,
			Description: "Minimum TLS version: tls10, tls11, tls12 (default) or tls13."},
		"tls_max_version": {Type: logical.TypeString, Default: defaultTLSVersion,
			Description: "Maximum TLS version: tls10, tls11, tls12 (default) or tls13."},
		"case_sensitive_names": boolean("Match user and group names with their case."),
		"username_as_alias":    boolean("Name the entity alias after the login username instead of the userattr value."),
		"request_timeout": {Type: logical.TypeDurationSecond, Default: int(defaultRequestTO / time.Second),
			Description: "Timeout of each LDAP request (default 90s)."},
		"connection_timeout": {Type: logical.TypeDurationSecond, Default: int(defaultConnectTO / time.Second),
			Description: "Timeout of each connection attempt, before the next URL is tried (default 30s)."},
		"anonymous_group_search": boolean("Search groups over an anonymous connection."),
		"dereference_aliases": {Type: logical.TypeString, Default: defaultDeref,
			Description: "Alias dereferencing in searches: never (default), finding, searching or always."},
		"use_pre111_group_cn_behavior": boolean("Match only an upper-case CN when naming groups from DNs (Vault before 1.11)."),
	}
	for _, k := range unsupported {
		f[k] = &logical.FieldSchema{Type: logical.TypeRaw, Description: "Not supported: accepted only with its zero value."}
	}
	tokenutil.Fields(f, tokenutil.AllAliases...)
	return f
}

func (b *backend) pathConfig() *logical.Path {
	return &logical.Path{
		Pattern: "config",
		Fields:  configFields(),
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readConfig,
			logical.UpdateOperation: b.writeConfig,
		},
		HelpSynopsis: "Configure the LDAP server, the user and group searches and the login tokens.",
	}
}

func (b *backend) readConfig(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	c, err := b.config(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if c == nil {
		// As Vault: an unconfigured mount reads as the defaults.
		c = defaultConfig()
	}
	return &logical.Response{Data: c.data()}, nil
}

// data is the config as read back: everything but the bind password and
// the client key.
func (c *config) data() map[string]any {
	m := map[string]any{
		"url": c.URL, "binddn": c.BindDN, "userdn": c.UserDN, "userattr": c.UserAttr,
		"userfilter": c.UserFilter, "groupdn": c.GroupDN, "groupfilter": c.GroupFilter,
		"groupattr": c.GroupAttr, "upndomain": c.UPNDomain, "discoverdn": c.DiscoverDN,
		"deny_null_bind": c.DenyNullBind, "starttls": c.StartTLS, "insecure_tls": c.InsecureTLS,
		"certificate": c.Certificate, "client_tls_cert": c.ClientTLSCert,
		"tls_min_version": c.TLSMinVersion, "tls_max_version": c.TLSMaxVersion,
		"case_sensitive_names": c.CaseSensitiveNames, "username_as_alias": c.UsernameAsAlias,
		"request_timeout":        int64(c.RequestTimeout / time.Second),
		"connection_timeout":     int64(c.ConnectionTimeout / time.Second),
		"anonymous_group_search": c.AnonymousGroupSearch, "dereference_aliases": c.DerefAliases,
		"use_pre111_group_cn_behavior": c.UsePre111GroupCN,
		"use_token_groups":             false,
	}
	c.Params.Data(m)
	return m
}

// writeConfig applies the fields given over the stored config (or the
// defaults), checks the result as a whole and stores it; nothing changes
// when anything is refused.
func (b *backend) writeConfig(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	if err := refuseUnknown(d); err != nil {
		return nil, err
	}
	b.configMu.Lock()
	defer b.configMu.Unlock()
	old, err := b.config(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	next := defaultConfig()
	if old != nil {
		*next = *old
	}
	if err := next.Params.Parse(d); err != nil {
		return nil, err
	}
	str := map[string]*string{
		"url": &next.URL, "binddn": &next.BindDN, "bindpass": &next.BindPassword, "userdn": &next.UserDN,
		"userattr": &next.UserAttr, "userfilter": &next.UserFilter, "groupdn": &next.GroupDN,
		"groupfilter": &next.GroupFilter, "groupattr": &next.GroupAttr, "upndomain": &next.UPNDomain,
		"certificate": &next.Certificate, "client_tls_cert": &next.ClientTLSCert, "client_tls_key": &next.ClientTLSKey,
		"tls_min_version": &next.TLSMinVersion, "tls_max_version": &next.TLSMaxVersion,
		"dereference_aliases": &next.DerefAliases,
	}
	for k, p := range str {
		if v, ok := d.GetOk(k); ok {
			*p = v.(string)
			// Secrets and PEM are kept byte for byte; names lose stray blanks.
			if k != "bindpass" && k != "certificate" && !strings.HasPrefix(k, "client_tls_") {
				*p = strings.TrimSpace(*p)
			}
		}
	}
	// Empty means "back to the default" for the settings that have one.
	for p, def := range map[*string]string{&next.URL: defaultURL, &next.UserAttr: defaultUserAttr,
		&next.UserFilter: defaultUserFilter, &next.GroupAttr: defaultGroupAttr,
		&next.TLSMinVersion: defaultTLSVersion, &next.TLSMaxVersion: defaultTLSVersion, &next.DerefAliases: defaultDeref} {
		if *p == "" {
			*p = def
		}
	}
	next.UserAttr = strings.ToLower(next.UserAttr)
	bools := map[string]*bool{
		"discoverdn": &next.DiscoverDN, "deny_null_bind": &next.DenyNullBind, "starttls": &next.StartTLS,
		"insecure_tls": &next.InsecureTLS, "case_sensitive_names": &next.CaseSensitiveNames,
		"username_as_alias": &next.UsernameAsAlias, "anonymous_group_search": &next.AnonymousGroupSearch,
		"use_pre111_group_cn_behavior": &next.UsePre111GroupCN,
	}
	for k, p := range bools {
		if v, ok := d.GetOk(k); ok {
			*p = v.(bool)
		}
	}
	for k, p := range map[string]*time.Duration{"request_timeout": &next.RequestTimeout, "connection_timeout": &next.ConnectionTimeout} {
		if v, ok := d.GetOk(k); ok {
			if v.(int) < 0 {
				return nil, logical.BadRequest("'%s' cannot be negative", k)
			}
			*p = time.Duration(v.(int)) * time.Second
		}
	}
	if err := next.validate(); err != nil {
		return nil, err
	}
	return nil, putJSON(ctx, req.Storage, configKey, next)
}

// refuseUnknown answers 400 for a field the config does not know, and for
// one of Vault's fields this server does not implement unless it carries
// its zero value.
func refuseUnknown(d *logical.FieldData) error {
	var unknown []string
	for k, v := range d.Raw {
		if v == nil {
			continue
		}
		if slices.Contains(unsupported, k) {
			if !isZero(v) {
				return logical.BadRequest("'%s' is not supported by this server", k)
			}
			continue
		}
		if _, ok := d.Schema[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return logical.BadRequest("unknown config fields: %s", strings.Join(unknown, ", "))
	}
	return nil
}

// isZero reports whether v leaves an unsupported feature off: false, an
// empty string, or a number ≤ 0 (max_page_size -1 or 0 means no paging).
func isZero(v any) bool {
	switch x := v.(type) {
	case bool:
		return !x
	case string:
		if x == "" || x == "false" || x == "0s" {
			return true
		}
		n, err := strconv.ParseFloat(x, 64)
		return err == nil && n <= 0
	case float64:
		return x <= 0
	case int:
		return x <= 0
	case json.Number:
		n, err := x.Float64()
		return err == nil && n <= 0
	}
	return false
}

// validate checks the config as a whole, with Vault's messages where
// Vault has one.
func (c *config) validate() error {
	for _, u := range strings.Split(c.URL, ",") {
		p, err := url.Parse(strings.TrimSpace(u))
		if err != nil || p.Host == "" {
			return logical.BadRequest("invalid LDAP url %q", u)
		}
		if s := strings.ToLower(p.Scheme); s != "ldap" && s != "ldaps" {
			return logical.BadRequest("invalid LDAP scheme in url %q: use ldap:// or ldaps://", u)
		}
	}
	// The user's bind DN comes from a search, the UPN domain or userdn.
	if !c.DiscoverDN && (c.BindDN == "" || c.BindPassword == "") && c.UPNDomain == "" && c.UserDN == "" {
		return logical.BadRequest("cannot derive UserBindDN")
	}
	minV, ok := tlsVersions[c.TLSMinVersion]
	if !ok {
		return logical.BadRequest("invalid 'tls_min_version'")
	}
	maxV, ok := tlsVersions[c.TLSMaxVersion]
	if !ok {
		return logical.BadRequest("invalid 'tls_max_version'")
	}
	if maxV < minV {
		return logical.BadRequest("'tls_max_version' must be greater than or equal to 'tls_min_version'")
	}
	if c.Certificate != "" {
		if err := checkCertificates(c.Certificate); err != nil {
			return err
		}
	}
	if (c.ClientTLSCert == "") != (c.ClientTLSKey == "") {
		return logical.BadRequest("both client_tls_cert and client_tls_key must be set")
	}
	if c.ClientTLSCert != "" {
		if _, err := tls.X509KeyPair([]byte(c.ClientTLSCert), []byte(c.ClientTLSKey)); err != nil {
			return logical.BadRequest("failed to parse client X509 key pair: %v", err)
		}
	}
	if _, err := renderFilter(c.UserFilter, userFilterVars{UserAttr: "uid", Username: "alice"}); err != nil {
		return logical.BadRequest("invalid userfilter: %v", err)
	}
	if _, err := renderFilter(c.GroupFilter, groupFilterVars{UserDN: "uid=alice,dc=example", Username: "alice"}); err != nil {
		return logical.BadRequest("invalid groupfilter: %v", err)
	}
	if _, ok := derefAliases[c.DerefAliases]; !ok {
		return logical.BadRequest("invalid 'dereference_aliases' %q: use never, finding, searching or always", c.DerefAliases)
	}
	if c.UserAttr == "" || strings.ContainsAny(c.UserAttr, "=,()*\\") {
		return logical.BadRequest("invalid 'userattr' %q", c.UserAttr)
	}
	return nil
}

func checkCertificates(certs string) error {
	rest := []byte(certs)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return logical.BadRequest("failed to decode PEM block in the certificate")
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return logical.BadRequest("failed to parse certificate: %v", err)
		}
		n++
	}
	if n == 0 || strings.TrimSpace(string(rest)) != "" {
		return logical.BadRequest("failed to decode PEM block in the certificate")
	}
	return nil
}
