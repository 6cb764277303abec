package logical

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// leaseBackend is a FrameworkBackend with two secret types, an auth renew
// handler, and hooks that record what they were called with.
type leaseBackend struct {
	*FrameworkBackend
	calls []string
	got   *Request
	incr  any
	given bool
}

func newLeaseBackend() *leaseBackend {
	lb := &leaseBackend{}
	record := func(name string) OperationFunc {
		return func(_ context.Context, req *Request, d *FieldData) (*Response, error) {
			lb.calls = append(lb.calls, name)
			lb.got = req
			if _, ok := d.Schema["increment"]; ok {
				lb.incr, lb.given = d.GetOk("increment")
			}
			return &Response{Data: map[string]any{"by": name}}, nil
		}
	}
	lb.FrameworkBackend = &FrameworkBackend{
		Secrets: []*SecretType{
			{
				Type:   "creds",
				Fields: map[string]*FieldSchema{"increment": {Type: TypeDurationSecond}},
				Renew:  record("creds-renew"),
				Revoke: record("creds-revoke"),
			},
			// "static" can be neither renewed nor undone.
			{Type: "static"},
		},
		AuthRenew: record("auth-renew"),
		Paths: []*Path{{
			Pattern:    "creds/(?P<name>.+)",
			Operations: map[Operation]OperationFunc{ReadOperation: record("read")},
		}},
	}
	return lb
}

func secretOf(typ any) *Secret {
	in := map[string]any{"user": "u-1"}
	if typ != nil {
		in[SecretTypeKey] = typ
	}
	return &Secret{InternalData: in, LeaseID: "db/creds/app/abc"}
}

