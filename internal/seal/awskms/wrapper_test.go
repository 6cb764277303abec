package awskms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/strongbox/strongbox/internal/seal"
	"github.com/strongbox/strongbox/internal/seal/sealtest"
)

var rootKey = []byte("0123456789abcdef0123456789abcdef")

// kmsEnv is one test's emulator, a key in it, and a log that must never
// show the secret key.
type kmsEnv struct {
	kms    *sealtest.LocalKMS
	keyID  string
	arn    string
	log    *syncBuffer
	secret string
}

func newKMS(t *testing.T) *kmsEnv {
	t.Helper()
	e := &kmsEnv{kms: sealtest.StartLocalKMS(t), log: &syncBuffer{}, secret: sealtest.LocalKMSSecretKey}
	e.keyID, e.arn = e.kms.CreateKey(t)
	t.Cleanup(func() {
		if strings.Contains(e.log.String(), e.secret) {
			t.Errorf("the log shows the secret key:\n%s", e.log.String())
		}
	})
	return e
}

func (e *kmsEnv) conf(kv ...string) map[string]string {
	c := map[string]string{
		"region": sealtest.LocalKMSRegion, "access_key": sealtest.LocalKMSAccessKey,
		"secret_key": sealtest.LocalKMSSecretKey, "kms_key_id": e.keyID, "endpoint": e.kms.Endpoint,
	}
	for i := 0; i < len(kv); i += 2 {
		c[kv[i]] = kv[i+1]
	}
	return c
}

