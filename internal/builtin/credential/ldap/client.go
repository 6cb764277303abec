package ldap

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"text/template"

	"github.com/go-ldap/ldap/v3"
)

// errUserBindFailed is Vault's answer to every failed user bind: a wrong
// password, an unknown user, a user the search does not find once.
const errUserBindFailed = "ldap operation failed: failed to bind as user"

// errNotFound: the user search found no entry, or more than one.
var errNotFound = errors.New("user not found or not unique")

var derefAliases = map[string]int{
	"never": ldap.NeverDerefAliases, "searching": ldap.DerefInSearching,
	"finding": ldap.DerefFindingBaseObj, "always": ldap.DerefAlways,
}

// userFilterVars and groupFilterVars are what the userfilter and
// groupfilter templates see, escaped for a filter.
type userFilterVars struct{ UserAttr, Username string }
type groupFilterVars struct{ UserDN, Username string }

// renderFilter executes a filter template. The template has no functions
// beyond text/template's and its values are escaped, so a username cannot
// change the filter's shape.
func renderFilter(tmpl string, vars any) (string, error) {
	t, err := template.New("filter").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, vars); err != nil {
		return "", err
	}
	if _, err := ldap.CompileFilter(b.String()); err != nil {
		return "", fmt.Errorf("not a valid LDAP filter: %w", err)
	}
	return b.String(), nil
}

// tlsConfig is the TLS configuration for host.
func (c *config) tlsConfig(host string) (*tls.Config, error) {
	tc := &tls.Config{
		ServerName:         host,
		MinVersion:         tlsVersions[c.TLSMinVersion],
		MaxVersion:         tlsVersions[c.TLSMaxVersion],
		InsecureSkipVerify: c.InsecureTLS, //nolint:gosec // the operator's explicit choice
	}
	if c.Certificate != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(c.Certificate)) {
			return nil, errors.New("could not append CA certificate")
		}
		tc.RootCAs = pool
	}
	if c.ClientTLSCert != "" {
		cert, err := tls.X509KeyPair([]byte(c.ClientTLSCert), []byte(c.ClientTLSKey))
		if err != nil {
			return nil, fmt.Errorf("failed to parse client X509 key pair: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// conn is one connection to the directory; Close also stops watching the
// request's context.
type conn struct {
	*ldap.Conn
	stop func() bool
}

func (c *conn) Close() {
	c.stop()
	_ = c.Conn.Close()
}

// dial connects to the first of the config's URLs that answers (with
// StartTLS on ldap:// when asked). Cancelling ctx closes the connection,
// which fails whatever request is in flight.
func (c *config) dial(ctx context.Context) (*conn, error) {
	var errs []error
	for _, raw := range strings.Split(c.URL, ",") {
		raw = strings.TrimSpace(raw)
		l, err := c.dialOne(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", raw, err))
			continue
		}
		if c.RequestTimeout > 0 {
			l.SetTimeout(c.RequestTimeout)
		}
		return &conn{Conn: l, stop: context.AfterFunc(ctx, func() { _ = l.Close() })}, nil
	}
	return nil, fmt.Errorf("failed to connect to LDAP server: %w", errors.Join(errs...))
}

func (c *config) dialOne(raw string) (*ldap.Conn, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	host := u.Hostname()
	tc, err := c.tlsConfig(host)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: c.ConnectionTimeout}
	l, err := ldap.DialURL(raw, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, err
	}
	if c.StartTLS && strings.EqualFold(u.Scheme, "ldap") {
		if err := l.StartTLS(tc); err != nil {
			_ = l.Close()
			return nil, fmt.Errorf("StartTLS: %w", err)
		}
	}
	return l, nil
}

// searchesUser reports whether the user's DN comes from a search (as the
// service account, or anonymously with discoverdn) rather than being built.
func (c *config) searchesUser() bool {
	return c.DiscoverDN || (c.BindDN != "" && c.BindPassword != "")
}

// bindService binds as the service account: binddn with its password, or
// an unauthenticated (anonymous) bind.
func (c *config) bindService(l *conn) error {
	if c.BindPassword != "" {
		return l.Bind(c.BindDN, c.BindPassword)
	}
	return l.UnauthenticatedBind(c.BindDN)
}

// userFilter is the rendered user search filter for username.
func (c *config) userFilter(username string) (string, error) {
	vars := userFilterVars{UserAttr: ldap.EscapeFilter(c.UserAttr), Username: ldap.EscapeFilter(username)}
	if c.UPNDomain != "" {
		vars.UserAttr = "userPrincipalName"
		vars.Username = ldap.EscapeFilter(username) + "@" + c.UPNDomain
	}
	return renderFilter(c.UserFilter, vars)
}

// builtDN is the user's bind DN without a search: username@upndomain or
// userattr=username,userdn.
func (c *config) builtDN(username string) string {
	if c.UPNDomain != "" {
		return ldap.EscapeDN(username) + "@" + c.UPNDomain
	}
	return c.UserAttr + "=" + ldap.EscapeDN(username) + "," + c.UserDN
}

// searchUser finds the one entry the user filter matches under userdn,
// with the userattr attribute. The connection must be bound already.
func (c *config) searchUser(l *conn, username string) (*ldap.Entry, error) {
	filter, err := c.userFilter(username)
	if err != nil {
		return nil, err
	}
	res, err := l.Search(&ldap.SearchRequest{
		BaseDN: c.UserDN, Scope: ldap.ScopeWholeSubtree, DerefAliases: derefAliases[c.DerefAliases],
		Filter: filter, SizeLimit: 2, Attributes: []string{c.UserAttr},
	})
	if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("LDAP search for the user failed: %w", err)
	}
	if len(res.Entries) != 1 {
		return nil, errNotFound
	}
	return res.Entries[0], nil
}

// readEntry reads the entry at dn with the attributes named.
func (c *config) readEntry(l *conn, dn string, attrs ...string) (*ldap.Entry, error) {
	res, err := l.Search(&ldap.SearchRequest{
		BaseDN: dn, Scope: ldap.ScopeBaseObject, DerefAliases: derefAliases[c.DerefAliases],
		Filter: "(objectClass=*)", SizeLimit: 1, Attributes: attrs,
	})
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("LDAP read of the user's entry failed: %w", err)
	}
	if len(res.Entries) != 1 {
		return nil, errNotFound
	}
	return res.Entries[0], nil
}

