package awskms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/strongbox/strongbox/internal/seal"
)

// Mechanism is what blobs made by this seal record: an AES-256-GCM data
// key wrapped by KMS.
const Mechanism = "awskms-envelope-aes-gcm"

var errClosed = errors.New("awskms seal: wrapper is closed")

// Wrapper encrypts and decrypts with an AWS KMS key. It implements
// seal.Wrapper and is safe for concurrent use.
type Wrapper struct {
	logger *slog.Logger
	client *kms.Client
	// keyID is the configured key (ID, ARN or alias) Encrypt asks KMS for.
	keyID string

	mu sync.Mutex
	// currentARN is the ARN of the key behind keyID, as KMS last reported
	// it; an alias may move, so Encrypt updates it.
	currentARN string
	closed     bool
}

var _ seal.Wrapper = (*Wrapper)(nil)

// New builds a KMS client from conf (Vault's seal "awskms" stanza: region,
// access_key, secret_key, session_token, kms_key_id, endpoint) and checks
// the key with DescribeKey. AWS_REGION, AWS_DEFAULT_REGION,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
// AWS_KMS_ENDPOINT and VAULT_AWSKMS_SEAL_KEY_ID read through getenv
// override the stanza. Without static credentials the SDK's default chain
// (process environment, shared files, instance role) is used.
func New(ctx context.Context, conf map[string]string, getenv func(string) string, logger *slog.Logger) (*Wrapper, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := parseConfig(conf, getenv)
	if err != nil {
		return nil, err
	}
	if len(cfg.unknown) > 0 {
		sort.Strings(cfg.unknown)
		logger.Warn("awskms seal ignores unknown settings", "keys", cfg.unknown)
	}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(cfg.region)}
	if cfg.accessKey != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.accessKey, cfg.secretKey, cfg.sessionToken)))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("awskms seal: load AWS configuration: %w", err)
	}
	client := kms.NewFromConfig(awsCfg, func(o *kms.Options) {
		if cfg.endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.endpoint)
		}
	})
	out, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(cfg.keyID)})
	if err != nil {
		return nil, fmt.Errorf("awskms seal: describe key %q in %s: %w", cfg.keyID, cfg.region, err)
	}
	if out.KeyMetadata == nil || aws.ToString(out.KeyMetadata.Arn) == "" {
		return nil, fmt.Errorf("awskms seal: describe key %q returned no key metadata", cfg.keyID)
	}
	md := out.KeyMetadata
	if md.KeyUsage != "" && md.KeyUsage != types.KeyUsageTypeEncryptDecrypt {
		return nil, fmt.Errorf("%w: key %q is for %s, not ENCRYPT_DECRYPT", ErrConfig, cfg.keyID, md.KeyUsage)
	}
	if !md.Enabled {
		logger.Warn("awskms seal key is not enabled; encryption will fail", "key_id", aws.ToString(md.Arn), "state", string(md.KeyState))
	}
	w := &Wrapper{logger: logger, client: client, keyID: cfg.keyID, currentARN: aws.ToString(md.Arn)}
	logger.Info("awskms seal ready", "region", cfg.region, "key_id", w.currentARN, "endpoint", cfg.endpoint)
	return w, nil
}

// Type returns "awskms".
func (w *Wrapper) Type() string { return "awskms" }

// KeyID returns the ARN of the KMS key Encrypt uses.
func (w *Wrapper) KeyID(context.Context) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.currentARN, nil
}

// Encrypt seals plaintext under a fresh data key and has KMS wrap the data
// key. An error here is KMS trouble or a canceled ctx.
func (w *Wrapper) Encrypt(ctx context.Context, plaintext []byte) (*seal.BlobInfo, error) {
	if err := w.check(ctx); err != nil {
		return nil, err
	}
	env, err := sealEnvelope(plaintext)
	if err != nil {
		return nil, err
	}
	out, err := w.client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(w.keyID), Plaintext: env.dataKey})
	clear(env.dataKey)
	if err != nil {
		return nil, fmt.Errorf("awskms seal: wrap data key with %q: %w", w.keyID, err)
	}
	arn := aws.ToString(out.KeyId)
	if arn != "" {
		w.mu.Lock()
		w.currentARN = arn
		w.mu.Unlock()
	}
	return &seal.BlobInfo{
		Ciphertext: env.ciphertext,
		IV:         env.iv,
		KeyID:      arn,
		Mechanism:  Mechanism,
		WrappedKey: out.CiphertextBlob,
	}, nil
}

// Decrypt has KMS unwrap the blob's data key and opens the ciphertext with
// it. A blob that is malformed, tampered or not made with this account's
// keys is an error wrapping seal.ErrInvalidKey; KMS being unreachable,
// throttling or refusing access is any other error, and callers retry.
func (w *Wrapper) Decrypt(ctx context.Context, blob *seal.BlobInfo) ([]byte, error) {
	if err := w.check(ctx); err != nil {
		return nil, err
	}
	switch {
	case blob == nil:
		return nil, fmt.Errorf("%w: empty blob", seal.ErrInvalidKey)
	case blob.Mechanism != "" && blob.Mechanism != Mechanism:
		return nil, fmt.Errorf("%w: blob mechanism %q is not %q", seal.ErrInvalidKey, blob.Mechanism, Mechanism)
	case len(blob.WrappedKey) == 0:
		return nil, fmt.Errorf("%w: blob has no wrapped data key", seal.ErrInvalidKey)
	}
	if err := checkEnvelope(blob.IV, blob.Ciphertext); err != nil {
		return nil, err
	}
	// No KeyId: a symmetric KMS ciphertext names its key, which may be
	// older than the configured one (rotation, moved alias).
	out, err := w.client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob.WrappedKey})
	if err != nil {
		var invalid *types.InvalidCiphertextException
		var incorrect *types.IncorrectKeyException
		if errors.As(err, &invalid) || errors.As(err, &incorrect) {
			return nil, fmt.Errorf("%w: KMS rejected the wrapped data key: %w", seal.ErrInvalidKey, err)
		}
		return nil, fmt.Errorf("awskms seal: unwrap data key (key %q): %w", blob.KeyID, err)
	}
	defer clear(out.Plaintext)
	return openEnvelope(out.Plaintext, blob.IV, blob.Ciphertext)
}

// Close makes later calls fail. The client holds no resources to release
// beyond idle HTTP connections, which time out.
func (w *Wrapper) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	return nil
}

func (w *Wrapper) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errClosed
	}
	return nil
}
