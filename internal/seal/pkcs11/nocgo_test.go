//go:build !cgo

package pkcs11

import (
	"context"
	"errors"
	"testing"
)

func TestNewWithoutCgo(t *testing.T) {
	if _, err := New(context.Background(), baseConf(), nil, nil); !errors.Is(err, ErrNoCgo) {
		t.Errorf("New = %v, want ErrNoCgo", err)
	}
	if _, err := New(context.Background(), map[string]string{}, nil, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("New with an empty stanza = %v, want ErrConfig", err)
	}
}
