package ha

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// fakeHost is core as the room sees it: the state lock and flags, and
// counts of what the room asked for.
type fakeHost struct {
	lock       sync.RWMutex
	sealed     bool
	standby    bool
	activeTime time.Time
	postErr    error
	posts      int
	teardowns  int
	ticks      int
}

func (h *fakeHost) State() (bool, bool) {
	h.lock.RLock()
	defer h.lock.RUnlock()
	return h.sealed, h.standby
}

func (h *fakeHost) Exclusive(fn func(Locked)) {
	h.lock.Lock()
	defer h.lock.Unlock()
	fn(fakeLocked{h})
}

func (h *fakeHost) Tick(context.Context) {
	h.lock.Lock()
	h.ticks++
	h.lock.Unlock()
}

func (h *fakeHost) FillEcho(e *NodeEcho) { e.AppliedIndex, e.Term = 42, 3 }

// counts reads the counters under the lock.
func (h *fakeHost) counts() (posts, teardowns int, activeTime time.Time) {
	h.lock.RLock()
	defer h.lock.RUnlock()
	return h.posts, h.teardowns, h.activeTime
}

type fakeLocked struct{ h *fakeHost }

func (l fakeLocked) Sealed() bool              { return l.h.sealed }
func (l fakeLocked) Standby() bool             { return l.h.standby }
func (l fakeLocked) SetStandby(s bool)         { l.h.standby = s }
func (l fakeLocked) SetActiveTime(t time.Time) { l.h.activeTime = t }
func (l fakeLocked) PostUnseal(context.Context) error {
	l.h.posts++
	return l.h.postErr
}
func (l fakeLocked) Teardown(context.Context) { l.h.teardowns++ }

// fakeStorage is HA storage over inmem whose leadership a test sets.
type fakeStorage struct {
	*inmem.Backend
	id string

	mu        sync.Mutex
	leader    string
	subs      []chan bool
	readErr   error
	transfer  error
	transfers int
}

func newFakeStorage(id, leader string) *fakeStorage {
	return &fakeStorage{Backend: inmem.New(), id: id, leader: leader}
}

func (s *fakeStorage) NodeID() string { return s.id }

func (s *fakeStorage) IsLeader() bool { return s.LeaderID() == s.id }

func (s *fakeStorage) LeaderID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leader
}

func (s *fakeStorage) WatchLeadership() (<-chan bool, func()) {
	ch := make(chan bool, 1)
	s.mu.Lock()
	s.subs = append(s.subs, ch)
	s.mu.Unlock()
	return ch, func() {}
}

// setLeader changes the leader and tells the watchers.
func (s *fakeStorage) setLeader(id string) {
	s.mu.Lock()
	s.leader = id
	subs := s.subs
	s.mu.Unlock()
	for _, ch := range subs {
		select {
		case ch <- id == s.id:
		default:
		}
	}
}

func (s *fakeStorage) TransferLeadership(context.Context) error {
	s.mu.Lock()
	s.transfers++
	err := s.transfer
	s.mu.Unlock()
	if err == nil {
		s.setLeader("")
	}
	return err
}

func (s *fakeStorage) ConsistentRead(context.Context) error { return s.readErr }
func (s *fakeStorage) VerifyLeader(context.Context) error   { return nil }

var errNoVoter = errors.New("no other voter")

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
