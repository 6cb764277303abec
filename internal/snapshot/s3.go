package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3Config is an aws-s3 automated snapshot destination, as Vault's
// aws_s3_* parameters describe it.
type S3Config struct {
	Bucket string
	Region string
	// Prefix is path_prefix: the key prefix ("a/b" or "a/b/").
	Prefix string
	// Endpoint is a non-AWS endpoint (MinIO, another S3-compatible
	// server): a URL or host:port; DisableTLS makes the latter http.
	Endpoint   string
	DisableTLS bool
	// ForcePathStyle addresses the bucket as endpoint/bucket, not
	// bucket.endpoint.
	ForcePathStyle bool
	// AccessKeyID, SecretAccessKey and SessionToken are static
	// credentials; without them the SDK's default chain is used
	// (environment, shared files, instance role).
	AccessKeyID, SecretAccessKey, SessionToken string
	// ServerSideEncryption asks for AES256; EnableKMS for aws:kms with
	// KMSKey (or the bucket's default key).
	ServerSideEncryption bool
	EnableKMS            bool
	KMSKey               string
	// TempDir holds a snapshot while it is uploaded (default os.TempDir).
	TempDir string
}

// S3Target keeps snapshots as objects in an S3 bucket.
type S3Target struct {
	conf   S3Config
	client *s3.Client
	prefix string // key prefix without the trailing slash
}

var _ Target = (*S3Target)(nil)

// NewS3Target builds the S3 client for conf (no request is made).
func NewS3Target(ctx context.Context, conf S3Config) (*S3Target, error) {
	if conf.Bucket == "" {
		return nil, errors.New("aws_s3_bucket is required")
	}
	if conf.Region == "" {
		return nil, errors.New("aws_s3_region is required")
	}
	if conf.ServerSideEncryption && conf.EnableKMS {
		return nil, errors.New("aws_s3_server_side_encryption and aws_s3_enable_kms cannot both be set")
	}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(conf.Region)}
	if conf.AccessKeyID != "" || conf.SecretAccessKey != "" {
		if conf.AccessKeyID == "" || conf.SecretAccessKey == "" {
			return nil, errors.New("aws_access_key_id and aws_secret_access_key go together")
		}
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(conf.AccessKeyID, conf.SecretAccessKey, conf.SessionToken)))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	endpoint := conf.Endpoint
	if endpoint != "" && !strings.Contains(endpoint, "://") {
		scheme := "https://"
		if conf.DisableTLS {
			scheme = "http://"
		}
		endpoint = scheme + endpoint
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = conf.ForcePathStyle
		// Only what the API requires: S3-compatible servers often do not
		// know the newer checksum headers.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &S3Target{conf: conf, client: client, prefix: strings.Trim(conf.Prefix, "/")}, nil
}

func (t *S3Target) key(name string) string {
	if t.prefix == "" {
		return name
	}
	return t.prefix + "/" + name
}

func (t *S3Target) url(name string) string { return "s3://" + t.conf.Bucket + "/" + t.key(name) }

// Write implements Target. The snapshot is spooled to a temporary file,
// then uploaded with one PUT, which S3 makes visible whole or not at all
// (so a snapshot is limited to S3's 5 GiB for a single PUT).
func (t *S3Target) Write(ctx context.Context, name string, write func(io.Writer) error) (Object, error) {
	if err := checkName(name); err != nil {
		return Object{}, err
	}
	f, err := os.CreateTemp(t.conf.TempDir, "s3-snapshot-*")
	if err != nil {
		return Object{}, fmt.Errorf("spool snapshot: %w", err)
	}
	defer func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}()
	if err := write(f); err != nil {
		return Object{}, err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return Object{}, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Object{}, err
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(t.conf.Bucket),
		Key:           aws.String(t.key(name)),
		Body:          f,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String("application/gzip"),
	}
	switch {
	case t.conf.ServerSideEncryption:
		in.ServerSideEncryption = types.ServerSideEncryptionAes256
	case t.conf.EnableKMS:
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		if t.conf.KMSKey != "" {
			in.SSEKMSKeyId = aws.String(t.conf.KMSKey)
		}
	}
	if _, err := t.client.PutObject(ctx, in); err != nil {
		return Object{}, fmt.Errorf("upload to s3://%s/%s: %w", t.conf.Bucket, t.key(name), err)
	}
	return Object{Name: name, Size: size, URL: t.url(name)}, nil
}

// List implements Target: the objects directly under the key prefix.
func (t *S3Target) List(ctx context.Context, prefix string) ([]Object, error) {
	base := ""
	if t.prefix != "" {
		base = t.prefix + "/"
	}
	p := s3.NewListObjectsV2Paginator(t.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(t.conf.Bucket),
		Prefix: aws.String(base + prefix),
	})
	var out []Object
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", t.conf.Bucket, base+prefix, err)
		}
		for _, o := range page.Contents {
			name := strings.TrimPrefix(aws.ToString(o.Key), base)
			if strings.Contains(name, "/") {
				continue
			}
			out = append(out, Object{Name: name, Size: aws.ToInt64(o.Size), URL: t.url(name)})
		}
	}
	return out, nil
}

// Delete implements Target.
func (t *S3Target) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	_, err := t.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(t.conf.Bucket), Key: aws.String(t.key(name))})
	if err != nil {
		return fmt.Errorf("delete s3://%s/%s: %w", t.conf.Bucket, t.key(name), err)
	}
	return nil
}

// Open returns the stored snapshot's contents (for tests and tools that
// restore from the bucket). The caller closes it.
func (t *S3Target) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	out, err := t.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(t.conf.Bucket), Key: aws.String(t.key(name))})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", t.conf.Bucket, t.key(name), err)
	}
	return out.Body, nil
}
