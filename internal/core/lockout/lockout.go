package lockout

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// ErrLocked is the answer to a login of a locked-out alias: Vault's 403
// "permission denied", whatever the credentials.
var ErrLocked = fmt.Errorf("user is locked out: %w", logical.ErrPermissionDenied)

// Settings are a mount's effective lockout settings.
type Settings struct {
	Threshold    int64
	Duration     time.Duration
	CounterReset time.Duration
	Disabled     bool
}

// Defaults are Vault's.
var Defaults = Settings{Threshold: 5, Duration: 15 * time.Minute, CounterReset: 15 * time.Minute}

// Partial is one layer of settings (a server stanza, a mount's tune): zero
// fields are not set there and leave the layer below in place.
type Partial struct {
	Threshold    int64
	Duration     time.Duration
	CounterReset time.Duration
	// Disable, when set, says whether lockout is off.
	Disable *bool
}

func (s Settings) over(p *Partial) Settings {
	if p == nil {
		return s
	}
	if p.Threshold > 0 {
		s.Threshold = p.Threshold
	}
	if p.Duration > 0 {
		s.Duration = p.Duration
	}
	if p.CounterReset > 0 {
		s.CounterReset = p.CounterReset
	}
	if p.Disable != nil {
		s.Disabled = *p.Disable
	}
	return s
}

// Config is the server's side of the settings.
type Config struct {
	// Server holds the user_lockout stanzas by name: "all", "userpass",
	// "ldap", "approle".
	Server map[string]*Partial
	// DisableAll turns lockout off everywhere (VAULT_DISABLE_USER_LOCKOUT).
	DisableAll bool
	Now        func() time.Time
	Logger     *slog.Logger
}

// Host is what the room needs from the kernel: the storage of locked
// aliases (replicated, in the barrier) and the auth mounts.
type Host interface {
	Storage() logical.Storage
	// AuthMount returns the type and tuned settings of the auth mount with
	// this accessor; ok is false when there is none.
	AuthMount(accessor string) (typ string, tuned *Partial, ok bool)
}

type key struct{ accessor, alias string }

type failures struct {
	count int64
	last  time.Time
}

// lockedEntry is a locked alias as storage keeps it.
type lockedEntry struct {
	Accessor   string    `json:"mount_accessor"`
	Alias      string    `json:"alias"`
	LockedTime time.Time `json:"locked_time"`
}

// Manager is the room. Its methods are safe for concurrent use.
type Manager struct {
	host Host
	conf Config

	mu     sync.Mutex
	failed map[key]*failures
	locked map[key]time.Time
	loaded bool
}

// New returns the room over host.
func New(host Host, conf Config) *Manager {
	if conf.Now == nil {
		conf.Now = time.Now
	}
	if conf.Logger == nil {
		conf.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{host: host, conf: conf, failed: map[key]*failures{}, locked: map[key]time.Time{}}
}

// Applies reports whether user lockout exists for auth methods of typ.
func Applies(typ string) bool {
	return typ == "userpass" || typ == "ldap" || typ == "approle"
}

// SettingsFor resolves the settings of a mount of typ tuned with tuned.
func (m *Manager) SettingsFor(typ string, tuned *Partial) Settings {
	s := Defaults.over(m.conf.Server["all"]).over(m.conf.Server[typ]).over(tuned)
	if m.conf.DisableAll || !Applies(typ) {
		s.Disabled = true
	}
	return s
}

// Reset forgets everything held in memory: the node stops being active.
func (m *Manager) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failed, m.locked, m.loaded = map[key]*failures{}, map[key]time.Time{}, false
}

// load reads the locked aliases once per activation; m.mu is held.
func (m *Manager) load(ctx context.Context) error {
	if m.loaded {
		return nil
	}
	s := m.host.Storage()
	accessors, err := s.List(ctx, "")
	if err != nil {
		return fmt.Errorf("list locked users: %w", err)
	}
	locked := map[key]time.Time{}
	for _, acc := range accessors {
		names, err := s.List(ctx, acc)
		if err != nil {
			return fmt.Errorf("list locked users: %w", err)
		}
		for _, n := range names {
			ent, err := s.Get(ctx, acc+n)
			if err != nil {
				return fmt.Errorf("read locked user: %w", err)
			}
			if ent == nil {
				continue
			}
			var le lockedEntry
			if err := json.Unmarshal(ent.Value, &le); err != nil {
				return fmt.Errorf("decode locked user %s: %w", acc+n, err)
			}
			locked[key{le.Accessor, le.Alias}] = le.LockedTime
		}
	}
	m.locked, m.loaded = locked, true
	return nil
}

func storageKey(k key) string {
	return k.accessor + "/" + base64.RawURLEncoding.EncodeToString([]byte(k.alias))
}

// Check refuses (ErrLocked) a login of alias on the mount with accessor
// while the alias is locked out. A lock past its duration is lifted.
func (m *Manager) Check(ctx context.Context, accessor, alias string, s Settings) error {
	if s.Disabled || alias == "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.load(ctx); err != nil {
		return err
	}
	k := key{accessor, alias}
	at, ok := m.locked[k]
	if !ok {
		return nil
	}
	if m.conf.Now().Before(at.Add(s.Duration)) {
		return ErrLocked
	}
	if err := m.unlockLocked(ctx, k); err != nil {
		return err
	}
	return nil
}

// Failed counts a failed login of alias; at the threshold the alias is
// locked out.
func (m *Manager) Failed(ctx context.Context, accessor, alias string, s Settings) error {
	if s.Disabled || alias == "" {
		return nil
	}
	now := m.conf.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.load(ctx); err != nil {
		return err
	}
	k := key{accessor, alias}
	f := m.failed[k]
	if f == nil || now.Sub(f.last) > s.CounterReset {
		f = &failures{}
		m.failed[k] = f
	}
	f.count++
	f.last = now
	if f.count < s.Threshold {
		return nil
	}
	if _, already := m.locked[k]; already {
		return nil
	}
	buf, err := json.Marshal(&lockedEntry{Accessor: accessor, Alias: alias, LockedTime: now.UTC()})
	if err != nil {
		return err
	}
	if err := m.host.Storage().Put(ctx, &logical.StorageEntry{Key: storageKey(k), Value: buf}); err != nil {
		return fmt.Errorf("store locked user: %w", err)
	}
	m.locked[k] = now
	delete(m.failed, k)
	m.conf.Logger.Warn("user locked out after failed logins", "mount_accessor", accessor, "failures", f.count, "lockout_duration", s.Duration.String())
	return nil
}

// Succeeded resets the alias's failure count.
func (m *Manager) Succeeded(accessor, alias string) {
	m.mu.Lock()
	delete(m.failed, key{accessor, alias})
	m.mu.Unlock()
}

// Unlock lifts the lock of alias, if any (idempotent, as Vault's).
func (m *Manager) Unlock(ctx context.Context, accessor, alias string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.load(ctx); err != nil {
		return err
	}
	return m.unlockLocked(ctx, key{accessor, alias})
}

func (m *Manager) unlockLocked(ctx context.Context, k key) error {
	if err := m.host.Storage().Delete(ctx, storageKey(k)); err != nil {
		return fmt.Errorf("delete locked user: %w", err)
	}
	delete(m.locked, k)
	delete(m.failed, k)
	return nil
}
