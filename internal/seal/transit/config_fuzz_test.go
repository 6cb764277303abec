package transit

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzParseConfig: any stanza either parses to a usable configuration or
// is refused with a *ConfigError naming one of the stanza's keys (or a
// required one); it never panics.
func FuzzParseConfig(f *testing.F) {
	f.Add("http://127.0.0.1:8200", "s.tok", "k", "transit/", "", "", "", "")
	f.Add("https://h:1/", "t", "key", "/seal/", "true", "ns", "x", "1")
	f.Add("127.0.0.1", "", "a/b", "", "maybe", "", "", "")
	f.Fuzz(func(t *testing.T, address, token, keyName, mount, renewal, namespace, serverName, skip string) {
		conf := map[string]string{}
		for k, v := range map[string]string{
			"address": address, "token": token, "key_name": keyName, "mount_path": mount,
			"disable_renewal": renewal, "namespace": namespace, "tls_server_name": serverName, "tls_skip_verify": skip,
		} {
			if v != "" {
				conf[k] = v
			}
		}
		c, err := parseConfig(conf, nil)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrConfig) || !slices.Contains(stanzaKeys, ce.Key) {
				t.Fatalf("error %v is not a ConfigError on a known key", err)
			}
			return
		}
		u, uerr := url.Parse(c.address)
		if uerr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.HasSuffix(c.address, "/") {
			t.Fatalf("accepted address %q", c.address)
		}
		if c.token == "" || c.keyName == "" || strings.Contains(c.keyName, "/") || c.mountPath == "" ||
			strings.HasPrefix(c.mountPath, "/") || strings.HasSuffix(c.mountPath, "/") {
			t.Fatalf("accepted %+v", c)
		}
		if strings.TrimSpace(namespace) != "" {
			t.Fatalf("accepted namespace %q", namespace)
		}
		if (u.Scheme == "https") != (c.tls != nil) {
			t.Fatalf("TLS config %v for %s", c.tls, u.Scheme)
		}
	})
}
