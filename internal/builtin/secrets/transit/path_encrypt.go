package transit

import (
	"context"
	"encoding/base64"

	"github.com/strongbox/strongbox/internal/logical"
)

// cryptFields are the fields of encrypt, decrypt and rewrap.
func cryptFields(extra map[string]*logical.FieldSchema) map[string]*logical.FieldSchema {
	f := map[string]*logical.FieldSchema{
		"name":                          {Type: logical.TypeString, Description: "Name of the key."},
		"context":                       {Type: logical.TypeString, Description: "Base64 context for key derivation (derived keys)."},
		"nonce":                         {Type: logical.TypeString, Description: "Base64 nonce (legacy convergent encryption only)."},
		"key_version":                   {Type: logical.TypeInt, Description: "The key version to use (0: latest)."},
		"associated_data":               {Type: logical.TypeString, Description: "Base64 associated data (AEAD), authenticated, not encrypted."},
		"batch_input":                   {Type: logical.TypeRaw, Description: "A list of items, each with this request's fields; answered in order in batch_results."},
		"partial_failure_response_code": {Type: logical.TypeInt, Description: "The HTTP status of a batch with some failed items (200 if unset)."},
	}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

func (b *backend) pathEncrypt() *logical.Path {
	return &logical.Path{
		Pattern: "encrypt/" + nameRe,
		Fields: cryptFields(map[string]*logical.FieldSchema{
			"plaintext":             {Type: logical.TypeString, Description: "Base64 plaintext."},
			"type":                  {Type: logical.TypeString, Default: typeAES256, Description: "The type of the key created when it does not exist yet."},
			"convergent_encryption": {Type: logical.TypeBool, Description: "Convergent encryption for the key created when it does not exist yet."},
		}),
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.CreateOperation: b.encrypt,
			logical.UpdateOperation: b.encrypt,
		},
		ExistenceCheck: b.keyExists,
		HelpSynopsis:   "Encrypt with a named key (creating it when it does not exist and the caller may create).",
	}
}

func (b *backend) encrypt(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	in, batch, err := items(d, "plaintext", "context", "nonce", "key_version", "associated_data")
	if err != nil {
		return nil, err
	}
	p, err := b.load(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		if req.Operation != logical.CreateOperation {
			return nil, keyNotFound(name)
		}
		// Upsert: the caller may create the key (the ACL checked create).
		if p, err = b.upsert(ctx, req.Storage, name, d); err != nil {
			return nil, err
		}
	}
	resp, err := runItems(in, batch, func(it item) (map[string]any, error) {
		if _, ok := it["plaintext"]; !ok {
			return nil, errBadInput("missing plaintext to encrypt")
		}
		pt, err := it.b64("plaintext")
		if err != nil {
			return nil, err
		}
		ctxb, err := it.b64("context")
		if err != nil {
			return nil, err
		}
		nonce, err := it.b64("nonce")
		if err != nil {
			return nil, err
		}
		ad, err := it.b64("associated_data")
		if err != nil {
			return nil, err
		}
		v, err := it.num("key_version")
		if err != nil {
			return nil, err
		}
		ct, used, err := p.encrypt(v, ctxb, pt, ad, nonce)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ciphertext": ct, "key_version": used}, nil
	})
	return partialFailure(d, resp, err)
}

// upsert creates the key an encrypt names, under its lock.
func (b *backend) upsert(ctx context.Context, s logical.Storage, name string, d *logical.FieldData) (*policy, error) {
	defer b.lock(name)()
	if p, err := b.load(ctx, s, name); err != nil || p != nil {
		return p, err
	}
	typ := d.Get("type").(string)
	conv := d.Get("convergent_encryption").(bool)
	if !symmetric(typ) && typ != "" {
		return nil, errBadInput("key type %s cannot be created by an encrypt: it does not support encryption", typ)
	}
	raw := map[string]any{"name": name, "type": typ, "convergent_encryption": conv}
	if conv {
		raw["derived"] = true
	}
	if _, ok := d.Raw["context"]; ok {
		raw["derived"] = true
	}
	p, err := b.newPolicyFrom(name, &logical.FieldData{Raw: raw, Schema: b.pathKeys().Fields})
	if err != nil {
		return nil, err
	}
	return p, b.store(ctx, s, p)
}

func (b *backend) pathDecrypt() *logical.Path {
	return &logical.Path{
		Pattern: "decrypt/" + nameRe,
		Fields: cryptFields(map[string]*logical.FieldSchema{
			"ciphertext": {Type: logical.TypeString, Description: "The ciphertext (vault:v<N>:...)."},
		}),
		Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.decrypt},
		HelpSynopsis: "Decrypt with a named key.",
	}
}

