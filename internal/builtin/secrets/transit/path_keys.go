package transit

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func (b *backend) pathKeysList() *logical.Path {
	return &logical.Path{
		Pattern: "keys/?",
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ListOperation: func(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
				names, err := req.Storage.List(ctx, policyPrefix)
				if err != nil {
					return nil, err
				}
				return &logical.Response{Data: map[string]any{"keys": names}}, nil
			},
		},
		HelpSynopsis: "List the named keys.",
	}
}

func (b *backend) pathKeys() *logical.Path {
	return &logical.Path{
		Pattern: "keys/" + nameRe,
		Fields: map[string]*logical.FieldSchema{
			"name":                   {Type: logical.TypeString, Description: "Name of the key."},
			"type":                   {Type: logical.TypeString, Default: typeAES256, Description: "The key type: " + strings.Join(keyTypes, ", ") + "."},
			"derived":                {Type: logical.TypeBool, Description: "Derive a key per request context (HKDF-SHA256)."},
			"convergent_encryption":  {Type: logical.TypeBool, Description: "The same plaintext and context give the same ciphertext (needs derived)."},
			"exportable":             {Type: logical.TypeBool, Description: "The key may be exported."},
			"allow_plaintext_backup": {Type: logical.TypeBool, Description: "The key may be backed up in plaintext."},
			"auto_rotate_period":     {Type: logical.TypeDurationSecond, Description: "Rotate the key this often (0: never; at least 1h)."},
			"key_size":               {Type: logical.TypeInt, Description: "The key size in bytes of an hmac key (16 to 512; 32 by default)."},
			"context":                {Type: logical.TypeString, Description: "Ignored (Vault's legacy field)."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation: b.keyCreate,
			logical.ReadOperation:   b.keyRead,
			logical.DeleteOperation: b.keyDelete,
		},
		ExistenceCheck: b.keyExists,
		HelpSynopsis:   "Create, read or delete a named key.",
	}
}

func (b *backend) keyExists(ctx context.Context, req *logical.Request, d *logical.FieldData) (bool, error) {
	p, err := b.load(ctx, req.Storage, d.Get("name").(string))
	return p != nil, err
}

// newPolicyFrom builds a key from a create request (keys/<name>, or an
// encrypt of a key that does not exist yet).
func (b *backend) newPolicyFrom(name string, d *logical.FieldData) (*policy, error) {
	typ := d.Get("type").(string)
	if typ == "" {
		typ = typeAES256
	}
	if !slices.Contains(keyTypes, typ) {
		return nil, errBadInput("unknown key type %q", typ)
	}
	p := &policy{Name: name, Type: typ, Keys: map[string]*keyEntry{}, MinDecryptionVersion: 1}
	if v, ok := d.GetOk("derived"); ok {
		p.Derived = v.(bool)
	}
	if v, ok := d.GetOk("convergent_encryption"); ok {
		p.ConvergentEncryption = v.(bool)
	}
	if v, ok := d.GetOk("exportable"); ok {
		p.Exportable = v.(bool)
	}
	if v, ok := d.GetOk("allow_plaintext_backup"); ok {
		p.AllowPlaintextBackup = v.(bool)
	}
	if p.Derived {
		if !symmetric(typ) && typ != typeEd25519 {
			return nil, errBadInput("key derivation is not supported for key type %s", typ)
		}
		p.KDF = kdfHKDF
	}
	if p.ConvergentEncryption {
		if !p.Derived {
			return nil, errBadInput("convergent encryption requires derivation to be enabled, so context is required")
		}
		if !symmetric(typ) {
			return nil, errBadInput("convergent encryption is not supported for key type %s", typ)
		}
	}
	if v, ok := d.GetOk("auto_rotate_period"); ok {
		period, err := rotatePeriod(v.(int))
		if err != nil {
			return nil, err
		}
		p.AutoRotatePeriod = period
	}
	if typ == typeHMAC {
		p.KeySize = 32
		if v, ok := d.GetOk("key_size"); ok && v.(int) != 0 {
			if v.(int) < 16 || v.(int) > 512 {
				return nil, errBadInput("key_size must be between 16 and 512 bytes")
			}
			p.KeySize = v.(int)
		}
	} else if v, ok := d.GetOk("key_size"); ok && v.(int) != 0 {
		return nil, errBadInput("key_size is only for hmac keys")
	}
	if err := p.rotate(b.now()); err != nil {
		return nil, err
	}
	return p, nil
}

func rotatePeriod(secs int) (time.Duration, error) {
	d := time.Duration(secs) * time.Second
	if d != 0 && d < time.Hour {
		return 0, errBadInput("auto rotate period must be 0 to disable or at least an hour")
	}
	if d < 0 {
		return 0, errBadInput("auto rotate period cannot be negative")
	}
	return d, nil
}

func (b *backend) keyCreate(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	defer b.lock(name)()
	p, err := b.load(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		if p, err = b.newPolicyFrom(name, d); err != nil {
			return nil, err
		}
		if err := b.store(ctx, req.Storage, p); err != nil {
			return nil, err
		}
	} else if t, ok := d.GetOk("type"); ok && t.(string) != p.Type {
		return nil, errBadInput("key %q already exists with type %s", name, p.Type)
	}
	return b.keyInfo(p)
}

func (b *backend) keyRead(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	p, err := b.load(ctx, req.Storage, d.Get("name").(string))
	if err != nil || p == nil {
		return nil, err
	}
	return b.keyInfo(p)
}

// keyInfo is a key as keys/<name> reads it.
func (b *backend) keyInfo(p *policy) (*logical.Response, error) {
	data := map[string]any{
		"name":                   p.Name,
		"type":                   p.Type,
		"derived":                p.Derived,
		"deletion_allowed":       p.DeletionAllowed,
		"exportable":             p.Exportable,
		"allow_plaintext_backup": p.AllowPlaintextBackup,
		"min_decryption_version": p.MinDecryptionVersion,
		"min_encryption_version": p.MinEncryptionVersion,
		"min_available_version":  p.MinAvailableVersion,
		"latest_version":         p.LatestVersion,
		"supports_encryption":    symmetric(p.Type),
		"supports_decryption":    symmetric(p.Type),
		"supports_derivation":    symmetric(p.Type) || p.Type == typeEd25519,
		"supports_signing":       asymmetric(p.Type),
		"imported_key":           false,
		"auto_rotate_period":     int64(p.AutoRotatePeriod / time.Second),
	}
	if p.Derived {
		data["kdf"] = p.KDF
		data["convergent_encryption"] = p.ConvergentEncryption
		if p.ConvergentEncryption {
			data["convergent_encryption_version"] = 3
		}
	}
	if p.Type == typeHMAC {
		data["key_size"] = p.KeySize
	}
	keys := map[string]any{}
	for ver, e := range p.Keys {
		if !asymmetric(p.Type) {
			keys[ver] = e.CreationTime.Unix()
			continue
		}
		v, _ := strconv.Atoi(ver)
		pub, err := p.publicKey(v)
		if err != nil {
			return nil, fmt.Errorf("transit: key %q version %d: %w", p.Name, v, err)
		}
		keys[ver] = map[string]any{
			"creation_time": e.CreationTime.Format(time.RFC3339Nano),
			"name":          publicKeyName(p),
			"public_key":    pub,
		}
	}
	data["keys"] = keys
	return &logical.Response{Data: data}, nil
}

func publicKeyName(p *policy) string {
	switch {
	case p.Type == typeEd25519:
		return "ed25519"
	case isRSA(p.Type):
		return p.Type
	}
	if s, err := p.signer(p.LatestVersion); err == nil {
		if k, ok := s.(*ecdsa.PrivateKey); ok {
			return k.Curve.Params().Name
		}
	}
	return p.Type
}

func (b *backend) keyDelete(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	defer b.lock(name)()
	p, err := b.load(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errBadInput("could not delete key; not found")
	}
	if !p.DeletionAllowed {
		return nil, errBadInput("deletion is not allowed for this key")
	}
	if err := req.Storage.Delete(ctx, policyPrefix+name); err != nil {
		return nil, fmt.Errorf("transit: delete key: %w", err)
	}
	b.dropCache(name)
	return nil, nil
}

func (b *backend) pathKeyConfig() *logical.Path {
	return &logical.Path{
		Pattern: "keys/" + nameRe + "/config",
		Fields: map[string]*logical.FieldSchema{
			"name":                   {Type: logical.TypeString},
			"min_decryption_version": {Type: logical.TypeInt, Description: "The oldest version that may decrypt or verify."},
			"min_encryption_version": {Type: logical.TypeInt, Description: "The oldest version that may encrypt or sign (0: latest)."},
			"deletion_allowed":       {Type: logical.TypeBool, Description: "The key may be deleted."},
			"exportable":             {Type: logical.TypeBool, Description: "The key may be exported (cannot be undone)."},
			"allow_plaintext_backup": {Type: logical.TypeBool, Description: "The key may be backed up in plaintext (cannot be undone)."},
			"auto_rotate_period":     {Type: logical.TypeDurationSecond, Description: "Rotate the key this often (0: never; at least 1h)."},
		},
		Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.keyConfig},
		HelpSynopsis: "Configure a named key.",
	}
}

