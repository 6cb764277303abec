package cert

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

// config is the method's settings. Only the keys the method honours are
// accepted (Vault's OCSP and cache-size keys are not).
type config struct {
	// DisableBinding renews a login token without asking the renewing
	// client for the certificate it logged in with.
	DisableBinding bool `json:"disable_binding"`
	// EnableIdentityAliasMetadata copies the login's metadata onto the
	// identity alias.
	EnableIdentityAliasMetadata bool `json:"enable_identity_alias_metadata"`
}

// unsupportedConfig are Vault's config keys this method does not honour:
// refused rather than accepted and ignored.
var unsupportedConfig = []string{"ocsp_cache_size", "role_cache_size", "enable_metadata_on_failures"}

func (b *backend) pathConfig() *logical.Path {
	p := &logical.Path{
		Pattern: "config",
		Fields: map[string]*logical.FieldSchema{
			"disable_binding": {Type: logical.TypeBool,
				Description: "Renew login tokens without the certificate the login used (default false: a renewal must present it)."},
			"enable_identity_alias_metadata": {Type: logical.TypeBool,
				Description: "Put the login's metadata (cert_name, common_name, serial_number, subject_key_id, authority_key_id) on the identity alias."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readConfig,
			logical.UpdateOperation: b.writeConfig,
		},
		HelpSynopsis: "Configure the TLS certificate auth method.",
	}
	for _, k := range unsupportedConfig {
		p.Fields[k] = &logical.FieldSchema{Type: logical.TypeRaw, Description: "Not supported: refused."}
	}
	return p
}

func (b *backend) config(ctx context.Context, s logical.Storage) (*config, error) {
	var c config
	if _, err := getJSON(ctx, s, configKey, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func (b *backend) readConfig(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	c, err := b.config(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"disable_binding":                c.DisableBinding,
		"enable_identity_alias_metadata": c.EnableIdentityAliasMetadata,
	}}, nil
}

func (b *backend) writeConfig(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	for _, k := range unsupportedConfig {
		if _, ok := d.GetOk(k); ok {
			return nil, logical.BadRequest("%q is not supported by this server's cert auth method", k)
		}
	}
	b.certMu.Lock()
	defer b.certMu.Unlock()
	c, err := b.config(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if v, ok := d.GetOk("disable_binding"); ok {
		c.DisableBinding = v.(bool)
	}
	if v, ok := d.GetOk("enable_identity_alias_metadata"); ok {
		c.EnableIdentityAliasMetadata = v.(bool)
	}
	return nil, putJSON(ctx, req.Storage, configKey, c)
}
