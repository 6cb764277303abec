package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/config"
	"github.com/strongbox/strongbox/internal/seal"
	"github.com/strongbox/strongbox/internal/seal/awskms"
	"github.com/strongbox/strongbox/internal/seal/pkcs11"
	"github.com/strongbox/strongbox/internal/seal/transit"
)

func stanza(typ string, disabled bool, kv ...string) *config.Seal {
	s := &config.Seal{Type: typ, Disabled: disabled, Config: map[string]string{}, File: "test.hcl", Line: 7}
	for i := 0; i < len(kv); i += 2 {
		s.Config[kv[i]] = kv[i+1]
	}
	return s
}

func TestOpenSealsConfig(t *testing.T) {
	noEnv := func(string) string { return "" }
	// kms is a valid awskms stanza whose service is not there: it opens
	// (the node would start sealed and keep trying).
	kms := func(disabled bool) *config.Seal {
		return stanza("awskms", disabled, "region", "us-east-1", "access_key", "AKIDX", "secret_key", "s",
			"kms_key_id", "alias/strongbox", "endpoint", "http://127.0.0.1:1")
	}
	cases := []struct {
		name    string
		seals   []*config.Seal
		current string // the seal in use: "shamir" for none
		old     string // the seal migrated from: "" for none
		errIs   error  // when set, errors.Is must hold
		errHas  string // when set, the error must say it
	}{
		{name: "no stanza", current: "shamir"},
		{name: "shamir stanza", seals: []*config.Seal{stanza("shamir", false)}, current: "shamir"},
		{name: "auto to shamir: the auto stanza disabled", seals: []*config.Seal{kms(true)}, current: "shamir", old: "awskms"},
		{name: "shamir to auto, old stanza spelled out", seals: []*config.Seal{stanza("shamir", true), kms(false)}, current: "awskms", old: "shamir"},
		{name: "auto to auto", seals: []*config.Seal{kms(true), kms(false)}, current: "awskms", old: "awskms"},
		{name: "disabled shamir alone", seals: []*config.Seal{stanza("shamir", true)},
			errHas: `test.hcl:7: seal "shamir" is disabled but no other seal is enabled to migrate to`},
		{name: "two enabled", seals: []*config.Seal{stanza("awskms", false), stanza("pkcs11", false)},
			errHas: "only one seal stanza may be enabled"},
		{name: "two disabled", seals: []*config.Seal{kms(true), stanza("shamir", true)},
			errHas: "only one seal stanza may be disabled"},
		{name: "unknown type", seals: []*config.Seal{stanza("gcpckms", false)},
			errHas: `test.hcl:7: seal type "gcpckms" is not supported (supported: shamir, pkcs11, awskms, transit)`},
		{name: "unknown disabled type", seals: []*config.Seal{stanza("gcpckms", true)},
			errHas: `seal type "gcpckms" is not supported`},
		{name: "pkcs11 without pin", seals: []*config.Seal{stanza("pkcs11", false, "lib", "/x.so", "slot", "0", "key_label", "k")},
			errIs: pkcs11.ErrConfig, errHas: "pin is required"},
		{name: "awskms without key", seals: []*config.Seal{stanza("awskms", false, "region", "us-east-1")},
			errIs: awskms.ErrConfig, errHas: "kms_key_id is required"},
		{name: "disabled awskms without key", seals: []*config.Seal{stanza("awskms", true, "region", "us-east-1")},
			errIs: awskms.ErrConfig, errHas: "kms_key_id is required"},
		{name: "transit", seals: []*config.Seal{stanza("transit", false, "address", "http://127.0.0.1:1", "token", "t",
			"key_name", "k", "mount_path", "transit", "disable_renewal", "true")}, current: "transit"},
		{name: "transit to shamir", seals: []*config.Seal{stanza("transit", true, "address", "http://127.0.0.1:1", "token", "t",
			"key_name", "k", "mount_path", "transit", "disable_renewal", "true")}, current: "shamir", old: "transit"},
		{name: "transit without key_name", seals: []*config.Seal{stanza("transit", false, "address", "http://127.0.0.1:1", "token", "t", "mount_path", "transit")},
			errIs: transit.ErrConfig, errHas: `test.hcl:7: seal "transit": key_name: is required`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openSeals(context.Background(), tc.seals, noEnv, quietLogger())
			if tc.errHas != "" {
				if err == nil {
					got.close(quietLogger())
					t.Fatal("openSeals accepted the configuration")
				}
				if tc.errIs != nil && !errors.Is(err, tc.errIs) {
					t.Errorf("error %v is not %v", err, tc.errIs)
				}
				if !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("error %q lacks %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("openSeals: %v", err)
			}
			defer got.close(quietLogger())
			if cur := sealTypeName(got.current); cur != tc.current {
				t.Errorf("current seal %q, want %q", cur, tc.current)
			}
			old := ""
			if got.old != nil || tc.old == "shamir" {
				old = sealTypeName(got.old)
			}
			if old != tc.old {
				t.Errorf("old seal %q, want %q", old, tc.old)
			}
		})
	}
}

