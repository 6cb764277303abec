package mount

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// fakeHost is the core as the room's tests need it: the sys/ mount serves
// the room's own paths, the token mount answers nothing, and only the
// "root" policy reaches anything.
type fakeHost struct{ m *Mounts }

func (h *fakeHost) SystemBackend() logical.Backend {
	return &logical.FrameworkBackend{
		Paths:        h.m.Paths(),
		PathsSpecial: &logical.Paths{Root: h.m.RootPaths(), Unauthenticated: h.m.UnauthenticatedPaths()},
	}
}

func (h *fakeHost) TokenBackend() logical.Backend { return &logical.FrameworkBackend{} }

func (h *fakeHost) IdentityBackend() logical.Backend { return &logical.FrameworkBackend{} }

func (h *fakeHost) EntityInfo(context.Context, string) (*logical.Entity, error) { return nil, nil }

func (h *fakeHost) GroupsForEntity(context.Context, string) ([]*logical.Group, error) {
	return nil, nil
}

func (h *fakeHost) RevokeLeases(context.Context, string) error { return nil }

func (h *fakeHost) HasAccessUnder(_ context.Context, policies []string, _, _ string) (bool, error) {
	return slices.Contains(policies, "root"), nil
}

func (h *fakeHost) ResponseWrapData(context.Context, map[string]any, time.Duration, bool) (*logical.ResponseWrapInfo, error) {
	return nil, logical.ErrWrappingUnavailable
}

// newTestMounts is a loaded room over inmem storage with the default rows
// (cubbyhole/, sys/, auth/token/) and the builtin engines plus extra ones.
func newTestMounts(t *testing.T, log io.Writer, extra map[string]logical.Factory) *Mounts {
	t.Helper()
	if log == nil {
		log = io.Discard
	}
	engines := builtin.SecretEngines()
	for k, f := range extra {
		engines[k] = f
	}
	h := &fakeHost{}
	m := New(h, Options{
		Storage: inmem.New(), SecretEngines: engines, AuthMethods: builtin.AuthMethods(),
		DefaultLeaseTTL: 768 * time.Hour, MaxLeaseTTL: 768 * time.Hour,
		Logger: slog.New(slog.NewTextHandler(log, nil)),
	})
	h.m = m
	ctx := context.Background()
	if err := m.SetupDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Teardown(context.Background()) })
	return m
}

// do routes a request the way the core does (longest-prefix match, path
// relative to the mount) and fails the test on an error.
func do(t *testing.T, m *Mounts, op logical.Operation, path string, data map[string]any) *logical.Response {
	t.Helper()
	resp, err := try(m, op, path, data)
	if err != nil {
		t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

func try(m *Mounts, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	rt, rel := m.Router().Match(path)
	if rt == nil {
		return nil, logical.ErrUnsupportedPath
	}
	req := &logical.Request{Operation: op, Path: rel, Data: data, MountPoint: rt.Mount, Policies: []string{"root"}, ClientToken: "root"}
	if rt.Storage != nil {
		req.Storage = rt.Storage
	}
	return rt.Backend.HandleRequest(context.Background(), req)
}
