package lockout

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

type fakeHost struct{ s *logical.InmemStorage }

func (h fakeHost) Storage() logical.Storage { return h.s }
func (h fakeHost) AuthMount(acc string) (string, *Partial, bool) {
	return "userpass", nil, acc == "auth_userpass_1"
}

func TestSettingsLayers(t *testing.T) {
	yes, no := true, false
	m := New(fakeHost{logical.NewInmemStorage()}, Config{Server: map[string]*Partial{
		"all":      {Duration: 10 * time.Minute, CounterReset: time.Minute},
		"userpass": {Threshold: 25, Duration: 5 * time.Minute},
		"ldap":     {Disable: &yes},
	}})
	for _, tc := range []struct {
		typ   string
		tuned *Partial
		want  Settings
	}{
		{"userpass", nil, Settings{Threshold: 25, Duration: 5 * time.Minute, CounterReset: time.Minute}},
		{"approle", nil, Settings{Threshold: 5, Duration: 10 * time.Minute, CounterReset: time.Minute}},
		{"ldap", nil, Settings{Threshold: 5, Duration: 10 * time.Minute, CounterReset: time.Minute, Disabled: true}},
		{"ldap", &Partial{Disable: &no}, Settings{Threshold: 5, Duration: 10 * time.Minute, CounterReset: time.Minute}},
		{"userpass", &Partial{Threshold: 3}, Settings{Threshold: 3, Duration: 5 * time.Minute, CounterReset: time.Minute}},
		{"cert", nil, Settings{Threshold: 5, Duration: 10 * time.Minute, CounterReset: time.Minute, Disabled: true}},
	} {
		if got := m.SettingsFor(tc.typ, tc.tuned); got != tc.want {
			t.Errorf("SettingsFor(%s, %+v) = %+v, want %+v", tc.typ, tc.tuned, got, tc.want)
		}
	}
	off := New(fakeHost{logical.NewInmemStorage()}, Config{DisableAll: true})
	if !off.SettingsFor("userpass", nil).Disabled {
		t.Error("DisableAll left lockout on")
	}
}

// TestConcurrentFailures: failures racing for one alias lock it exactly
// once, at the threshold; the lock is stored and survives a Reset (a new
// activation reads it back).
func TestConcurrentFailures(t *testing.T) {
	ctx := context.Background()
	st := logical.NewInmemStorage()
	m := New(fakeHost{st}, Config{})
	s := Settings{Threshold: 10, Duration: time.Hour, CounterReset: time.Hour}
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.Failed(ctx, "auth_userpass_1", "alice", s); err != nil {
				t.Error(err)
			}
			_ = m.Check(ctx, "auth_userpass_1", "bob", s)
		}()
	}
	wg.Wait()
	if err := m.Check(ctx, "auth_userpass_1", "alice", s); !errors.Is(err, ErrLocked) || !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("Check(alice) = %v, want ErrLocked", err)
	}
	keys, _ := st.List(ctx, "auth_userpass_1/")
	if len(keys) != 1 {
		t.Fatalf("stored locks = %v, want one", keys)
	}
	m.Reset()
	if err := m.Check(ctx, "auth_userpass_1", "alice", s); !errors.Is(err, ErrLocked) {
		t.Fatalf("after Reset, Check(alice) = %v, want ErrLocked", err)
	}
	if err := m.Unlock(ctx, "auth_userpass_1", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := m.Check(ctx, "auth_userpass_1", "alice", s); err != nil {
		t.Fatalf("after Unlock: %v", err)
	}
	if keys, _ := st.List(ctx, "auth_userpass_1/"); len(keys) != 0 {
		t.Fatalf("stored locks after unlock = %v", keys)
	}
}

// TestAliasWithSlash: an alias is any string (an LDAP DN, a role ID): it
// is stored under an encoded key and read back whole.
func TestAliasWithSlash(t *testing.T) {
	ctx := context.Background()
	m := New(fakeHost{logical.NewInmemStorage()}, Config{})
	s := Settings{Threshold: 1, Duration: time.Hour, CounterReset: time.Hour}
	alias := "cn=a/b,dc=example"
	if err := m.Failed(ctx, "auth_userpass_1", alias, s); err != nil {
		t.Fatal(err)
	}
	m.Reset()
	if err := m.Check(ctx, "auth_userpass_1", alias, s); !errors.Is(err, ErrLocked) {
		t.Fatalf("Check = %v, want ErrLocked", err)
	}
	resp, err := m.handleList(ctx, nil, &logical.FieldData{Raw: map[string]any{}, Schema: m.Paths()[0].Fields})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Data["total"] != 1 {
		t.Fatalf("list = %v", resp.Data)
	}
}
