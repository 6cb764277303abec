package testcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// retryBackoff paces a client after a failed or unknown operation, so a
// down node is not hammered with refused connections.
const retryBackoff = 20 * time.Millisecond

// Workload drives concurrent clients doing random puts and gets on a few
// KV v2 keys through the nodes' HTTP API, recording every operation. Each
// put writes a value no other put writes, so a read names its write.
type Workload struct {
	// Recorder receives the history (required).
	Recorder *Recorder
	// Nodes are the targets: client i talks to Nodes[i % len(Nodes)]
	// (required).
	Nodes []Node
	// Token is sent as X-Vault-Token.
	Token string
	// Mount is the KV v2 mount path (default "secret").
	Mount string
	// Prefix is prepended to the key names (default "linz/").
	Prefix string
	// Clients is the number of concurrent clients (default 4).
	Clients int
	// Keys is the number of keys (default 4).
	Keys int
	// Duration bounds the run (default 3s); no new operation starts after
	// it, in-flight ones finish within RequestTimeout.
	Duration time.Duration
	// MaxOps, when set, also bounds the total number of operations.
	MaxOps int
	// ReadFraction is the share of gets (default 0.5).
	ReadFraction float64
	// RequestTimeout bounds one request (default 2s); a timeout is an
	// unknown outcome.
	RequestTimeout time.Duration
	// Seed makes the choice of keys and operations repeatable (default 1).
	Seed uint64
}

// WorkloadStats counts what a run did.
type WorkloadStats struct {
	Ops, AckedWrites, Reads, Failed, Unknown int
}

// String is a one-line account of the run.
func (s WorkloadStats) String() string {
	return fmt.Sprintf("%d ops (%d acknowledged writes, %d reads, %d failed, %d unknown)", s.Ops, s.AckedWrites, s.Reads, s.Failed, s.Unknown)
}

func (w *Workload) defaults() error {
	if w.Recorder == nil || len(w.Nodes) == 0 {
		return errors.New("workload: Recorder and Nodes are required")
	}
	if w.Mount == "" {
		w.Mount = "secret"
	}
	if w.Prefix == "" {
		w.Prefix = "linz/"
	}
	if w.Clients <= 0 {
		w.Clients = 4
	}
	if w.Keys <= 0 {
		w.Keys = 4
	}
	if w.Duration <= 0 {
		w.Duration = 3 * time.Second
	}
	if w.ReadFraction <= 0 || w.ReadFraction > 1 {
		w.ReadFraction = 0.5
	}
	if w.RequestTimeout <= 0 {
		w.RequestTimeout = 2 * time.Second
	}
	if w.Seed == 0 {
		w.Seed = 1
	}
	return nil
}

// Key is the name of key i.
func (w *Workload) Key(i int) string { return fmt.Sprintf("%sk%d", w.Prefix, i) }

// Run drives the clients until Duration, MaxOps or ctx ends, and returns
// what they did. Operations whose outcome is uncertain are recorded as
// Unknown; the client then continues under a new client id.
func (w *Workload) Run(ctx context.Context) (WorkloadStats, error) {
	if err := w.defaults(); err != nil {
		return WorkloadStats{}, err
	}
	end := time.Now().Add(w.Duration)
	var budget atomic.Int64
	budget.Store(int64(w.MaxOps))
	stats := make([]WorkloadStats, w.Clients)
	var wg sync.WaitGroup
	for i := range w.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stats[i] = w.client(ctx, i, end, &budget)
		}()
	}
	wg.Wait()
	var total WorkloadStats
	for _, s := range stats {
		total.Ops += s.Ops
		total.AckedWrites += s.AckedWrites
		total.Reads += s.Reads
		total.Failed += s.Failed
		total.Unknown += s.Unknown
	}
	return total, nil
}

func (w *Workload) client(ctx context.Context, i int, end time.Time, budget *atomic.Int64) WorkloadStats {
	rng := rand.New(rand.NewPCG(w.Seed, uint64(i)))
	kv := w.kvClient(w.Nodes[i%len(w.Nodes)])
	id := w.Recorder.NewClient()
	var st WorkloadStats
	for seq := 0; time.Now().Before(end) && ctx.Err() == nil; seq++ {
		if w.MaxOps > 0 && budget.Add(-1) < 0 {
			break
		}
		key := w.Key(rng.IntN(w.Keys))
		var out Outcome
		if rng.Float64() < w.ReadFraction {
			call := w.Recorder.Get(id, key)
			v, o := kv.get(ctx, key)
			call.Done(o, v)
			out = o
			if o == OK {
				st.Reads++
			}
		} else {
			value := fmt.Sprintf("c%d-%d", id, seq)
			call := w.Recorder.Put(id, key, value)
			o := kv.put(ctx, key, value)
			call.Done(o, "")
			out = o
			if o == OK {
				st.AckedWrites++
			}
		}
		st.Ops++
		switch out {
		case Unknown:
			st.Unknown++
			// The operation may still be in flight: continue as a new client.
			id = w.Recorder.NewClient()
		case Fail:
			st.Failed++
		}
		if out != OK && pauseFor(ctx, retryBackoff) != nil {
			break
		}
	}
	return st
}

