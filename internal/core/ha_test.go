package core

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// lockedLog is a log sink tests read while the core writes.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// unreadyStorage leads but cannot catch up (ConsistentRead fails), so the
// core cannot become active, and no other voter takes leadership.
type unreadyStorage struct{ *pilotStorage }

func (unreadyStorage) ConsistentRead(context.Context) error {
	return errors.New("apply of earlier entries timed out")
}

// TestFailedTransferIsLogged: a leader that cannot activate hands
// leadership over; when that transfer fails too, the log says so (the
// cluster has no active node meanwhile).
func TestFailedTransferIsLogged(t *testing.T) {
	st := unreadyStorage{&pilotStorage{Backend: inmem.New(), joins: map[string]bool{}, added: map[string]bool{}}}
	logs := &lockedLog{}
	c, err := New(Config{
		Physical: st, Logger: slog.New(slog.NewTextHandler(logs, nil)), Version: "1.0.0",
		SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := c.Init(ctx, InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Unseal(ctx, res.Keys[0]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Seal(context.Background()) })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "leadership transfer after a failed activation failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the failed transfer; log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "no other voter") {
		t.Fatalf("the log does not give the transfer's error:\n%s", logs.String())
	}
	if !c.Standby() {
		t.Fatal("a core that could not catch up became active")
	}
}
