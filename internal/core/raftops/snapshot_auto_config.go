package raftops

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/snapshot"
)

// An automated snapshot configuration and the status of its schedule, as
// stored and as the API shows them.

var autoNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// autoConfig is one automated snapshot configuration, as stored.
type autoConfig struct {
	Name          string `json:"name"`
	Interval      int64  `json:"interval"` // seconds
	Retain        int    `json:"retain"`
	PathPrefix    string `json:"path_prefix"`
	FilePrefix    string `json:"file_prefix"`
	StorageType   string `json:"storage_type"`
	LocalMaxSpace int64  `json:"local_max_space,omitempty"`

	AWSS3Bucket               string `json:"aws_s3_bucket,omitempty"`
	AWSS3Region               string `json:"aws_s3_region,omitempty"`
	AWSS3Endpoint             string `json:"aws_s3_endpoint,omitempty"`
	AWSAccessKeyID            string `json:"aws_access_key_id,omitempty"`
	AWSSecretAccessKey        string `json:"aws_secret_access_key,omitempty"`
	AWSSessionToken           string `json:"aws_session_token,omitempty"`
	AWSS3DisableTLS           bool   `json:"aws_s3_disable_tls,omitempty"`
	AWSS3ForcePathStyle       bool   `json:"aws_s3_force_path_style,omitempty"`
	AWSS3ServerSideEncryption bool   `json:"aws_s3_server_side_encryption,omitempty"`
	AWSS3EnableKMS            bool   `json:"aws_s3_enable_kms,omitempty"`
	AWSS3KMSKey               string `json:"aws_s3_kms_key,omitempty"`
}

