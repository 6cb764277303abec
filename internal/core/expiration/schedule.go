package expiration

import (
	"container/heap"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// item is one lease waiting in the heap for its time.
type item struct {
	id    string
	at    time.Time
	index int
}

// queue is a min-heap of items by time, indexed by lease id so a lease is
// in it at most once.
type queue struct {
	items []*item
	byID  map[string]*item
}

func newQueue() *queue { return &queue{byID: map[string]*item{}} }

func (q *queue) Len() int           { return len(q.items) }
func (q *queue) Less(i, j int) bool { return q.items[i].at.Before(q.items[j].at) }
func (q *queue) Swap(i, j int) {
	q.items[i], q.items[j] = q.items[j], q.items[i]
	q.items[i].index, q.items[j].index = i, j
}
func (q *queue) Push(x any) {
	it := x.(*item)
	it.index = len(q.items)
	q.items = append(q.items, it)
}
func (q *queue) Pop() any {
	n := len(q.items)
	it := q.items[n-1]
	q.items[n-1] = nil
	q.items = q.items[:n-1]
	return it
}

// set schedules id at at, moving it when already queued.
func (q *queue) set(id string, at time.Time) {
	if it, ok := q.byID[id]; ok {
		it.at = at
		heap.Fix(q, it.index)
		return
	}
	it := &item{id: id, at: at}
	q.byID[id] = it
	heap.Push(q, it)
}

func (q *queue) remove(id string) {
	if it, ok := q.byID[id]; ok {
		heap.Remove(q, it.index)
		delete(q.byID, id)
	}
}

// popDue removes and returns the earliest item due at now, or the wait
// until the earliest one (-1: the heap is empty).
func (q *queue) popDue(now time.Time) (string, time.Duration) {
	if len(q.items) == 0 {
		return "", -1
	}
	top := q.items[0]
	if top.at.After(now) {
		return "", top.at.Sub(now)
	}
	heap.Pop(q)
	delete(q.byID, top.id)
	return top.id, 0
}

// schedule puts a lease in the heap when its bucket is loaded; otherwise
// the loader finds it on disk when the horizon reaches it. Called after
// the lease's index key is stored (see advance for why that order).
func (m *Manager) schedule(id string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.q == nil || bucketOf(at) >= m.loadedUntil {
		return
	}
	m.q.set(id, at)
	m.wakeLocked()
}

func (m *Manager) unschedule(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.q != nil {
		m.q.remove(id)
	}
}

func (m *Manager) wakeLocked() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// restore loads the leases due before now+Horizon after an unseal or a
// failover: the day markers, the bucket markers of the days due, and the
// index keys of the buckets due. Buckets already past (leases that expired
// while no node was active) are a backlog, loaded in order while the heap
// holds fewer than MaxBacklog leases, so a long outage does not bring
// every overdue lease into memory at once.
func (m *Manager) restore(ctx context.Context) error {
	now := m.now()
	until := bucketOf(now.Add(m.conf.Horizon)) + 1
	m.mu.Lock()
	m.loadedUntil = until
	m.mu.Unlock()
	days, err := m.storage.List(ctx, dayPrefix)
	if err != nil {
		return fmt.Errorf("expiration: restore: list days: %w", err)
	}
	var backlog, current []int64
	for _, d := range days {
		day, err := strconv.ParseInt(strings.TrimSuffix(d, "/"), 10, 64)
		if err != nil {
			continue
		}
		if day > dayOf(until-1) {
			break
		}
		buckets, err := m.storage.List(ctx, bucketPrefix+d+"/")
		if err != nil {
			return fmt.Errorf("expiration: restore: list buckets: %w", err)
		}
		for _, bs := range buckets {
			b, err := strconv.ParseInt(bs, 10, 64)
			if err != nil {
				continue
			}
			if b >= until {
				// Markers list in order: the rest are later still.
				break
			}
			switch {
			case b < bucketOf(now):
				backlog = append(backlog, b)
			default:
				current = append(current, b)
			}
		}
		if len(buckets) == 0 && day < dayOf(bucketOf(now)) {
			if err := m.storage.Delete(ctx, dayMarker(day)); err != nil {
				return fmt.Errorf("expiration: restore: drop day marker: %w", err)
			}
		}
	}
	loaded := 0
	for _, b := range current {
		n, err := m.loadBucket(ctx, b)
		if err != nil {
			return err
		}
		loaded += n
	}
	m.mu.Lock()
	m.backlog = backlog
	m.mu.Unlock()
	n, err := m.drainBacklog(ctx)
	if err != nil {
		return err
	}
	m.conf.Logger.Info("leases restored", "due_within", m.conf.Horizon, "loaded", loaded+n, "overdue_buckets_left", len(m.pendingBacklog()))
	return nil
}

// drainBacklog loads overdue buckets, oldest first, while the heap holds
// fewer than MaxBacklog leases; it returns how many leases it loaded.
func (m *Manager) drainBacklog(ctx context.Context) (int, error) {
	total := 0
	for {
		m.mu.Lock()
		if len(m.backlog) == 0 || m.q.Len() >= m.conf.MaxBacklog {
			m.mu.Unlock()
			return total, nil
		}
		b := m.backlog[0]
		m.backlog = m.backlog[1:]
		m.mu.Unlock()
		n, err := m.loadBucket(ctx, b)
		if err != nil {
			m.mu.Lock()
			m.backlog = append([]int64{b}, m.backlog...)
			m.mu.Unlock()
			return total, err
		}
		total += n
	}
}

func (m *Manager) pendingBacklog() []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.backlog
}

