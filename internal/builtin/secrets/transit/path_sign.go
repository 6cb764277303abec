package transit

import (
	"context"
	"crypto"
	"crypto/rsa"
	"strconv"

	"github.com/strongbox/strongbox/internal/logical"
)

func signFields() map[string]*logical.FieldSchema {
	return map[string]*logical.FieldSchema{
		"name":                 {Type: logical.TypeString, Description: "Name of the key."},
		"urlalgorithm":         {Type: logical.TypeString, Description: "Hash algorithm in the path."},
		"input":                {Type: logical.TypeString, Description: "Base64 input."},
		"key_version":          {Type: logical.TypeInt, Description: "The key version (0: latest)."},
		"hash_algorithm":       {Type: logical.TypeString, Description: "sha1, sha2-224, sha2-256 (default), sha2-384, sha2-512, sha3-*, or none."},
		"algorithm":            {Type: logical.TypeString, Description: "Deprecated name of hash_algorithm."},
		"context":              {Type: logical.TypeString, Description: "Base64 context (derived ed25519 keys)."},
		"prehashed":            {Type: logical.TypeBool, Description: "The input is already hashed."},
		"signature_algorithm":  {Type: logical.TypeString, Description: "RSA: pss (default) or pkcs1v15."},
		"marshaling_algorithm": {Type: logical.TypeString, Default: "asn1", Description: "ECDSA: asn1 (default) or jws."},
		"salt_length":          {Type: logical.TypeString, Default: "auto", Description: "RSA PSS salt length: auto, hash, or a number."},
		"signature":            {Type: logical.TypeString, Description: "The signature to verify."},
		"hmac":                 {Type: logical.TypeString, Description: "The HMAC to verify."},
		"cmac":                 {Type: logical.TypeString, Description: "Not supported."},
		"batch_input":          {Type: logical.TypeRaw, Description: "A list of items; answered in order in batch_results."},
	}
}

const algoSuffix = `(/(?P<urlalgorithm>[\w-]+))?`

func (b *backend) pathSign() *logical.Path {
	return signPath("sign", b.sign, "Sign input with a named asymmetric key.")
}

func (b *backend) pathVerify() *logical.Path {
	return signPath("verify", b.verify, "Verify a signature or an HMAC made with a named key.")
}

func (b *backend) pathHMAC() *logical.Path {
	return signPath("hmac", b.hmac, "HMAC input with a named key.")
}

// signPath is <verb>/<name>[/<hash algorithm>].
func signPath(verb string, fn logical.OperationFunc, synopsis string) *logical.Path {
	return &logical.Path{
		Pattern:      verb + "/" + nameRe + algoSuffix,
		Fields:       signFields(),
		Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: fn},
		HelpSynopsis: synopsis,
	}
}

// signOptions reads a request's (or a batch item's) signing choices.
func signOptions(p *policy, d *logical.FieldData, it item) (signOpts, error) {
	var o signOpts
	algo := d.Get("urlalgorithm").(string)
	for _, k := range []string{"hash_algorithm", "algorithm"} {
		if s, _ := it.str(k); s != "" {
			algo = s
		} else if s := d.Get(k).(string); s != "" && algo == "" {
			algo = s
		}
	}
	h, err := hashAlgorithm(algo)
	if err != nil {
		return o, err
	}
	o.hash = h
	o.prehashed = d.Get("prehashed").(bool)
	if v, ok := it["prehashed"].(bool); ok {
		o.prehashed = v
	}
	sa := d.Get("signature_algorithm").(string)
	if s, _ := it.str("signature_algorithm"); s != "" {
		sa = s
	}
	switch sa {
	case "", "pss":
		o.pss = true
	case "pkcs1v15":
	default:
		return o, errBadInput("unsupported signature algorithm %q", sa)
	}
	ma := d.Get("marshaling_algorithm").(string)
	if s, _ := it.str("marshaling_algorithm"); s != "" {
		ma = s
	}
	switch ma {
	case "", "asn1":
	case "jws":
		if !isECDSA(p.Type) && p.Type != typeEd25519 && !isRSA(p.Type) {
			return o, errBadInput("jws marshaling is not supported for key type %s", p.Type)
		}
		o.jws = true
	default:
		return o, errBadInput("unsupported marshaling algorithm %q", ma)
	}
	switch sl := d.Get("salt_length").(string); sl {
	case "", "auto":
		o.saltLength = rsa.PSSSaltLengthAuto
	case "hash":
		o.saltLength = rsa.PSSSaltLengthEqualsHash
	default:
		n, err := strconv.Atoi(sl)
		if err != nil || n < 0 {
			return o, errBadInput("invalid salt_length %q", sl)
		}
		o.saltLength = n
	}
	if o.hash == 0 && !o.prehashed && p.Type != typeEd25519 && !(isRSA(p.Type) && !o.pss) {
		return o, errBadInput("hash_algorithm none requires prehashed input")
	}
	if ctx, err := it.b64("context"); err != nil {
		return o, err
	} else {
		o.context = ctx
	}
	return o, nil
}

