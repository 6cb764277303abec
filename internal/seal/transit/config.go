package transit

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
)

// ErrConfig marks a configuration the seal cannot start with. Errors
// about one setting are a *ConfigError, which wraps it.
var ErrConfig = errors.New("transit seal: invalid configuration")

// ConfigError is a refused setting: Key names the stanza key (also when
// the value came from its environment variable), so the server can point
// at its line.
type ConfigError struct {
	Key string
	Msg string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("%s: %s", e.Key, e.Msg) }

// Unwrap makes errors.Is(err, ErrConfig) hold.
func (e *ConfigError) Unwrap() error { return ErrConfig }

func configErr(key, format string, args ...any) error {
	return &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// stanzaKeys are the stanza keys the seal honours; any other is refused.
var stanzaKeys = []string{
	"address", "token", "key_name", "mount_path", "namespace", "disable_renewal",
	"tls_ca_cert", "tls_client_cert", "tls_client_key", "tls_server_name", "tls_skip_verify",
}

// The environment, as Vault's transit seal reads it. Two rules of
// precedence, each Vault's:
//   - envFirst: the variable overrides the stanza (the seal's own
//     variables, and the token);
//   - stanzaFirst: the stanza overrides the variable (the address and TLS
//     settings, which Vault's API client reads from the environment as
//     defaults before the stanza is applied).
var (
	envFirst = map[string][]string{
		"key_name":        {"VAULT_TRANSIT_SEAL_KEY_NAME"},
		"mount_path":      {"VAULT_TRANSIT_SEAL_MOUNT_PATH"},
		"namespace":       {"VAULT_TRANSIT_SEAL_NAMESPACE", "VAULT_NAMESPACE"},
		"disable_renewal": {"VAULT_TRANSIT_SEAL_DISABLE_RENEWAL"},
		"token":           {"VAULT_TOKEN"},
	}
	stanzaFirst = map[string]string{
		"address":         "VAULT_ADDR",
		"tls_ca_cert":     "VAULT_CACERT",
		"tls_client_cert": "VAULT_CLIENT_CERT",
		"tls_client_key":  "VAULT_CLIENT_KEY",
		"tls_server_name": "VAULT_TLS_SERVER_NAME",
		"tls_skip_verify": "VAULT_SKIP_VERIFY",
	}
)

// config is the parsed stanza.
type config struct {
	address        string
	token          string
	keyName        string
	mountPath      string // without leading or trailing slashes
	disableRenewal bool
	tls            *tls.Config // nil for http
}

// setting is a value and where it came from, for error messages.
type setting struct {
	value string
	env   string // the variable it came from; "" for the stanza
}

func (s setting) from() string {
	if s.env != "" {
		return " (from " + s.env + ")"
	}
	return ""
}

// parseConfig reads the stanza, with getenv's values applied by Vault's
// precedence, and loads the TLS files.
func parseConfig(conf map[string]string, getenv func(string) string) (*config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var unknown []string
	for k := range conf {
		if !isKey(k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, configErr(unknown[0], "not a setting of the transit seal (known: %s)", strings.Join(stanzaKeys, ", "))
	}
	get := func(key string) setting {
		if names, ok := envFirst[key]; ok {
			for _, name := range names {
				if v := strings.TrimSpace(getenv(name)); v != "" {
					return setting{v, name}
				}
			}
			return setting{strings.TrimSpace(conf[key]), ""}
		}
		if v := strings.TrimSpace(conf[key]); v != "" {
			return setting{v, ""}
		}
		name := stanzaFirst[key]
		return setting{strings.TrimSpace(getenv(name)), name}
	}

	if ns := get("namespace"); ns.value != "" {
		return nil, configErr("namespace", "%q%s: namespaces are not built into Strongbox yet; use a transit mount outside namespaces and remove the setting", ns.value, ns.from())
	}
	c := &config{}
	addr := get("address")
	if addr.value == "" {
		return nil, configErr("address", "is required (or VAULT_ADDR)")
	}
	u, err := url.Parse(addr.value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, configErr("address", "%q%s is not an http(s) URL", addr.value, addr.from())
	}
	c.address = strings.TrimRight(addr.value, "/")
	if c.token = get("token").value; c.token == "" {
		return nil, configErr("token", "is required (or VAULT_TOKEN)")
	}
	if c.keyName = get("key_name").value; c.keyName == "" {
		return nil, configErr("key_name", "is required (or VAULT_TRANSIT_SEAL_KEY_NAME)")
	}
	if strings.Contains(c.keyName, "/") {
		return nil, configErr("key_name", "%q is not a transit key name", c.keyName)
	}
	mount := get("mount_path")
	c.mountPath = strings.Trim(mount.value, "/")
	if c.mountPath == "" {
		return nil, configErr("mount_path", "is required (or VAULT_TRANSIT_SEAL_MOUNT_PATH)")
	}
	if dr := get("disable_renewal"); dr.value != "" {
		if c.disableRenewal, err = strconv.ParseBool(dr.value); err != nil {
			return nil, configErr("disable_renewal", "expected a boolean, got %q%s", dr.value, dr.from())
		}
	}
	if c.tls, err = tlsConfig(get, u.Scheme == "https"); err != nil {
		return nil, err
	}
	return c, nil
}

func isKey(k string) bool {
	for _, known := range stanzaKeys {
		if k == known {
			return true
		}
	}
	return false
}

// tlsConfig builds the client TLS configuration from the tls_* settings.
// Every file is read now, so a bad one is refused at start.
func tlsConfig(get func(string) setting, https bool) (*tls.Config, error) {
	ca, cert, key := get("tls_ca_cert"), get("tls_client_cert"), get("tls_client_key")
	name, skip := get("tls_server_name"), get("tls_skip_verify")
	if !https {
		// Vault accepts TLS settings with an http address and ignores
		// them; a setting that cannot take effect is refused here.
		for _, s := range []struct {
			key string
			setting
		}{{"tls_ca_cert", ca}, {"tls_client_cert", cert}, {"tls_client_key", key}, {"tls_server_name", name}} {
			if s.value != "" && s.env == "" {
				return nil, configErr(s.key, "the address is http, so TLS settings cannot apply")
			}
		}
		// tls_skip_verify = "false" (as in Vault's example stanza) asks
		// for nothing; "true" would be a setting without effect.
		if skip.value != "" && skip.env == "" {
			if v, err := strconv.ParseBool(skip.value); err != nil {
				return nil, configErr("tls_skip_verify", "expected a boolean, got %q", skip.value)
			} else if v {
				return nil, configErr("tls_skip_verify", "the address is http, so TLS settings cannot apply")
			}
		}
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: name.value}
	if skip.value != "" {
		v, err := strconv.ParseBool(skip.value)
		if err != nil {
			return nil, configErr("tls_skip_verify", "expected a boolean, got %q%s", skip.value, skip.from())
		}
		tc.InsecureSkipVerify = v
	}
	if ca.value != "" {
		pem, err := os.ReadFile(ca.value)
		if err != nil {
			return nil, configErr("tls_ca_cert", "read %q%s: %v", ca.value, ca.from(), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, configErr("tls_ca_cert", "%q%s holds no PEM certificate", ca.value, ca.from())
		}
		tc.RootCAs = pool
	}
	switch {
	case cert.value != "" && key.value != "":
		pair, err := tls.LoadX509KeyPair(cert.value, key.value)
		if err != nil {
			return nil, configErr("tls_client_cert", "load %q%s with key %q%s: %v", cert.value, cert.from(), key.value, key.from(), err)
		}
		tc.Certificates = []tls.Certificate{pair}
	case cert.value != "":
		return nil, configErr("tls_client_cert", "needs tls_client_key (or VAULT_CLIENT_KEY)")
	case key.value != "":
		return nil, configErr("tls_client_key", "needs tls_client_cert (or VAULT_CLIENT_CERT)")
	}
	return tc, nil
}
