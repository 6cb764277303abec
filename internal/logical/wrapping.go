package logical

import (
	"errors"
	"time"
)

// Response-wrapping formats a request may ask for (X-Vault-Wrap-Format).
const (
	WrapFormatUUID = "uuid"
	WrapFormatJWT  = "jwt"
)

// ErrWrappingUnavailable is what a SystemView without a core answers to
// ResponseWrapData (StaticSystemView, engines tested alone).
var ErrWrappingUnavailable = errors.New("response wrapping is not available")

// RequestWrapInfo is a client's ask to wrap the response of its request
// (the X-Vault-Wrap-TTL and X-Vault-Wrap-Format headers).
type RequestWrapInfo struct {
	// TTL is the wrapping token's lifetime; zero asks for no wrapping.
	TTL time.Duration
	// Format is "" or WrapFormatUUID (an opaque token), or WrapFormatJWT
	// (the token inside a JWT the node signs).
	Format string
}

// ResponseWrapInfo describes a wrapped response: the single-use token whose
// cubbyhole holds it (Vault's wrap_info). A backend may set TTL and
// CreationPath on its response to ask the core to wrap it (sys/wrapping/
// rewrap keeps the original path and TTL); the core fills in the rest.
type ResponseWrapInfo struct {
	Token        string
	Accessor     string
	TTL          time.Duration
	CreationTime time.Time
	CreationPath string
	// WrappedAccessor is the accessor of the token a wrapped login or
	// token-creation response carries.
	WrappedAccessor string
	Format          string
}
