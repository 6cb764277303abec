package server

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestInFlightRequests: sys/in-flight-req lists the requests being served
// (Vault's fields) and needs a token, unless the listener's
// inflight_requests_logging { unauthenticated_in_flight_requests_access }
// is set.
func TestInFlightRequests(t *testing.T) {
	type entry struct {
		StartTime           time.Time `json:"start_time"`
		ClientRemoteAddress string    `json:"client_remote_address"`
		RequestPath         string    `json:"request_path"`
		RequestMethod       string    `json:"request_method"`
	}
	// check holds a request open (a 2s CPU profile) and polls the table
	// until it shows.
	check := func(t *testing.T, srv *testServer, root, token string) {
		t.Helper()
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Not call: t.Fatal must not run outside the test's goroutine.
			req, _ := http.NewRequest(http.MethodGet, "http://"+srv.addr+"/v1/sys/pprof/profile?seconds=2", nil)
			req.Header.Set("X-Vault-Token", root)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		defer func() { <-done }()
		h := map[string]string{}
		if token != "" {
			h["X-Vault-Token"] = token
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, body := call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/in-flight-req", h, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("in-flight-req: %d %s", resp.StatusCode, body)
			}
			var table map[string]entry
			if err := json.Unmarshal(body, &table); err != nil {
				t.Fatalf("in-flight-req: %v: %s", err, body)
			}
			self, held := false, false
			for id, e := range table {
				if id == "" || e.StartTime.IsZero() || e.ClientRemoteAddress == "" || e.RequestMethod != http.MethodGet {
					t.Errorf("incomplete entry %s: %+v", id, e)
				}
				self = self || e.RequestPath == "/v1/sys/in-flight-req"
				held = held || e.RequestPath == "/v1/sys/pprof/profile"
			}
			if self && held {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the table never showed both requests: %s", body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	t.Run("token", func(t *testing.T) {
		srv, root := metricsServer(t, "", "")
		resp, body := call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/in-flight-req", nil, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("no token: %d %s, want 403", resp.StatusCode, body)
		}
		check(t, srv, root, root)
	})
	t.Run("unauthenticated_in_flight_requests_access", func(t *testing.T) {
		srv, root := metricsServer(t, "", "  inflight_requests_logging {\n    unauthenticated_in_flight_requests_access = true\n  }")
		check(t, srv, root, "")
	})
}
