package http

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestMaxRequestDuration: a request still running at the listener's
// max_request_duration has its context cancelled, so the handler gives up
// instead of holding the connection.
func TestMaxRequestDuration(t *testing.T) {
	got := make(chan error, 1)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			got <- r.Context().Err()
			w.WriteHeader(http.StatusServiceUnavailable)
		case <-time.After(60 * time.Second):
			got <- nil
		}
	})
	srv := httptest.NewServer(WrapListener(slow, ListenerOptions{MaxRequestDuration: 200 * time.Millisecond}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-got; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("handler context ended with %v, want the deadline", err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
