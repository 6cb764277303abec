package diag

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// InFlightRequest is one request the node is serving, as sys/in-flight-req
// shows it (Vault's field names).
type InFlightRequest struct {
	StartTime           time.Time `json:"start_time"`
	ClientRemoteAddress string    `json:"client_remote_address"`
	RequestPath         string    `json:"request_path"`
	RequestMethod       string    `json:"request_method"`
	ClientID            string    `json:"client_id"`
}

// InFlight is the node's table of requests being served, filled by the
// HTTP layer. Its zero value is ready to use.
type InFlight struct {
	m sync.Map // request id → *InFlightRequest
}

// Add records a request under id until the returned func is called.
func (f *InFlight) Add(id string, r *InFlightRequest) (done func()) {
	f.m.Store(id, r)
	return func() { f.m.Delete(id) }
}

// Snapshot returns the requests in flight by id.
func (f *InFlight) Snapshot() map[string]*InFlightRequest {
	out := map[string]*InFlightRequest{}
	f.m.Range(func(k, v any) bool {
		out[k.(string)] = v.(*InFlightRequest)
		return true
	})
	return out
}

// InFlightResponse renders the table as sys/in-flight-req answers it: a
// JSON object keyed by request id, not an envelope, as in Vault.
func InFlightResponse(f *InFlight) (*logical.Response, error) {
	b, err := json.Marshal(f.Snapshot())
	if err != nil {
		return nil, fmt.Errorf("in-flight requests: %w", err)
	}
	return &logical.Response{Raw: b, RawContentType: "application/json", RawStatus: http.StatusOK}, nil
}

// InFlightPaths serve sys/in-flight-req (read on it, or the listener's
// unauthenticated_in_flight_requests_access).
func InFlightPaths(f *InFlight) []*logical.Path {
	return []*logical.Path{{
		Pattern: "in-flight-req",
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
				return InFlightResponse(f)
			},
		},
	}}
}