// upnUser finds the entry of the user whose userPrincipalName is
// username@upndomain, with the userattr attribute.
func (c *config) upnUser(l *conn, username string) (*ldap.Entry, error) {
	filter := fmt.Sprintf("(userPrincipalName=%s@%s)", ldap.EscapeFilter(username), ldap.EscapeFilter(c.UPNDomain))
	res, err := l.Search(&ldap.SearchRequest{
		BaseDN: c.UserDN, Scope: ldap.ScopeWholeSubtree, DerefAliases: derefAliases[c.DerefAliases],
		Filter: filter, SizeLimit: 2, Attributes: []string{c.UserAttr},
	})
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, fmt.Errorf("LDAP search failed for detecting user: %w", err)
	}
	if err != nil || len(res.Entries) != 1 {
		return nil, errNotFound
	}
	return res.Entries[0], nil
}

// groups returns the names of the user's LDAP groups: the groupattr values
// of the entries groupfilter finds under groupdn (the CN when a value is a
// DN), or the CN of the entries themselves when they lack groupattr.
// Without groupdn or groupfilter there is no search and no group.
func (c *config) groups(l *conn, userDN, username string) ([]string, error) {
	if c.GroupDN == "" || c.GroupFilter == "" {
		return nil, nil
	}
	filter, err := renderFilter(c.GroupFilter, groupFilterVars{UserDN: ldap.EscapeFilter(userDN), Username: ldap.EscapeFilter(username)})
	if err != nil {
		return nil, fmt.Errorf("LDAP search failed due to template error: %w", err)
	}
	res, err := l.Search(&ldap.SearchRequest{
		BaseDN: c.GroupDN, Scope: ldap.ScopeWholeSubtree, DerefAliases: derefAliases[c.DerefAliases],
		Filter: filter, Attributes: []string{c.GroupAttr},
	})
	if err != nil {
		return nil, fmt.Errorf("LDAP search for groups failed: %w", err)
	}
	var out []string
	for _, e := range res.Entries {
		values := e.GetEqualFoldAttributeValues(c.GroupAttr)
		if len(values) == 0 {
			values = []string{e.DN}
		}
		for _, v := range values {
			if name := c.cn(v); name != "" && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// cn is the first CN of a DN, or s itself when it is not a DN with a CN.
func (c *config) cn(s string) string {
	dn, err := ldap.ParseDN(s)
	if err != nil || len(dn.RDNs) == 0 {
		return s
	}
	for _, rdn := range dn.RDNs {
		for _, a := range rdn.Attributes {
			if a.Type == "CN" || (!c.UsePre111GroupCN && strings.EqualFold(a.Type, "cn")) {
				return a.Value
			}
		}
	}
	return s
}
