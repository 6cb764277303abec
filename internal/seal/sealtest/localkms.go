package sealtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Fixed identity of every emulator the tests start. The emulator checks no
// signatures, but the SDK refuses to send a request without credentials.
const (
	LocalKMSRegion    = "us-east-1"
	LocalKMSAccountID = "111122223333"
	LocalKMSAccessKey = "AKIDSTRONGBOXTEST"
	LocalKMSSecretKey = "strongbox-test-secret"
)

// How long the emulator gets to build (first run only) and to start.
const (
	localKMSBuildTimeout = 8 * time.Minute
	localKMSStartTimeout = 30 * time.Second
)

// LocalKMS is a running local-kms emulator serving the AWS KMS API on
// 127.0.0.1, with its data in a test's temporary directory.
type LocalKMS struct {
	// Endpoint is the emulator's URL (http://127.0.0.1:PORT).
	Endpoint string

	cmd    *exec.Cmd
	stderr *lockedBuffer
	once   sync.Once
	done   chan struct{}
}

// StartLocalKMS builds the emulator when its cached binary is missing (see
// LocalKMSBinary), starts it on a free port of 127.0.0.1 and stops it when
// the test ends.
func StartLocalKMS(t testing.TB) *LocalKMS {
	t.Helper()
	bin := LocalKMSBinary(t)

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"KMS_DATA_PATH="+filepath.Join(t.TempDir(), "kms-data"),
		"KMS_REGION="+LocalKMSRegion,
		"KMS_ACCOUNT_ID="+LocalKMSAccountID,
		"PORT=0",
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("sealtest: local-kms stdout: %v", err)
	}
	k := &LocalKMS{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = k.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("sealtest: start local-kms: %v", err)
	}
	go func() {
		_ = cmd.Wait()
		close(k.done)
	}()
	t.Cleanup(func() {
		k.Stop()
		if t.Failed() {
			t.Logf("local-kms stderr:\n%s", k.stderr.String())
		}
	})

	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- a
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case a := <-addr:
		k.Endpoint = "http://" + a
	case <-k.done:
		t.Fatalf("sealtest: local-kms exited before listening:\n%s", k.stderr.String())
	case <-time.After(localKMSStartTimeout):
		t.Fatalf("sealtest: local-kms did not listen within %v:\n%s", localKMSStartTimeout, k.stderr.String())
	}
	return k
}

// Stop kills the emulator and waits for it to exit; later calls do nothing.
// Tests call it to make the key service unreachable.
func (k *LocalKMS) Stop() {
	k.once.Do(func() {
		_ = k.cmd.Process.Kill()
		<-k.done
	})
}

// Client returns a KMS client for the emulator, for test set-up.
func (k *LocalKMS) Client() *kms.Client {
	return kms.New(kms.Options{
		Region:       LocalKMSRegion,
		BaseEndpoint: aws.String(k.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(LocalKMSAccessKey, LocalKMSSecretKey, ""),
	})
}

// CreateKey creates a symmetric encryption key and returns its key ID and
// ARN.
func (k *LocalKMS) CreateKey(t testing.TB) (keyID, arn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), localKMSStartTimeout)
	defer cancel()
	out, err := k.Client().CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("strongbox seal test")})
	if err != nil {
		t.Fatalf("sealtest: CreateKey: %v", err)
	}
	return aws.ToString(out.KeyMetadata.KeyId), aws.ToString(out.KeyMetadata.Arn)
}

// CreateAlias points alias (e.g. "alias/strongbox") at keyID.
func (k *LocalKMS) CreateAlias(t testing.TB, alias, keyID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), localKMSStartTimeout)
	defer cancel()
	if _, err := k.Client().CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keyID)}); err != nil {
		t.Fatalf("sealtest: CreateAlias: %v", err)
	}
}

// LocalKMSBinary returns the path of the emulator binary, building it first
// when missing. The binary is the small loopback-only command in
// testdata/localkms (upstream's command binds every interface), built from
// the Go module proxy's github.com/nsmithuk/local-kms into
// $XDG_CACHE_HOME/strongbox-test/localkms-<hash>/localkms, where <hash> is
// the first 16 hex digits of the SHA-256 of main.go, go.mod and go.sum
// concatenated; scripts/test-deps.sh builds the same path.
func LocalKMSBinary(t testing.TB) string {
	t.Helper()
	src := localKMSSource(t)
	h := sha256.New()
	for _, f := range []string{"main.go", "go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatalf("sealtest: read local-kms source: %v", err)
		}
		h.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "strongbox-test", "localkms-"+hex.EncodeToString(h.Sum(nil))[:16])
	bin := filepath.Join(dir, "localkms")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("sealtest: local-kms cache dir: %v", err)
	}
	// Build beside the target and rename, so concurrent test processes
	// never run a half-written binary.
	tmp := filepath.Join(dir, fmt.Sprintf("localkms.%d.tmp", os.Getpid()))
	ctx, cancel := context.WithTimeout(context.Background(), localKMSBuildTimeout)
	defer cancel()
	build := exec.CommandContext(ctx, goTool, "build", "-o", tmp, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := build.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		t.Fatalf("sealtest: cannot build the local-kms emulator (run scripts/test-deps.sh; it needs the Go module proxy once): %v\n%s", err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatalf("sealtest: install local-kms: %v", err)
	}
	return bin
}

func localKMSSource(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("sealtest: cannot locate the sealtest source directory")
	}
	return filepath.Join(filepath.Dir(file), "testdata", "localkms")
}

// lockedBuffer collects a child's stderr while tests may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