func (e *kmsEnv) open(t *testing.T, conf map[string]string, env map[string]string) *Wrapper {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := New(testCtx(t), conf, envFrom(env), logger)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func roundTrip(t *testing.T, w seal.Wrapper, pt []byte) *seal.BlobInfo {
	t.Helper()
	blob, err := w.Encrypt(testCtx(t), pt)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if len(pt) >= 8 && (bytes.Contains(blob.Ciphertext, pt) || bytes.Contains(blob.WrappedKey, pt)) {
		t.Fatal("blob contains the plaintext")
	}
	got, err := w.Decrypt(testCtx(t), blob)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if !bytes.Equal(got, pt) {
		t.Fatalf("Decrypt = %x, want %x", got, pt)
	}
	return blob
}

func TestRoundTrip(t *testing.T) {
	e := newKMS(t)
	e.kms.CreateAlias(t, "alias/strongbox", e.keyID)
	for name, keyRef := range map[string]string{"key id": e.keyID, "arn": e.arn, "alias": "alias/strongbox"} {
		t.Run(name, func(t *testing.T) {
			w := e.open(t, e.conf("kms_key_id", keyRef), nil)
			if w.Type() != "awskms" {
				t.Errorf("Type = %q", w.Type())
			}
			if id, err := w.KeyID(testCtx(t)); err != nil || id != e.arn {
				t.Errorf("KeyID = %q, %v; want the ARN %q", id, err, e.arn)
			}
			blob := roundTrip(t, w, rootKey)
			if blob.KeyID != e.arn || blob.Mechanism != Mechanism || len(blob.IV) != 12 ||
				len(blob.Ciphertext) != len(rootKey)+16 || len(blob.WrappedKey) == 0 {
				t.Errorf("blob key %q mechanism %q iv %d ct %d wrapped %d",
					blob.KeyID, blob.Mechanism, len(blob.IV), len(blob.Ciphertext), len(blob.WrappedKey))
			}
			roundTrip(t, w, []byte{})
			roundTrip(t, w, bytes.Repeat([]byte{7}, 64<<10)) // larger than KMS's 4 KiB limit: enveloped
		})
	}
}

func TestTamperedBlob(t *testing.T) {
	e := newKMS(t)
	w := e.open(t, e.conf(), nil)
	blob := roundTrip(t, w, rootKey)

	otherID, _ := e.kms.CreateKey(t)
	other := e.open(t, e.conf("kms_key_id", otherID), nil)
	otherBlob := roundTrip(t, other, rootKey)

	tamper := map[string]func(b *seal.BlobInfo){
		"flipped ciphertext byte": func(b *seal.BlobInfo) { b.Ciphertext[0] ^= 1 },
		"flipped tag byte":        func(b *seal.BlobInfo) { b.Ciphertext[len(b.Ciphertext)-1] ^= 1 },
		"flipped IV":              func(b *seal.BlobInfo) { b.IV[3] ^= 1 },
		"short IV":                func(b *seal.BlobInfo) { b.IV = b.IV[:4] },
		"truncated ciphertext":    func(b *seal.BlobInfo) { b.Ciphertext = b.Ciphertext[:10] },
		"flipped wrapped key":     func(b *seal.BlobInfo) { b.WrappedKey[len(b.WrappedKey)-1] ^= 1 },
		"truncated wrapped key":   func(b *seal.BlobInfo) { b.WrappedKey = b.WrappedKey[:len(b.WrappedKey)-8] },
		"no wrapped key":          func(b *seal.BlobInfo) { b.WrappedKey = nil },
		"other mechanism":         func(b *seal.BlobInfo) { b.Mechanism = "0x1087" },
		"other key's data key":    func(b *seal.BlobInfo) { b.WrappedKey = bytes.Clone(otherBlob.WrappedKey) },
	}
	for name, f := range tamper {
		t.Run(name, func(t *testing.T) {
			b := cloneBlob(blob)
			f(b)
			pt, err := w.Decrypt(testCtx(t), b)
			if !errors.Is(err, seal.ErrInvalidKey) {
				t.Fatalf("Decrypt = %x, %v; want ErrInvalidKey", pt, err)
			}
		})
	}
	if _, err := w.Decrypt(testCtx(t), nil); !errors.Is(err, seal.ErrInvalidKey) {
		t.Errorf("Decrypt(nil) = %v", err)
	}
	// Any key of the account unwraps its own blobs, whatever the seal's
	// configured key: the blob names its key.
	got, err := w.Decrypt(testCtx(t), otherBlob)
	if err != nil || !bytes.Equal(got, rootKey) {
		t.Errorf("Decrypt of the other key's blob = %x, %v", got, err)
	}
}

func cloneBlob(b *seal.BlobInfo) *seal.BlobInfo {
	c := *b
	c.Ciphertext = bytes.Clone(b.Ciphertext)
	c.IV = bytes.Clone(b.IV)
	c.WrappedKey = bytes.Clone(b.WrappedKey)
	return &c
}

func TestKMSDown(t *testing.T) {
	e := newKMS(t)
	w := e.open(t, e.conf(), nil)
	blob := roundTrip(t, w, rootKey)
	e.kms.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := w.Decrypt(ctx, blob); err == nil || errors.Is(err, seal.ErrInvalidKey) ||
		!strings.Contains(err.Error(), "unwrap data key") {
		t.Errorf("Decrypt with KMS down = %v; want a retryable error, not ErrInvalidKey", err)
	}
	if _, err := w.Encrypt(ctx, rootKey); err == nil || errors.Is(err, seal.ErrInvalidKey) ||
		!strings.Contains(err.Error(), "wrap data key") {
		t.Errorf("Encrypt with KMS down = %v", err)
	}
	_, err := New(ctx, e.conf(), nil, nil)
	if err == nil || errors.Is(err, seal.ErrInvalidKey) || !strings.Contains(err.Error(), "describe key") {
		t.Errorf("New with KMS down = %v", err)
	}
}

func TestUnknownKey(t *testing.T) {
	e := newKMS(t)
	_, err := New(testCtx(t), e.conf("kms_key_id", "00000000-1111-2222-3333-444444444444"), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "00000000-1111-2222-3333-444444444444") {
		t.Fatalf("New with an unknown key = %v", err)
	}
}

func TestEnvOverrides(t *testing.T) {
	e := newKMS(t)
	conf := map[string]string{
		"region": "eu-west-3", "access_key": "WRONG", "secret_key": "WRONG",
		"kms_key_id": "alias/does-not-exist", "endpoint": "http://127.0.0.1:1",
	}
	env := map[string]string{
		"AWS_REGION":               sealtest.LocalKMSRegion,
		"AWS_ACCESS_KEY_ID":        sealtest.LocalKMSAccessKey,
		"AWS_SECRET_ACCESS_KEY":    sealtest.LocalKMSSecretKey,
		"AWS_KMS_ENDPOINT":         e.kms.Endpoint,
		"VAULT_AWSKMS_SEAL_KEY_ID": e.keyID,
	}
	w := e.open(t, conf, env)
	blob := roundTrip(t, w, rootKey)
	if blob.KeyID != e.arn {
		t.Errorf("blob key %q, want %q from VAULT_AWSKMS_SEAL_KEY_ID", blob.KeyID, e.arn)
	}
	if !strings.Contains(e.log.String(), "region="+sealtest.LocalKMSRegion) {
		t.Errorf("AWS_REGION did not win:\n%s", e.log.String())
	}
}

func TestAliasMovesToNewKey(t *testing.T) {
	e := newKMS(t)
	e.kms.CreateAlias(t, "alias/seal", e.keyID)
	w := e.open(t, e.conf("kms_key_id", "alias/seal"), nil)
	oldBlob := roundTrip(t, w, rootKey)

	newID, newARN := e.kms.CreateKey(t)
	if _, err := e.kms.Client().UpdateAlias(testCtx(t), &kms.UpdateAliasInput{
		AliasName: aws.String("alias/seal"), TargetKeyId: aws.String(newID),
	}); err != nil {
		t.Fatal(err)
	}
	newBlob := roundTrip(t, w, rootKey)
	if newBlob.KeyID != newARN {
		t.Errorf("new blob key %q, want %q", newBlob.KeyID, newARN)
	}
	if id, _ := w.KeyID(testCtx(t)); id != newARN {
		t.Errorf("KeyID = %q after the alias moved, want %q", id, newARN)
	}
	got, err := w.Decrypt(testCtx(t), oldBlob)
	if err != nil || !bytes.Equal(got, rootKey) {
		t.Errorf("old blob after the alias moved: %x, %v", got, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newKMS(t)
	w := e.open(t, e.conf(), nil)
	const workers, rounds = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range rounds {
				pt := []byte(fmt.Sprintf("worker %d round %d", i, j))
				blob, err := w.Encrypt(context.Background(), pt)
				if err != nil {
					errs <- err
					return
				}
				got, err := w.Decrypt(context.Background(), blob)
				if err != nil || !bytes.Equal(got, pt) {
					errs <- fmt.Errorf("decrypt %q = %q, %v", pt, got, err)
					return
				}
				if _, err := w.KeyID(context.Background()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCloseAndCancel(t *testing.T) {
	e := newKMS(t)
	w := e.open(t, e.conf(), nil)
	blob := roundTrip(t, w, rootKey)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Decrypt(ctx, blob); !errors.Is(err, context.Canceled) {
		t.Errorf("Decrypt with a canceled context = %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Encrypt(testCtx(t), rootKey); !errors.Is(err, errClosed) {
		t.Errorf("Encrypt after Close = %v", err)
	}
	if _, err := w.Decrypt(testCtx(t), blob); !errors.Is(err, errClosed) || errors.Is(err, seal.ErrInvalidKey) {
		t.Errorf("Decrypt after Close = %v", err)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