// TestLeaseDispatch: renew and revoke reach the handler of the lease's
// secret type (or AuthRenew for a login token), with the secret's internal
// data handed back; what cannot be served fails with a clear status.
func TestLeaseDispatch(t *testing.T) {
	cases := []struct {
		name     string
		req      *Request
		wantCall string // "" when no handler may run
		wantNil  bool   // a nil response with no error
		status   int    // expected StatusOf when an error is expected
		errIs    error
	}{
		{name: "renew goes to the secret type", req: &Request{Operation: RenewOperation, Path: "creds/app", Secret: secretOf("creds")}, wantCall: "creds-renew"},
		{name: "revoke goes to the secret type", req: &Request{Operation: RevokeOperation, Path: "creds/app", Secret: secretOf("creds")}, wantCall: "creds-revoke"},
		{name: "renew with an unknown secret type", req: &Request{Operation: RenewOperation, Secret: secretOf("gone")}, status: http.StatusBadRequest, errIs: ErrUnknownSecretType},
		{name: "revoke with an unknown secret type", req: &Request{Operation: RevokeOperation, Secret: secretOf("gone")}, status: http.StatusBadRequest, errIs: ErrUnknownSecretType},
		{name: "secret without a type", req: &Request{Operation: RenewOperation, Secret: secretOf(nil)}, status: http.StatusBadRequest, errIs: ErrUnknownSecretType},
		{name: "secret type that is not a string", req: &Request{Operation: RenewOperation, Secret: secretOf(42)}, status: http.StatusBadRequest, errIs: ErrUnknownSecretType},
		{name: "renew without a secret", req: &Request{Operation: RenewOperation}, status: http.StatusBadRequest, errIs: ErrInvalidRequest},
		{name: "revoke without a secret", req: &Request{Operation: RevokeOperation}, status: http.StatusBadRequest, errIs: ErrInvalidRequest},
		{name: "renew of a type without Renew", req: &Request{Operation: RenewOperation, Secret: secretOf("static")}, status: http.StatusMethodNotAllowed, errIs: ErrUnsupportedOperation},
		{name: "revoke of a type without Revoke ends the lease", req: &Request{Operation: RevokeOperation, Secret: secretOf("static")}, wantNil: true},
		{name: "auth renew goes to AuthRenew", req: &Request{Operation: RenewOperation, Auth: &Auth{ClientToken: "t", Increment: time.Hour}}, wantCall: "auth-renew"},
		{name: "a bad increment is refused before the handler", req: &Request{Operation: RenewOperation, Secret: secretOf("creds"), Data: map[string]any{"increment": "soon"}}, status: http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lb := newLeaseBackend()
			resp, err := lb.HandleRequest(context.Background(), tc.req)
			if tc.status != 0 {
				if err == nil {
					t.Fatalf("no error; response %+v", resp)
				}
				if st, _ := StatusOf(err); st != tc.status {
					t.Fatalf("status %d, want %d (%v)", st, tc.status, err)
				}
				if tc.errIs != nil && !errors.Is(err, tc.errIs) {
					t.Fatalf("error %v is not %v", err, tc.errIs)
				}
				if len(lb.calls) != 0 {
					t.Fatalf("handlers ran: %v", lb.calls)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantNil {
				if resp != nil || len(lb.calls) != 0 {
					t.Fatalf("response %+v, calls %v; want nothing", resp, lb.calls)
				}
				return
			}
			if len(lb.calls) != 1 || lb.calls[0] != tc.wantCall || resp.Data["by"] != tc.wantCall {
				t.Fatalf("calls %v, response %+v; want one call to %s", lb.calls, resp, tc.wantCall)
			}
			if tc.req.Secret != nil && lb.got.Secret.InternalData["user"] != "u-1" {
				t.Fatalf("the handler did not get the secret's internal data: %+v", lb.got.Secret)
			}
			if tc.req.Auth != nil && lb.got.Auth.Increment != time.Hour {
				t.Fatalf("the auth renew handler did not get the increment: %+v", lb.got.Auth)
			}
		})
	}
}

// TestLeaseNullFields: a JSON null in a renewal's body reads as "not
// given", as everywhere else in the framework.
func TestLeaseNullFields(t *testing.T) {
	for _, tc := range []struct {
		name      string
		data      map[string]any
		want      any
		wantGiven bool
	}{
		{"null", map[string]any{"increment": nil}, 0, false},
		{"absent", nil, 0, false},
		{"given", map[string]any{"increment": "1h"}, 3600, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lb := newLeaseBackend()
			_, err := lb.HandleRequest(context.Background(), &Request{Operation: RenewOperation, Secret: secretOf("creds"), Data: tc.data})
			if err != nil {
				t.Fatal(err)
			}
			if lb.incr != tc.want || lb.given != tc.wantGiven {
				t.Fatalf("increment %v (given %v), want %v (given %v)", lb.incr, lb.given, tc.want, tc.wantGiven)
			}
		})
	}
}

// TestAuthRenewUnsupported: an auth method without AuthRenew refuses to
// renew its tokens with 405, and so does a backend's path router never see
// a renew.
func TestAuthRenewUnsupported(t *testing.T) {
	b := &FrameworkBackend{Paths: []*Path{{Pattern: ".*", Operations: map[Operation]OperationFunc{
		RenewOperation: func(context.Context, *Request, *FieldData) (*Response, error) {
			t.Fatal("a renew reached a path handler")
			return nil, nil
		},
	}}}}
	_, err := b.HandleRequest(context.Background(), &Request{Operation: RenewOperation, Path: "x", Auth: &Auth{ClientToken: "t"}})
	if st, _ := StatusOf(err); st != http.StatusMethodNotAllowed || !errors.Is(err, ErrUnsupportedOperation) {
		t.Fatalf("status %d, error %v; want 405 unsupported operation", st, err)
	}
}

