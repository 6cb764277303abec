package transit

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"strconv"

	"github.com/strongbox/strongbox/internal/logical"
)

func (b *backend) pathExport() *logical.Path {
	return &logical.Path{
		Pattern: "export/(?P<type>encryption-key|signing-key|hmac-key|public-key)/" + nameRe + `(/(?P<version>latest|\d+))?`,
		Fields: map[string]*logical.FieldSchema{
			"type":    {Type: logical.TypeString},
			"name":    {Type: logical.TypeString},
			"version": {Type: logical.TypeString, Description: "A version, or latest; every version when absent."},
		},
		Operations:   map[logical.Operation]logical.OperationFunc{logical.ReadOperation: b.export},
		HelpSynopsis: "Export a named key (it must be exportable, except its public key).",
	}
}

func (b *backend) export(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name, kind := d.Get("name").(string), d.Get("type").(string)
	p, err := b.load(ctx, req.Storage, name)
	if err != nil || p == nil {
		return nil, err
	}
	if kind != "public-key" && !p.Exportable {
		return nil, errBadInput("private key material is not exportable")
	}
	switch kind {
	case "encryption-key":
		if !symmetric(p.Type) {
			return nil, errBadInput("encryption key not supported for key type %s", p.Type)
		}
	case "signing-key", "public-key":
		if !asymmetric(p.Type) {
			return nil, errBadInput("%s not supported for key type %s", kind, p.Type)
		}
	}
	versions := []int{}
	switch v := d.Get("version").(string); v {
	case "":
		for ver := range p.Keys {
			n, _ := strconv.Atoi(ver)
			versions = append(versions, n)
		}
	case "latest":
		versions = append(versions, p.LatestVersion)
	default:
		n, _ := strconv.Atoi(v)
		if p.entry(n) == nil {
			return nil, errBadInput("version %d does not exist or cannot be found", n)
		}
		versions = append(versions, n)
	}
	keys := map[string]string{}
	for _, v := range versions {
		out, err := p.exportVersion(kind, v)
		if err != nil {
			return nil, err
		}
		keys[strconv.Itoa(v)] = out
	}
	return &logical.Response{Data: map[string]any{"name": p.Name, "type": p.Type, "keys": keys}}, nil
}

func (p *policy) exportVersion(kind string, v int) (string, error) {
	e := p.entry(v)
	switch kind {
	case "encryption-key":
		return base64.StdEncoding.EncodeToString(e.Key), nil
	case "hmac-key":
		if p.Type == typeHMAC {
			return base64.StdEncoding.EncodeToString(e.Key), nil
		}
		return base64.StdEncoding.EncodeToString(e.HMACKey), nil
	case "public-key":
		return p.publicKey(v)
	}
	s, err := p.signer(v)
	if err != nil {
		return "", err
	}
	switch k := s.(type) {
	case ed25519.PrivateKey:
		return base64.StdEncoding.EncodeToString(k), nil
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", err
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), nil
	case *rsa.PrivateKey:
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})), nil
	}
	return "", fmt.Errorf("unexpected key %T", s)
}

func (b *backend) pathBackup() *logical.Path {
	return &logical.Path{
		Pattern: "backup/" + nameRe,
		Fields:  map[string]*logical.FieldSchema{"name": {Type: logical.TypeString}},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
				p, err := b.load(ctx, req.Storage, d.Get("name").(string))
				if err != nil || p == nil {
					return nil, err
				}
				if !p.Exportable || !p.AllowPlaintextBackup {
					return nil, errBadInput("exporting is disallowed on the policy; it needs exportable and allow_plaintext_backup")
				}
				buf, err := p.encode()
				if err != nil {
					return nil, err
				}
				return &logical.Response{Data: map[string]any{"backup": base64.StdEncoding.EncodeToString(buf)}}, nil
			},
		},
		HelpSynopsis: "Back up a named key in plaintext (needs exportable and allow_plaintext_backup).",
	}
}

func (b *backend) pathRestore() *logical.Path {
	return &logical.Path{
		Pattern: "restore(/" + nameRe + ")?",
		Fields: map[string]*logical.FieldSchema{
			"name":   {Type: logical.TypeString, Description: "Restore under this name instead of the backed-up one."},
			"backup": {Type: logical.TypeString, Description: "The backup, as backup/<name> returned it."},
			"force":  {Type: logical.TypeBool, Description: "Overwrite a key of the same name."},
		},
		Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.restore},
		HelpSynopsis: "Restore a key from a backup.",
	}
}

func (b *backend) restore(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	raw := d.Get("backup").(string)
	if raw == "" {
		return nil, errBadInput("'backup' must be supplied")
	}
	buf, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, errBadInput("backup: could not decode base64")
	}
	var p policy
	if err := json.Unmarshal(buf, &p); err != nil || p.Name == "" || p.LatestVersion <= 0 || len(p.Keys) == 0 {
		return nil, errBadInput("backup: not a key backup")
	}
	if !slices.Contains(keyTypes, p.Type) {
		return nil, errBadInput("backup: unknown key type %q", p.Type)
	}
	if p.entry(p.LatestVersion) == nil {
		return nil, errBadInput("backup: the latest version is missing")
	}
	for ver, e := range p.Keys {
		if e == nil || (symmetric(p.Type) || p.Type == typeHMAC) && len(e.Key) == 0 || asymmetric(p.Type) && len(e.Private) == 0 {
			return nil, errBadInput("backup: version %s has no key", ver)
		}
	}
	if n := d.Get("name").(string); n != "" {
		p.Name = n
	}
	defer b.lock(p.Name)()
	cur, err := b.load(ctx, req.Storage, p.Name)
	if err != nil {
		return nil, err
	}
	if cur != nil && !d.Get("force").(bool) {
		return nil, errBadInput("key %q already exists", p.Name)
	}
	return nil, b.store(ctx, req.Storage, &p)
}
