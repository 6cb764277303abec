package awskms

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrConfig marks a configuration the seal cannot start with.
var ErrConfig = errors.New("awskms seal: invalid configuration")

// defaultRegion is Vault's default when neither the stanza nor the
// environment names one.
const defaultRegion = "us-east-1"

// Each setting is read from the environment first (the first variable set
// wins) and from the stanza second, as Vault lets the environment override
// the configuration file.
var envNames = map[string][]string{
	"region":        {"AWS_REGION", "AWS_DEFAULT_REGION"},
	"access_key":    {"AWS_ACCESS_KEY_ID"},
	"secret_key":    {"AWS_SECRET_ACCESS_KEY"},
	"session_token": {"AWS_SESSION_TOKEN"},
	"kms_key_id":    {"VAULT_AWSKMS_SEAL_KEY_ID"},
	"endpoint":      {"AWS_KMS_ENDPOINT"},
}

// Stanza keys accepted without effect here (the core reads them).
var ignoredKeys = map[string]bool{"disabled": true, "name": true, "priority": true}

// config is the parsed seal stanza.
type config struct {
	region       string
	accessKey    string
	secretKey    string
	sessionToken string
	keyID        string
	endpoint     string
	// unknown lists stanza keys this seal does not know.
	unknown []string
}

// parseConfig reads the stanza, with getenv's values overriding it.
func parseConfig(conf map[string]string, getenv func(string) string) (*config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	get := func(key string) string {
		for _, name := range envNames[key] {
			if v := strings.TrimSpace(getenv(name)); v != "" {
				return v
			}
		}
		return strings.TrimSpace(conf[key])
	}
	c := &config{
		region:       get("region"),
		accessKey:    get("access_key"),
		secretKey:    get("secret_key"),
		sessionToken: get("session_token"),
		keyID:        get("kms_key_id"),
		endpoint:     get("endpoint"),
	}
	for k := range conf {
		if _, ok := envNames[k]; !ok && !ignoredKeys[k] {
			c.unknown = append(c.unknown, k)
		}
	}
	if c.region == "" {
		c.region = defaultRegion
	}
	if c.keyID == "" {
		return nil, fmt.Errorf("%w: kms_key_id is required (or VAULT_AWSKMS_SEAL_KEY_ID)", ErrConfig)
	}
	if (c.accessKey == "") != (c.secretKey == "") {
		return nil, fmt.Errorf("%w: access_key and secret_key must be set together (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", ErrConfig)
	}
	if c.sessionToken != "" && c.accessKey == "" {
		return nil, fmt.Errorf("%w: session_token needs access_key and secret_key", ErrConfig)
	}
	if c.endpoint != "" {
		// A bare host name (as for VPC endpoints) means HTTPS.
		if !strings.Contains(c.endpoint, "://") {
			c.endpoint = "https://" + c.endpoint
		}
		u, err := url.Parse(c.endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: endpoint %q is not an http(s) URL", ErrConfig, c.endpoint)
		}
	}
	return c, nil
}