// An unreachable key service does not stop the start: the Wrapper keeps
// trying, and its failures are never "invalid key".
func TestOpenSealUnreachable(t *testing.T) {
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	s := stanza("awskms", false, "region", "us-east-1", "access_key", "AKIDX", "secret_key", "not-logged-secret",
		"kms_key_id", "alias/strongbox", "endpoint", "http://127.0.0.1:1")
	got, err := openSeals(context.Background(), []*config.Seal{s}, func(string) string { return "" }, logger)
	if err != nil {
		t.Fatalf("openSeals: %v", err)
	}
	w := got.current
	t.Cleanup(func() { _ = w.Close() })
	if w.Type() != "awskms" {
		t.Fatalf("type %q", w.Type())
	}
	if _, err := w.Decrypt(context.Background(), &seal.BlobInfo{Ciphertext: []byte{1}}); err == nil || errors.Is(err, seal.ErrInvalidKey) {
		t.Fatalf("Decrypt = %v; want a retryable error", err)
	}
	out := logs.String()
	if !strings.Contains(out, "key service is unavailable at start") || strings.Contains(out, "not-logged-secret") {
		t.Fatalf("start log:\n%s", out)
	}
}

// fakeWrapper stands for a built key service in lazyWrapper's tests.
type fakeWrapper struct {
	closed bool
}

func (f *fakeWrapper) Type() string                          { return "fake" }
func (f *fakeWrapper) KeyID(context.Context) (string, error) { return "k1", nil }
func (f *fakeWrapper) Close() error                          { f.closed = true; return nil }
func (f *fakeWrapper) Decrypt(context.Context, *seal.BlobInfo) ([]byte, error) {
	return []byte("plain"), nil
}
func (f *fakeWrapper) Encrypt(_ context.Context, pt []byte) (*seal.BlobInfo, error) {
	return &seal.BlobInfo{Ciphertext: pt}, nil
}

func TestLazyWrapper(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		failures  []error // what the first builds return
		wantBuild int     // builds after four calls
		wantOK    bool    // the fourth call succeeds
	}{
		{"up at once", nil, 1, true},
		{"down, then up", []error{errors.New("dial tcp: connection refused"), errors.New("timeout")}, 3, true},
		{"wrong PIN is never retried", []error{fmt.Errorf("pkcs11 seal: login failed (the PIN is wrong): %w: CKR_PIN_INCORRECT", pkcs11.ErrLogin)}, 1, false},
		{"locked PIN is never retried", []error{fmt.Errorf("login: %w: CKR_PIN_LOCKED", pkcs11.ErrLogin)}, 1, false},
		{"a PIN-like message without ErrLogin is retried", []error{errors.New("dial: CKR_PIN_ text in a network error")}, 2, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			builds := 0
			fw := &fakeWrapper{}
			l := &lazyWrapper{typ: "fake", logger: quietLogger(), build: func(context.Context) (seal.Wrapper, error) {
				builds++
				if builds <= len(tc.failures) {
					return nil, tc.failures[builds-1]
				}
				return fw, nil
			}}
			var err error
			for range 4 {
				_, err = l.KeyID(ctx)
			}
			if builds != tc.wantBuild || (err == nil) != tc.wantOK {
				t.Fatalf("builds %d, last error %v; want %d builds, ok %v", builds, err, tc.wantBuild, tc.wantOK)
			}
			if refused := errors.Is(err, seal.ErrCredentialsRefused); refused != (tc.wantBuild == 1 && !tc.wantOK) {
				t.Fatalf("error %v: ErrCredentialsRefused is %v", err, refused)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if fw.closed != tc.wantOK {
				t.Fatalf("closed the built wrapper: %v", fw.closed)
			}
			if _, err := l.Encrypt(ctx, []byte("x")); !errors.Is(err, errSealClosed) {
				t.Fatalf("Encrypt after Close: %v", err)
			}
		})
	}
}
