//go:build !cgo

package pkcs11

import (
	"context"
	"errors"
	"log/slog"

	"github.com/strongbox/strongbox/internal/seal"
)

// ErrNoCgo is New's error in a binary built without cgo: PKCS#11 modules
// are C libraries.
var ErrNoCgo = errors.New("pkcs11 seal: this binary was built without cgo (CGO_ENABLED=0) and cannot load PKCS#11 libraries")

// ErrKeyNotFound means no key with the configured label is on the token.
var ErrKeyNotFound = errors.New("pkcs11 seal: key not found")

// Wrapper is the PKCS#11 seal; without cgo New never returns one.
type Wrapper struct{}

var _ seal.Wrapper = (*Wrapper)(nil)

// New checks the configuration, then reports ErrNoCgo.
func New(_ context.Context, conf map[string]string, getenv func(string) string, _ *slog.Logger) (*Wrapper, error) {
	if _, err := parseConfig(conf, getenv); err != nil {
		return nil, err
	}
	return nil, ErrNoCgo
}

// Type returns "pkcs11".
func (*Wrapper) Type() string { return "pkcs11" }

// KeyID reports ErrNoCgo.
func (*Wrapper) KeyID(context.Context) (string, error) { return "", ErrNoCgo }

// Encrypt reports ErrNoCgo.
func (*Wrapper) Encrypt(context.Context, []byte) (*seal.BlobInfo, error) { return nil, ErrNoCgo }

// Decrypt reports ErrNoCgo.
func (*Wrapper) Decrypt(context.Context, *seal.BlobInfo) ([]byte, error) { return nil, ErrNoCgo }

// Close does nothing.
func (*Wrapper) Close() error { return nil }