func (b *backend) decrypt(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	in, batch, err := items(d, "ciphertext", "context", "nonce", "associated_data")
	if err != nil {
		return nil, err
	}
	p, err := b.existingKey(ctx, req, name)
	if err != nil {
		return nil, err
	}
	resp, err := runItems(in, batch, func(it item) (map[string]any, error) {
		pt, _, err := openItem(p, it, "decrypt")
		if err != nil {
			return nil, err
		}
		return map[string]any{"plaintext": base64.StdEncoding.EncodeToString(pt)}, nil
	})
	return partialFailure(d, resp, err)
}

func (b *backend) pathRewrap() *logical.Path {
	return &logical.Path{
		Pattern: "rewrap/" + nameRe,
		Fields: cryptFields(map[string]*logical.FieldSchema{
			"ciphertext": {Type: logical.TypeString, Description: "The ciphertext to re-encrypt with the latest (or key_version) version."},
		}),
		Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.rewrap},
		HelpSynopsis: "Re-encrypt a ciphertext with the key's latest version, without showing the plaintext.",
	}
}

func (b *backend) rewrap(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	in, batch, err := items(d, "ciphertext", "context", "nonce", "key_version", "associated_data")
	if err != nil {
		return nil, err
	}
	p, err := b.existingKey(ctx, req, name)
	if err != nil {
		return nil, err
	}
	resp, err := runItems(in, batch, func(it item) (map[string]any, error) {
		v, err := it.num("key_version")
		if err != nil {
			return nil, err
		}
		pt, in, err := openItem(p, it, "rewrap")
		if err != nil {
			return nil, err
		}
		out, used, err := p.encrypt(v, in.context, pt, in.ad, nil)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ciphertext": out, "key_version": used}, nil
	})
	return partialFailure(d, resp, err)
}

func (b *backend) pathDatakey() *logical.Path {
	return &logical.Path{
		Pattern: "datakey/(?P<plaintext>plaintext|wrapped)/" + nameRe,
		Fields: map[string]*logical.FieldSchema{
			"name":        {Type: logical.TypeString},
			"plaintext":   {Type: logical.TypeString, Description: "plaintext: the data key is returned in clear too; wrapped: only encrypted."},
			"context":     {Type: logical.TypeString, Description: "Base64 context for key derivation."},
			"nonce":       {Type: logical.TypeString, Description: "Base64 nonce (legacy convergent encryption only)."},
			"bits":        {Type: logical.TypeInt, Default: 256, Description: "The data key's size: 128, 256 or 512 bits."},
			"key_version": {Type: logical.TypeInt, Description: "The key version that encrypts the data key (0: latest)."},
		},
		Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.datakey},
		HelpSynopsis: "Generate a data key, encrypted with a named key.",
	}
}

func (b *backend) datakey(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	bits := d.Get("bits").(int)
	if bits != 128 && bits != 256 && bits != 512 {
		return nil, errBadInput("invalid bits: must be 128, 256 or 512")
	}
	p, err := b.existingKey(ctx, req, name)
	if err != nil {
		return nil, err
	}
	it := item{"context": d.Raw["context"], "nonce": d.Raw["nonce"]}
	ctxb, err := it.b64("context")
	if err != nil {
		return nil, err
	}
	nonce, err := it.b64("nonce")
	if err != nil {
		return nil, err
	}
	key := randomBytes(bits / 8)
	ct, used, err := p.encrypt(d.Get("key_version").(int), ctxb, key, nil, nonce)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"ciphertext": ct, "key_version": used}
	if d.Get("plaintext").(string) == "plaintext" {
		data["plaintext"] = base64.StdEncoding.EncodeToString(key)
	}
	return &logical.Response{Data: data}, nil
}

// opened is what an item's ciphertext was opened with.
type opened struct{ context, ad []byte }

// openItem decrypts an item's ciphertext with its context and associated
// data (verb names the operation in the missing-ciphertext message).
func openItem(p *policy, it item, verb string) ([]byte, opened, error) {
	var o opened
	ct, err := it.str("ciphertext")
	if err != nil {
		return nil, o, err
	}
	if ct == "" {
		return nil, o, errBadInput("missing ciphertext to %s", verb)
	}
	if o.context, err = it.b64("context"); err != nil {
		return nil, o, err
	}
	if o.ad, err = it.b64("associated_data"); err != nil {
		return nil, o, err
	}
	pt, _, err := p.decrypt(ct, o.context, o.ad)
	return pt, o, err
}
