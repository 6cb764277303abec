package testcluster

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// addrNode is a Node that only has an address: enough for a Workload.
type addrNode struct {
	Node
	addr string
}

func (n addrNode) APIAddr() string { return n.addr }
func (n addrNode) ID() string      { return "fake" }

// fakeKV is a KV v2 server in memory. bug, when set, decides what a read
// returns and whether a write is kept, to plant violations.
type fakeKV struct {
	mu     sync.Mutex
	vals   map[string][]string // every value written, in order
	writes int
	// stale makes a read return the value before the latest one.
	stale bool
	// keepWrites, when > 0, acknowledges but forgets writes after that many.
	keepWrites int
}

func (f *fakeKV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutPrefix(r.URL.Path, "/v1/secret/data/")
	if !ok || r.Header.Get("X-Vault-Token") != "root" {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vals == nil {
		f.vals = map[string][]string{}
	}
	switch r.Method {
	case http.MethodPost:
		var body struct {
			Data map[string]string `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.writes++
		if f.keepWrites == 0 || f.writes <= f.keepWrites {
			f.vals[key] = append(f.vals[key], body.Data["v"])
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"data":{"version":1}}`))
	case http.MethodGet:
		vs := f.vals[key]
		if f.stale && len(vs) >= 2 {
			vs = vs[:len(vs)-1]
		}
		if len(vs) == 0 {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"errors":[]}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"data": map[string]string{"v": vs[len(vs)-1]}}})
	}
}

func runFakeWorkload(t *testing.T, kv *fakeKV, clients int) Report {
	t.Helper()
	srv := httptest.NewServer(kv)
	defer srv.Close()
	rec := NewRecorder()
	w := &Workload{
		Recorder: rec, Nodes: []Node{addrNode{addr: srv.URL}}, Token: "root",
		Clients: clients, Keys: 3, MaxOps: 200, Duration: 20 * time.Second, Seed: 7,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := w.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Ops != 200 || st.AckedWrites == 0 || st.Reads == 0 || st.Failed+st.Unknown != 0 {
		t.Fatalf("workload stats %v", st)
	}
	if err := w.FinalReads(ctx, addrNode{addr: srv.URL}); err != nil {
		t.Fatal(err)
	}
	return rec.Verify(10 * time.Second)
}

func TestWorkloadOnCorrectStore(t *testing.T) {
	rep := runFakeWorkload(t, &fakeKV{}, 4)
	if !rep.OK() || rep.Ops != 203 {
		t.Fatalf("report %v", rep)
	}
	if !strings.HasSuffix(rep.String(), " acknowledged writes, 0 lost acknowledged writes, history linearizable") {
		t.Fatalf("summary %q", rep.String())
	}
	t.Log(rep)
}

// The checker must catch planted bugs; one client keeps the history (and so
// the verdict) the same on every run.
func TestWorkloadFindsPlantedBugs(t *testing.T) {
	t.Run("stale reads", func(t *testing.T) {
		rep := runFakeWorkload(t, &fakeKV{stale: true}, 1)
		if rep.Result != porcupine.Illegal {
			t.Fatalf("stale reads not caught: %v", rep)
		}
	})
	t.Run("forgotten acknowledged writes", func(t *testing.T) {
		rep := runFakeWorkload(t, &fakeKV{keepWrites: 10}, 1)
		if len(rep.Lost) == 0 || rep.Result != porcupine.Illegal {
			t.Fatalf("lost writes not caught: %v", rep)
		}
	})
}

func TestOutcomeClassification(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	handler := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	closedPort := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return "http://" + ln.Addr().String()
	}()
	tests := []struct {
		name    string
		handler http.HandlerFunc // nil: no server at all
		want    Outcome
	}{
		{"acknowledged", handler(200, `{"data":{}}`), OK},
		{"no content", handler(204, ""), OK},
		{"bad request", handler(400, `{"errors":["bad"]}`), Fail},
		{"permission denied", handler(403, `{"errors":["permission denied"]}`), Fail},
		{"sealed", handler(503, `{"errors":["Vault is sealed"]}`), Fail},
		{"other unavailable", handler(503, `{"errors":["local node not active"]}`), Unknown},
		{"internal error", handler(500, `{"errors":["boom"]}`), Unknown},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			// Read the body first: only then does the server notice the
			// client hanging up and end r's context.
			_, _ = io.Copy(io.Discard, r.Body)
			select { // until the client gives up
			case <-hang:
			case <-r.Context().Done():
			}
		}, Unknown},
		{"connection reset mid-request", func(w http.ResponseWriter, r *http.Request) {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
		}, Unknown},
		{"connection refused", nil, Fail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := closedPort
			if tc.handler != nil {
				srv := httptest.NewServer(tc.handler)
				defer srv.Close()
				addr = srv.URL
			}
			w := &Workload{Recorder: NewRecorder(), Nodes: []Node{addrNode{addr: addr}}, Token: "root", RequestTimeout: 200 * time.Millisecond}
			if err := w.defaults(); err != nil {
				t.Fatal(err)
			}
			if got := w.kvClient(w.Nodes[0]).put(context.Background(), "k", "v"); got != tc.want {
				t.Fatalf("put outcome = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestGetReadsKV2Shapes(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		want       string
		outcome    Outcome
	}{
		{"value", `{"data":{"data":{"v":"x1"},"metadata":{"version":3}}}`, 200, "x1", OK},
		{"missing secret", `{"errors":[]}`, 404, "", OK},
		{"no such mount", `{"errors":["no handler for route \"nope/data/k\""]}`, 404, "", Fail},
		{"garbled body", `{"data":`, 200, "", Unknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			w := &Workload{Recorder: NewRecorder(), Nodes: []Node{addrNode{addr: srv.URL}}}
			if err := w.defaults(); err != nil {
				t.Fatal(err)
			}
			v, o := w.kvClient(w.Nodes[0]).get(context.Background(), "k")
			if v != tc.want || o != tc.outcome {
				t.Fatalf("get = %q, %s; want %q, %s", v, o, tc.want, tc.outcome)
			}
		})
	}
}
