package transit

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/strongbox/strongbox/internal/logical"
)

// maxRandomBytes bounds random's output, as Vault's.
const maxRandomBytes = 128 * 1024

func (b *backend) pathRandom() *logical.Path {
	return &logical.Path{
		Pattern: `random(/(?P<source>platform|seal|all))?(/(?P<urlbytes>\d+))?`,
		Fields: map[string]*logical.FieldSchema{
			"urlbytes": {Type: logical.TypeString, Description: "The number of bytes, in the path."},
			"bytes":    {Type: logical.TypeInt, Default: 32, Description: "The number of random bytes."},
			"format":   {Type: logical.TypeString, Default: "base64", Description: "base64 or hex."},
			"source":   {Type: logical.TypeString, Default: "platform", Description: "platform (the system's random source)."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation: b.random,
			logical.ReadOperation:   b.random,
		},
		HelpSynopsis: "Generate random bytes.",
	}
}

func (b *backend) random(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	n := d.Get("bytes").(int)
	if s := d.Get("urlbytes").(string); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			return nil, errBadInput("invalid number of bytes %q", s)
		}
		n = v
	}
	if n <= 0 || n > maxRandomBytes {
		return nil, errBadInput("bytes must be between 1 and %d", maxRandomBytes)
	}
	switch src := d.Get("source").(string); src {
	case "", "platform":
	case "seal", "all":
		return nil, errBadInput("source %q needs an entropy source from the seal, which this server's seal does not offer; use source=platform", src)
	default:
		return nil, errBadInput("unsupported source %q", src)
	}
	buf := randomBytes(n)
	out, err := encodeAs(d.Get("format").(string), buf)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"random_bytes": out}}, nil
}

func encodeAs(format string, b []byte) (string, error) {
	switch format {
	case "", "base64":
		return base64.StdEncoding.EncodeToString(b), nil
	case "hex":
		return hex.EncodeToString(b), nil
	}
	return "", errBadInput("unsupported encoding format %q; must be \"hex\" or \"base64\"", format)
}

func (b *backend) pathHash() *logical.Path {
	return &logical.Path{
		Pattern: `hash` + algoSuffix,
		Fields: map[string]*logical.FieldSchema{
			"urlalgorithm": {Type: logical.TypeString},
			"input":        {Type: logical.TypeString, Description: "Base64 input."},
			"algorithm":    {Type: logical.TypeString, Default: "sha2-256", Description: "The hash algorithm."},
			"format":       {Type: logical.TypeString, Default: "hex", Description: "hex or base64."},
		},
		Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.hash},
		HelpSynopsis: "Hash input.",
	}
}

func (b *backend) hash(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	algo := d.Get("algorithm").(string)
	if u := d.Get("urlalgorithm").(string); u != "" {
		algo = u
	}
	h, err := hashAlgorithm(algo)
	if err != nil {
		return nil, err
	}
	if h == 0 {
		return nil, errBadInput("unsupported hash algorithm %q", algo)
	}
	input, err := base64.StdEncoding.DecodeString(d.Get("input").(string))
	if err != nil {
		return nil, errBadInput("unable to decode input as base64")
	}
	hh := newHash(h)()
	hh.Write(input)
	format := d.Get("format").(string)
	if format == "" {
		format = "hex"
	}
	sum, err := encodeAs(format, hh.Sum(nil))
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"sum": sum}}, nil
}

func (b *backend) pathCacheConfig() *logical.Path {
	return &logical.Path{
		Pattern: "cache-config",
		Fields: map[string]*logical.FieldSchema{
			"size": {Type: logical.TypeInt, Description: "Keys held decrypted in memory: 0 for no limit, else at least 10 (least recently used go first)."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.cacheConfigRead,
			logical.UpdateOperation: b.cacheConfigWrite,
		},
		HelpSynopsis: "The size of the in-memory key cache.",
	}
}

func (b *backend) cacheConfigRead(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	if err := b.ensureCacheConfig(ctx, req.Storage); err != nil {
		return nil, err
	}
	b.cacheMu.Lock()
	size := b.cacheSize
	b.cacheMu.Unlock()
	return &logical.Response{Data: map[string]any{"size": size}}, nil
}

func (b *backend) cacheConfigWrite(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	size := d.Get("size").(int)
	if size != 0 && size < 10 {
		return nil, errBadInput("size must be 0 or a value greater or equal to 10")
	}
	buf, _ := json.Marshal(map[string]int{"size": size})
	if err := req.Storage.Put(ctx, &logical.StorageEntry{Key: cacheConfigKey, Value: buf}); err != nil {
		return nil, fmt.Errorf("transit: store cache config: %w", err)
	}
	b.cacheMu.Lock()
	b.resetCacheLocked(size)
	b.cacheRead = true
	b.cacheMu.Unlock()
	return &logical.Response{Data: map[string]any{"size": size}}, nil
}