// loadBucket pushes bucket b's leases into the heap; an empty bucket in
// the past loses its marker. It returns how many it loaded.
func (m *Manager) loadBucket(ctx context.Context, b int64) (int, error) {
	keys, err := m.storage.List(ctx, timePrefix+numKey(b)+"/")
	if err != nil {
		return 0, fmt.Errorf("expiration: list bucket: %w", err)
	}
	if len(keys) == 0 {
		if bucketStart(b + 1).Before(m.now()) {
			if err := m.storage.Delete(ctx, bucketMarker(b)); err != nil {
				return 0, fmt.Errorf("expiration: drop bucket marker: %w", err)
			}
			m.mu.Lock()
			delete(m.marked, b)
			m.mu.Unlock()
		}
		return 0, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.marked[b] = true
	m.loaded[b] = true
	for _, k := range keys {
		if strings.HasSuffix(k, "/") {
			continue
		}
		at, id, err := parseTimeKey(k)
		if err != nil {
			m.conf.Logger.Warn("skipping malformed lease index key", "error", err)
			continue
		}
		if _, ok := m.q.byID[id]; !ok {
			m.q.set(id, at)
		}
	}
	m.wakeLocked()
	return len(keys), nil
}

// advance moves the horizon to now+Horizon, loading the buckets it passes.
// The bound moves first, then the buckets are listed: a lease stored
// meanwhile is either listed here or sees the new bound in schedule, and
// the heap keeps one item per lease either way.
func (m *Manager) advance(ctx context.Context) error {
	until := bucketOf(m.now().Add(m.conf.Horizon)) + 1
	m.mu.Lock()
	from := m.loadedUntil
	if until > m.loadedUntil {
		m.loadedUntil = until
	}
	m.mu.Unlock()
	for b := from; b < until; b++ {
		if _, err := m.loadBucket(ctx, b); err != nil {
			return err
		}
	}
	return m.sweepMarkers(ctx)
}

// sweepMarkers drops the markers of loaded buckets now in the past whose
// index keys are all gone (their leases revoked or irrevocable).
func (m *Manager) sweepMarkers(ctx context.Context) error {
	cutoff := bucketOf(m.now()) - 1
	m.mu.Lock()
	var past []int64
	for b := range m.loaded {
		if b < cutoff {
			past = append(past, b)
		}
	}
	m.mu.Unlock()
	for _, b := range past {
		keys, err := m.storage.List(ctx, timePrefix+numKey(b)+"/")
		if err != nil {
			return fmt.Errorf("expiration: sweep: %w", err)
		}
		if len(keys) > 0 {
			continue
		}
		if err := m.storage.Delete(ctx, bucketMarker(b)); err != nil {
			return fmt.Errorf("expiration: sweep: %w", err)
		}
		m.mu.Lock()
		delete(m.loaded, b)
		delete(m.marked, b)
		m.mu.Unlock()
	}
	return nil
}

// runLoader advances the horizon when a new bucket starts and feeds the
// overdue backlog to the heap as it drains, until ctx ends.
func (m *Manager) runLoader(ctx context.Context) {
	t := time.NewTicker(loaderTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := m.drainBacklog(ctx); err != nil && ctx.Err() == nil {
			m.conf.Logger.Warn("loading overdue leases failed; retrying", "error", err)
		}
		m.mu.Lock()
		due := bucketOf(m.now().Add(m.conf.Horizon))+1 > m.loadedUntil
		m.mu.Unlock()
		if !due {
			continue
		}
		if err := m.advance(ctx); err != nil && ctx.Err() == nil {
			m.conf.Logger.Warn("lease loader failed; retrying", "error", err)
		}
	}
}

// loaderTick is how often the loader looks for a new bucket or room in
// the heap for overdue leases.
const loaderTick = time.Second

// maxSleep bounds a worker's wait for the earliest lease.
const maxSleep = time.Second

// runWorker revokes leases as they come due until ctx ends.
func (m *Manager) runWorker(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		m.mu.Lock()
		id, wait := m.q.popDue(m.now())
		m.mu.Unlock()
		if id != "" {
			m.expire(ctx, id)
			if ctx.Err() != nil {
				return
			}
			continue
		}
		// Sleep at most maxSleep: a clock step (NTP, a VM resumed) must
		// not leave a due lease waiting on a timer set by the old time.
		if wait < 0 || wait > maxSleep {
			wait = maxSleep
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}
