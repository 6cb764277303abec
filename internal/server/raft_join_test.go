package server

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// blockingLeader is a fake leader whose join challenge never answers: it
// counts the requests still waiting, one per join loop trying it.
type blockingLeader struct {
	stop        chan struct{}
	mu          sync.Mutex
	open, total int
}

func newBlockingLeader(t *testing.T) (*blockingLeader, *httptest.Server) {
	t.Helper()
	b := &blockingLeader{stop: make(chan struct{})}
	srv := httptest.NewServer(b)
	t.Cleanup(func() {
		close(b.stop)
		srv.Close()
	})
	return b, srv
}

func (b *blockingLeader) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.open++
	b.total++
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.open--
		b.mu.Unlock()
	}()
	// Read the body, so the server notices the joiner hanging up.
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-b.stop:
	}
}

func (b *blockingLeader) counts() (open, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open, b.total
}

func startUninitializedRaft(t *testing.T) *vault.Client {
	t.Helper()
	ports := freeLocalPorts(t, 2)
	n := startServer(t, Options{ConfigPaths: []string{raftNodeConfig(t, "n1", ports[0], ports[1], "", "")}})
	return n.client("")
}

func raftJoin(c *vault.Client, body map[string]any) error {
	_, err := c.Logical().Write("sys/storage/raft/join", body)
	return err
}

// Calling sys/storage/raft/join with retry=true again replaces the running
// retry loop instead of adding one: however often it is called, one loop
// keeps trying the leader.
func TestRaftJoinRetryKeepsOneLoop(t *testing.T) {
	c := startUninitializedRaft(t)
	leader, fake := newBlockingLeader(t)

	for range 10 {
		if err := raftJoin(c, map[string]any{"leader_api_addr": fake.URL, "leader_allow_http": true, "retry": true}); err != nil {
			t.Fatalf("join retry: %v", err)
		}
	}
	// Each loop's request waits at the leader until the loop ends (the
	// joiner's own timeout is 15 s), so open requests count live loops.
	deadline := time.Now().Add(10 * time.Second)
	for {
		open, total := leader.counts()
		if open == 1 && total >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d join loops still trying the leader after 10 calls with retry, want 1", open)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A plaintext http:// leader is refused with a 400 unless the operator opts
// in with leader_allow_http, with and without retry.
func TestRaftJoinRefusesPlaintextLeader(t *testing.T) {
	c := startUninitializedRaft(t)
	leader, fake := newBlockingLeader(t)

	for _, retry := range []bool{false, true} {
		err := raftJoin(c, map[string]any{"leader_api_addr": fake.URL, "retry": retry})
		var re *vault.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest || !strings.Contains(err.Error(), "leader_allow_http") {
			t.Fatalf("retry=%v: join with an http:// leader: %v, want 400 naming leader_allow_http", retry, err)
		}
	}
	if _, total := leader.counts(); total != 0 {
		t.Fatalf("the refused join still contacted the plaintext leader (%d requests)", total)
	}
	// Opted in, the join goes ahead (and waits on this leader).
	if err := raftJoin(c, map[string]any{"leader_api_addr": fake.URL, "leader_allow_http": true, "retry": true}); err != nil {
		t.Fatalf("opted-in join: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, total := leader.counts(); total == 0; _, total = leader.counts() {
		if time.Now().After(deadline) {
			t.Fatal("the opted-in join never contacted the leader")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