func (b *backend) sign(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	p, err := b.existingKey(ctx, req, name)
	if err != nil {
		return nil, err
	}
	in, batch, err := items(d, "input", "context", "key_version", "hash_algorithm", "algorithm", "prehashed",
		"signature_algorithm", "marshaling_algorithm")
	if err != nil {
		return nil, err
	}
	return runItems(in, batch, func(it item) (map[string]any, error) {
		o, err := signOptions(p, d, it)
		if err != nil {
			return nil, err
		}
		input, err := it.b64("input")
		if err != nil {
			return nil, err
		}
		v, err := it.num("key_version")
		if err != nil {
			return nil, err
		}
		sig, used, err := p.sign(v, input, o)
		if err != nil {
			return nil, err
		}
		return map[string]any{"signature": sig, "key_version": used}, nil
	})
}

func (b *backend) verify(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	p, err := b.existingKey(ctx, req, name)
	if err != nil {
		return nil, err
	}
	if d.Get("cmac").(string) != "" {
		return nil, errBadInput("cmac is not supported")
	}
	in, batch, err := items(d, "input", "context", "signature", "hmac", "hash_algorithm", "algorithm", "prehashed",
		"signature_algorithm", "marshaling_algorithm")
	if err != nil {
		return nil, err
	}
	return runItems(in, batch, func(it item) (map[string]any, error) {
		input, err := it.b64("input")
		if err != nil {
			return nil, err
		}
		sig, _ := it.str("signature")
		mac, _ := it.str("hmac")
		var valid bool
		switch {
		case sig != "" && mac != "":
			return nil, errBadInput("provide one of signature or hmac, not both")
		case mac != "":
			algo, err := macAlgorithm(d, it)
			if err != nil {
				return nil, err
			}
			valid, err = p.verifyMAC(mac, algo, input)
			if err != nil {
				return nil, err
			}
		case sig != "":
			o, err := signOptions(p, d, it)
			if err != nil {
				return nil, err
			}
			if valid, err = p.verify(sig, input, o); err != nil {
				return nil, err
			}
		default:
			return nil, errBadInput("missing signature or hmac to verify")
		}
		return map[string]any{"valid": valid}, nil
	})
}

func macAlgorithm(d *logical.FieldData, it item) (crypto.Hash, error) {
	algo := d.Get("urlalgorithm").(string)
	for _, k := range []string{"algorithm", "hash_algorithm"} {
		if s, _ := it.str(k); s != "" {
			algo = s
		} else if s := d.Get(k).(string); s != "" && algo == "" {
			algo = s
		}
	}
	h, err := hashAlgorithm(algo)
	if err != nil {
		return 0, err
	}
	if h == 0 {
		return 0, errBadInput("an hmac needs a hash algorithm")
	}
	return h, nil
}

func (b *backend) hmac(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	p, err := b.existingKey(ctx, req, name)
	if err != nil {
		return nil, err
	}
	in, batch, err := items(d, "input", "key_version", "algorithm", "hash_algorithm")
	if err != nil {
		return nil, err
	}
	return runItems(in, batch, func(it item) (map[string]any, error) {
		algo, err := macAlgorithm(d, it)
		if err != nil {
			return nil, err
		}
		if _, ok := it["input"]; !ok {
			return nil, errBadInput("missing input for HMAC")
		}
		input, err := it.b64("input")
		if err != nil {
			return nil, err
		}
		v, err := it.num("key_version")
		if err != nil {
			return nil, err
		}
		mac, used, err := p.mac(v, algo, input)
		if err != nil {
			return nil, err
		}
		return map[string]any{"hmac": mac, "key_version": used}, nil
	})
}