// autoStatus is how the schedule of one configuration went, as stored.
type autoStatus struct {
	LastStart         time.Time `json:"last_snapshot_start"`
	LastEnd           time.Time `json:"last_snapshot_end"`
	LastError         string    `json:"last_snapshot_error"`
	LastURL           string    `json:"last_snapshot_url"`
	LastSize          int64     `json:"last_snapshot_size"`
	SuccessStart      time.Time `json:"snapshot_start"`
	SuccessURL        string    `json:"snapshot_url"`
	SuccessSize       int64     `json:"snapshot_size"`
	ConsecutiveErrors int       `json:"consecutive_errors"`
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (s *autoStatus) data() map[string]any {
	return map[string]any{
		"last_snapshot_start": rfc3339(s.LastStart), "last_snapshot_end": rfc3339(s.LastEnd),
		"last_snapshot_error": s.LastError, "last_snapshot_url": s.LastURL, "last_snapshot_size": s.LastSize,
		"snapshot_start": rfc3339(s.SuccessStart), "snapshot_url": s.SuccessURL, "snapshot_size": s.SuccessSize,
		"consecutive_errors": s.ConsecutiveErrors,
	}
}

// autoConfigFields are the parameters of a configuration write.
var autoConfigFields = map[string]*logical.FieldSchema{
	"name":                          str("configuration name"),
	"interval":                      {Type: logical.TypeDurationSecond, Description: "time between snapshots"},
	"retain":                        {Type: logical.TypeInt, Description: "snapshots kept"},
	"path_prefix":                   str("directory (local) or key prefix (aws-s3)"),
	"file_prefix":                   str("snapshot file name prefix"),
	"storage_type":                  str("local or aws-s3"),
	"local_max_space":               {Type: logical.TypeInt64, Description: "bytes all local snapshots may use"},
	"aws_s3_bucket":                 str("bucket"),
	"aws_s3_region":                 str("region"),
	"aws_s3_endpoint":               str("endpoint of a non-AWS S3 server"),
	"aws_access_key_id":             str("access key ID"),
	"aws_secret_access_key":         str("secret access key"),
	"aws_session_token":             str("session token"),
	"aws_s3_disable_tls":            {Type: logical.TypeBool},
	"aws_s3_force_path_style":       {Type: logical.TypeBool},
	"aws_s3_server_side_encryption": {Type: logical.TypeBool},
	"aws_s3_enable_kms":             {Type: logical.TypeBool},
	"aws_s3_kms_key":                str("KMS key for aws_s3_enable_kms"),
}

// apply sets the fields the request sent, leaving the others as they were.
func (cfg *autoConfig) apply(d *logical.FieldData) {
	setStr := func(k string, dst *string) {
		if v, ok := d.GetOk(k); ok {
			*dst = strings.TrimSpace(v.(string))
		}
	}
	setBool := func(k string, dst *bool) {
		if v, ok := d.GetOk(k); ok {
			*dst = v.(bool)
		}
	}
	if v, ok := d.GetOk("interval"); ok {
		cfg.Interval = int64(v.(int))
	}
	if v, ok := d.GetOk("retain"); ok {
		cfg.Retain = v.(int)
	}
	if v, ok := d.GetOk("local_max_space"); ok {
		cfg.LocalMaxSpace = v.(int64)
	}
	setStr("path_prefix", &cfg.PathPrefix)
	setStr("file_prefix", &cfg.FilePrefix)
	setStr("storage_type", &cfg.StorageType)
	setStr("aws_s3_bucket", &cfg.AWSS3Bucket)
	setStr("aws_s3_region", &cfg.AWSS3Region)
	setStr("aws_s3_endpoint", &cfg.AWSS3Endpoint)
	setStr("aws_access_key_id", &cfg.AWSAccessKeyID)
	setStr("aws_secret_access_key", &cfg.AWSSecretAccessKey)
	setStr("aws_session_token", &cfg.AWSSessionToken)
	setStr("aws_s3_kms_key", &cfg.AWSS3KMSKey)
	setBool("aws_s3_disable_tls", &cfg.AWSS3DisableTLS)
	setBool("aws_s3_force_path_style", &cfg.AWSS3ForcePathStyle)
	setBool("aws_s3_server_side_encryption", &cfg.AWSS3ServerSideEncryption)
	setBool("aws_s3_enable_kms", &cfg.AWSS3EnableKMS)
}

func (cfg *autoConfig) validate() error {
	switch {
	case cfg.Interval < 1:
		return logical.BadRequest("interval must be at least 1s")
	case cfg.Retain < 1:
		return logical.BadRequest("retain must be at least 1")
	case cfg.PathPrefix == "":
		return logical.BadRequest("path_prefix is required")
	case cfg.FilePrefix == "" || strings.ContainsAny(cfg.FilePrefix, `/\`) || strings.HasPrefix(cfg.FilePrefix, "."):
		return logical.BadRequest("invalid file_prefix %q", cfg.FilePrefix)
	case cfg.LocalMaxSpace < 0:
		return logical.BadRequest("local_max_space must not be negative")
	}
	switch cfg.StorageType {
	case "local":
		if !filepath.IsAbs(cfg.PathPrefix) {
			return logical.BadRequest("path_prefix must be an absolute directory for storage_type local")
		}
	case "aws-s3":
		if cfg.AWSS3Bucket == "" || cfg.AWSS3Region == "" {
			return logical.BadRequest("aws_s3_bucket and aws_s3_region are required for storage_type aws-s3")
		}
		if cfg.AWSS3ServerSideEncryption && cfg.AWSS3EnableKMS {
			return logical.BadRequest("aws_s3_server_side_encryption and aws_s3_enable_kms cannot both be set")
		}
		if (cfg.AWSAccessKeyID == "") != (cfg.AWSSecretAccessKey == "") {
			return logical.BadRequest("aws_access_key_id and aws_secret_access_key go together")
		}
	case "":
		return logical.BadRequest("storage_type is required")
	default:
		return logical.BadRequest("unsupported storage_type %q: local and aws-s3 are supported", cfg.StorageType)
	}
	return nil
}

// data is the read response; secrets are not returned.
func (cfg *autoConfig) data() map[string]any {
	out := map[string]any{
		"interval": cfg.Interval, "retain": cfg.Retain, "path_prefix": cfg.PathPrefix,
		"file_prefix": cfg.FilePrefix, "storage_type": cfg.StorageType,
	}
	switch cfg.StorageType {
	case "local":
		out["local_max_space"] = cfg.LocalMaxSpace
	case "aws-s3":
		out["aws_s3_bucket"], out["aws_s3_region"], out["aws_s3_endpoint"] = cfg.AWSS3Bucket, cfg.AWSS3Region, cfg.AWSS3Endpoint
		out["aws_access_key_id"], out["aws_s3_disable_tls"] = cfg.AWSAccessKeyID, cfg.AWSS3DisableTLS
		out["aws_s3_force_path_style"], out["aws_s3_server_side_encryption"] = cfg.AWSS3ForcePathStyle, cfg.AWSS3ServerSideEncryption
		out["aws_s3_enable_kms"], out["aws_s3_kms_key"] = cfg.AWSS3EnableKMS, cfg.AWSS3KMSKey
	}
	return out
}

// target builds the configuration's destination.
func (cfg *autoConfig) target(ctx context.Context, spoolDir string) (snapshot.Target, error) {
	if cfg.StorageType == "aws-s3" {
		return snapshot.NewS3Target(ctx, snapshot.S3Config{
			Bucket: cfg.AWSS3Bucket, Region: cfg.AWSS3Region, Prefix: cfg.PathPrefix,
			Endpoint: cfg.AWSS3Endpoint, DisableTLS: cfg.AWSS3DisableTLS, ForcePathStyle: cfg.AWSS3ForcePathStyle,
			AccessKeyID: cfg.AWSAccessKeyID, SecretAccessKey: cfg.AWSSecretAccessKey, SessionToken: cfg.AWSSessionToken,
			ServerSideEncryption: cfg.AWSS3ServerSideEncryption, EnableKMS: cfg.AWSS3EnableKMS, KMSKey: cfg.AWSS3KMSKey,
			TempDir: spoolDir,
		})
	}
	return &snapshot.LocalTarget{Dir: cfg.PathPrefix, FilePrefix: cfg.FilePrefix, MaxSpace: cfg.LocalMaxSpace}, nil
}

func getJSON[T any](ctx context.Context, s physical.Backend, key string) (*T, error) {
	e, err := s.Get(ctx, key)
	if err != nil || e == nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(e.Value, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, nil
}

func putJSON(ctx context.Context, s physical.Backend, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.Put(ctx, &physical.Entry{Key: key, Value: raw})
}
