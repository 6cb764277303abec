package core

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/seal"
)

// pacedWrapper is a seal that asks for a steady retry interval
// (seal.RetryPacer, as the transit seal does) and whose key service the
// test can take down.
type pacedWrapper struct {
	*testWrapper
	every time.Duration
	down  atomic.Bool
}

func (w *pacedWrapper) RetryInterval() time.Duration { return w.every }

func (w *pacedWrapper) Decrypt(ctx context.Context, b *seal.BlobInfo) ([]byte, error) {
	if w.down.Load() {
		return nil, errors.New("the key service is sealed (HTTP 503, test outage)")
	}
	return w.testWrapper.Decrypt(ctx, b)
}

// A seal with a steady retry interval is retried at that interval, not
// with the growing backoff: every failure's log line says so, and the node
// unseals once the service answers.
func TestAutoUnsealSteadyRetry(t *testing.T) {
	w := &pacedWrapper{testWrapper: newTestWrapper(t, "test-kms", "k1"), every: 20 * time.Millisecond}
	n := newSealNode(t, w)
	w.down.Store(true)
	n.open(t, w, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.c.RunAutoUnseal(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(n.log.String(), "the seal's key service is unavailable") < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than five failures logged:\n%s", n.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, line := range strings.Split(n.log.String(), "\n") {
		if strings.Contains(line, "the seal's key service is unavailable") && !strings.Contains(line, "retry_in=20ms") {
			t.Fatalf("a retry not at the steady interval: %s", line)
		}
	}
	if !n.c.Sealed() {
		t.Fatal("unsealed while the key service is down")
	}
	w.down.Store(false)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the loop did not unseal after the key service came back")
	}
	if n.c.Sealed() {
		t.Fatal("still sealed after the key service came back")
	}
	n.secretReadable(t)
}