// FinalReads reads every key through n, recording FinalGets, retrying each
// until a read succeeds or ctx ends.
func (w *Workload) FinalReads(ctx context.Context, n Node) error {
	if err := w.defaults(); err != nil {
		return err
	}
	kv := w.kvClient(n)
	id := w.Recorder.NewClient()
	for i := range w.Keys {
		key := w.Key(i)
		for {
			call := w.Recorder.FinalGet(id, key)
			v, o := kv.get(ctx, key)
			call.Done(o, v)
			if o == OK {
				break
			}
			if o == Unknown {
				id = w.Recorder.NewClient()
			}
			if err := pauseFor(ctx, retryBackoff); err != nil {
				return fmt.Errorf("final read of %s on %s: %w", key, n.ID(), err)
			}
		}
	}
	return nil
}

// kvClient speaks KV v2 over plain HTTP, so every outcome can be classified
// from what actually happened on the wire.
type kvClient struct {
	hc     *http.Client
	base   string // http://host:port/v1/<mount>/data/
	token  string
	reqTTL time.Duration
}

func (w *Workload) kvClient(n Node) *kvClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &kvClient{
		hc:     &http.Client{Transport: tr}, // follows a standby's 307 to the active
		base:   n.APIAddr() + "/v1/" + strings.Trim(w.Mount, "/") + "/data/",
		token:  w.Token,
		reqTTL: w.RequestTimeout,
	}
}

func (k *kvClient) put(ctx context.Context, key, value string) Outcome {
	body, err := json.Marshal(map[string]any{"data": map[string]string{"v": value}})
	if err != nil {
		return Fail
	}
	return k.do(ctx, http.MethodPost, key, body).outcome()
}

func (k *kvClient) get(ctx context.Context, key string) (string, Outcome) {
	r := k.do(ctx, http.MethodGet, key, nil)
	if o := r.outcome(); o != OK && r.status != http.StatusNotFound {
		return "", o
	}
	if r.bodyErr != nil {
		return "", Unknown
	}
	var resp struct {
		Errors []string `json:"errors"`
		Data   struct {
			Data map[string]any `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.body, &resp); err != nil {
		return "", Unknown
	}
	if r.status == http.StatusNotFound {
		// KV v2 answers a missing secret with 404 and no error text; a 404
		// with errors is something else (no such mount) and observed nothing.
		if len(resp.Errors) > 0 {
			return "", Fail
		}
		return "", OK
	}
	v, _ := resp.Data.Data["v"].(string)
	return v, OK
}

// reply is what one request saw.
type reply struct {
	err     error // no response at all
	status  int
	body    []byte
	bodyErr error // the status arrived, the body did not
}

// do sends one request.
func (k *kvClient) do(ctx context.Context, method, key string, body []byte) reply {
	ctx, cancel := context.WithTimeout(ctx, k.reqTTL)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, k.base+key, rd)
	if err != nil {
		return reply{err: err}
	}
	req.Header.Set("X-Vault-Token", k.token)
	req.Header.Set("X-Vault-Request", "true")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := k.hc.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, body: b, bodyErr: err}
}

// outcome classifies a reply. Only what proves the request was not applied
// is Fail: a connection that was never made, a 4xx (rejected before it was
// applied; get handles KV v2's 404 for a missing secret), a 503 saying the node is
// sealed. A status of 2xx is OK even if the body was cut short: the status
// is the acknowledgement. Everything else — timeouts, resets after the
// request was sent, other 5xx — is Unknown.
func (r reply) outcome() Outcome {
	switch {
	case r.err != nil:
		var op *net.OpError
		if errors.As(r.err, &op) && op.Op == "dial" {
			return Fail
		}
		return Unknown
	case r.status >= 200 && r.status < 300:
		return OK
	case r.status >= 400 && r.status < 500:
		return Fail
	case r.status == http.StatusServiceUnavailable && bytes.Contains(r.body, []byte("Vault is sealed")):
		return Fail
	}
	return Unknown
}

// pauseFor waits d or until ctx ends.
func pauseFor(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