// TestRollback: a rollback runs the periodic func, then the rollback hook,
// both even when the first fails, whatever the path; with neither hook it
// does nothing.
func TestRollback(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name         string
		periodicErr  error
		rollbackErr  error
		noHooks      bool
		wantCalls    []string
		wantErrParts []error
	}{
		{name: "both run in order", wantCalls: []string{"periodic", "rollback"}},
		{name: "periodic fails, rollback still runs", periodicErr: boom, wantCalls: []string{"periodic", "rollback"}, wantErrParts: []error{boom}},
		{name: "rollback fails", rollbackErr: boom, wantCalls: []string{"periodic", "rollback"}, wantErrParts: []error{boom}},
		{name: "no hooks", noHooks: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			b := &FrameworkBackend{}
			if !tc.noHooks {
				b.PeriodicFunc = func(_ context.Context, req *Request) error {
					calls = append(calls, "periodic")
					if req.Storage == nil {
						t.Error("periodic func without storage")
					}
					return tc.periodicErr
				}
				b.Rollback = func(context.Context, *Request) error {
					calls = append(calls, "rollback")
					return tc.rollbackErr
				}
			}
			resp, err := b.HandleRequest(context.Background(), &Request{Operation: RollbackOperation, Path: "", Storage: NewInmemStorage()})
			if resp != nil {
				t.Fatalf("rollback answered %+v", resp)
			}
			if !reflect.DeepEqual(calls, tc.wantCalls) {
				t.Fatalf("calls %v, want %v", calls, tc.wantCalls)
			}
			if len(tc.wantErrParts) == 0 && err != nil {
				t.Fatal(err)
			}
			for _, e := range tc.wantErrParts {
				if !errors.Is(err, e) {
					t.Fatalf("error %v does not carry %v", err, e)
				}
			}
		})
	}
}

// TestSecretTypeResponse: Response stamps the type into a copy of the
// internal data and takes the type's default duration and renewability.
func TestSecretTypeResponse(t *testing.T) {
	internal := map[string]any{"user": "u-1"}
	renewable := &SecretType{Type: "creds", DefaultDuration: time.Hour, Renew: func(context.Context, *Request, *FieldData) (*Response, error) { return nil, nil }}
	resp := renewable.Response(map[string]any{"password": "p"}, internal)
	s := resp.Secret
	if s == nil || s.TTL != time.Hour || !s.Renewable || s.LeaseID != "" || s.InternalData[SecretTypeKey] != "creds" || s.InternalData["user"] != "u-1" {
		t.Fatalf("secret %+v", s)
	}
	if _, ok := internal[SecretTypeKey]; ok {
		t.Fatal("Response changed the caller's internal data")
	}
	if resp.Data["password"] != "p" {
		t.Fatalf("data %+v", resp.Data)
	}
	fixed := &SecretType{Type: "static"}
	if s := fixed.Response(nil, nil).Secret; s.Renewable || s.TTL != 0 || s.InternalData[SecretTypeKey] != "static" {
		t.Fatalf("secret %+v", s)
	}
}

func TestReplicationState(t *testing.T) {
	for _, tc := range []struct {
		s    ReplicationState
		want string
	}{
		{ReplicationUnknown, "disabled"},
		{ReplicationDRPrimary, "dr-primary"},
		{ReplicationPerformancePrimary | ReplicationDRSecondary, "perf-primary, dr-secondary"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%d: %q, want %q", tc.s, got, tc.want)
		}
	}
	if ReplicationUnknown.HasState(ReplicationUnknown) || !ReplicationDRPrimary.HasState(ReplicationDRPrimary) || ReplicationDRPrimary.HasState(ReplicationDRSecondary) {
		t.Fatal("HasState")
	}
	// Vault's bit positions: clients and plugins compare the numbers.
	if ReplicationPerformancePrimary != 1<<5 || ReplicationDRPrimary != 1<<8 || ReplicationPerformanceStandby != 1<<12 {
		t.Fatalf("flag values %d %d %d", ReplicationPerformancePrimary, ReplicationDRPrimary, ReplicationPerformanceStandby)
	}
}

func TestDuplicateSecretTypePanics(t *testing.T) {
	for _, types := range [][]*SecretType{{{Type: "a"}, {Type: "a"}}, {{Type: ""}}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic for %d types", len(types))
				}
			}()
			(&FrameworkBackend{Secrets: types}).Secret("a")
		}()
	}
}