func (b *backend) keyConfig(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	p, err := b.update(ctx, req.Storage, d.Get("name").(string), func(p *policy) error {
		if v, ok := d.GetOk("min_decryption_version"); ok {
			n := v.(int)
			if n <= 0 {
				n = 1
			}
			if n > p.LatestVersion {
				return errBadInput("cannot set min decryption version of %d, latest key version is %d", n, p.LatestVersion)
			}
			if n < p.MinAvailableVersion {
				return errBadInput("cannot set min decryption version below the min available version %d (the older versions were trimmed)", p.MinAvailableVersion)
			}
			p.MinDecryptionVersion = n
		}
		if v, ok := d.GetOk("min_encryption_version"); ok {
			n := v.(int)
			if n < 0 || n > p.LatestVersion {
				return errBadInput("cannot set min encryption version of %d, latest key version is %d", n, p.LatestVersion)
			}
			p.MinEncryptionVersion = n
		}
		if p.MinEncryptionVersion > 0 && p.MinEncryptionVersion < p.MinDecryptionVersion {
			return errBadInput("min encryption version should not be less than min decryption version")
		}
		if v, ok := d.GetOk("deletion_allowed"); ok {
			p.DeletionAllowed = v.(bool)
		}
		if v, ok := d.GetOk("exportable"); ok {
			if p.Exportable && !v.(bool) {
				return errBadInput("export cannot be disabled on a key that already has it enabled")
			}
			p.Exportable = v.(bool)
		}
		if v, ok := d.GetOk("allow_plaintext_backup"); ok {
			if p.AllowPlaintextBackup && !v.(bool) {
				return errBadInput("plaintext backup cannot be disabled on a key that already has it enabled")
			}
			p.AllowPlaintextBackup = v.(bool)
		}
		if v, ok := d.GetOk("auto_rotate_period"); ok {
			period, err := rotatePeriod(v.(int))
			if err != nil {
				return err
			}
			p.AutoRotatePeriod = period
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.keyInfo(p)
}

func (b *backend) pathRotate() *logical.Path {
	return &logical.Path{
		Pattern: "keys/" + nameRe + "/rotate",
		Fields:  map[string]*logical.FieldSchema{"name": {Type: logical.TypeString}},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation: func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
				p, err := b.update(ctx, req.Storage, d.Get("name").(string), func(p *policy) error { return p.rotate(b.now()) })
				if err != nil {
					return nil, err
				}
				return b.keyInfo(p)
			},
		},
		HelpSynopsis: "Rotate a named key: a new version becomes the one that encrypts.",
	}
}

func (b *backend) pathTrim() *logical.Path {
	return &logical.Path{
		Pattern: "keys/" + nameRe + "/trim",
		Fields: map[string]*logical.FieldSchema{
			"name":                  {Type: logical.TypeString},
			"min_available_version": {Type: logical.TypeInt, Required: true, Description: "Versions below this one are deleted for good."},
		},
		Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.trim},
		HelpSynopsis: "Delete a key's old versions.",
	}
}

func (b *backend) trim(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	raw, ok := d.GetOk("min_available_version")
	if !ok {
		return nil, errBadInput("missing min_available_version")
	}
	n := raw.(int)
	p, err := b.update(ctx, req.Storage, d.Get("name").(string), func(p *policy) error {
		switch {
		case n <= 0:
			return errBadInput("minimum available version should be positive")
		case n < p.MinAvailableVersion:
			return errBadInput("minimum available version cannot be decremented")
		case n > p.MinDecryptionVersion:
			return errBadInput("minimum available version should not be greater than the minimum decryption version")
		case p.MinEncryptionVersion > 0 && n > p.MinEncryptionVersion:
			return errBadInput("minimum available version should not be greater than the minimum encryption version")
		}
		for v := p.MinAvailableVersion; v < n; v++ {
			delete(p.Keys, strconv.Itoa(v))
		}
		p.MinAvailableVersion = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.keyInfo(p)
}
