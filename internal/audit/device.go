package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// Device is one enabled audit device (Vault's "audit backend").
//
// All methods are safe for concurrent use. LogRequest and LogResponse never
// modify the input; they return only after the entry has been handed to the
// operating system (or discarded, for file_path=discard), so a nil error
// means the entry survives a crash of this process.
type Device interface {
	// LogRequest records the request entry for in (in.Request must be set).
	LogRequest(ctx context.Context, in *LogInput) error
	// LogResponse records the response entry for in (in.Request must be set;
	// in.Response may be nil for a response with no body).
	LogResponse(ctx context.Context, in *LogInput) error
	// Hash returns "hmac-sha256:<hex>" of s under the device's salt: the
	// value the device writes for s in its entries (sys/audit-hash).
	Hash(ctx context.Context, s string) (string, error)
	// Reload reopens the device's output; the core calls it on SIGHUP so
	// logrotate can rename the file and have new entries go to a new one.
	Reload(ctx context.Context) error
	// Close releases the output. Later calls to LogRequest or LogResponse
	// fail with ErrClosed.
	Close() error
}

// DeviceConfig is what the core hands a Factory when an audit device is
// enabled or loaded from the audit table.
type DeviceConfig struct {
	// Path is the mount path of the device, with a trailing slash ("file/").
	Path string
	// Options are the device options of sys/audit/<path> (file_path, mode,
	// log_raw, hmac_accessor, prefix, format, elide_list_responses).
	Options map[string]string
	// SaltStorage is the device's private storage; the HMAC salt lives at
	// key "salt". Give a device the same view across restarts so its hashes
	// stay stable. A nil SaltStorage gives an ephemeral salt.
	SaltStorage logical.Storage
	// Logger receives the device's own log lines; nil means slog.Default().
	Logger *slog.Logger
}

// Factory builds a device. Errors caused by bad options wrap
// ErrInvalidConfig.
type Factory func(ctx context.Context, conf *DeviceConfig) (Device, error)

// Factories returns the device types Strongbox supports, by type name.
func Factories() map[string]Factory {
	return map[string]Factory{
		"file":   NewFile,
		"socket": NewSocket,
		"syslog": NewSyslog,
	}
}

// LogInput is one request (and, for LogResponse, its response) to audit.
type LogInput struct {
	Request  *logical.Request
	Response *logical.Response
	// Auth is the caller's token as the core knows it. When nil, the token
	// fields of Request (ClientToken, DisplayName, Policies, ...) are used.
	Auth *logical.Auth
	// OuterErr is the error the client is told, recorded as "error".
	OuterErr error
	// NonHMACReqDataKeys and NonHMACRespDataKeys name data keys whose values
	// are written in clear (the mount's audit_non_hmac_*_keys tunables).
	NonHMACReqDataKeys  []string
	NonHMACRespDataKeys []string

	// WrapInfo describes the wrapping token when the response was wrapped
	// (logical.Response has no field for it yet).
	WrapInfo *WrapInfo
	// AuditedHeaders selects the request headers recorded in the entry. The
	// Broker fills it from Broker.SetAuditedHeaders when nil; a device given
	// nil uses DefaultAuditedHeaders.
	AuditedHeaders HeaderConfig
}

// WrapInfo describes a response-wrapping token (Vault's wrap_info).
type WrapInfo struct {
	Token           string
	Accessor        string
	TTL             time.Duration
	CreationTime    time.Time
	CreationPath    string
	WrappedAccessor string
}

// HeaderConfig lists the request headers an entry records, keyed by
// lower-case header name, each with whether its values are HMAC'd (Vault's
// sys/config/auditing/request-headers).
type HeaderConfig map[string]bool

// DefaultAuditedHeaders are recorded even when nothing is configured, as in
// Vault 1.16+: request correlation ids, in clear.
func DefaultAuditedHeaders() HeaderConfig {
	return HeaderConfig{"correlation-id": false, "x-correlation-id": false}
}
