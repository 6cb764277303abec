package logical

import (
	"context"
	"time"
)

// StaticSystemView is a SystemView with fixed answers, for engines tested
// without a core (the core gives each mount a live one).
type StaticSystemView struct {
	DefaultLeaseTTLVal  time.Duration
	MaxLeaseTTLVal      time.Duration
	MountUUIDVal        string
	MountAccessorVal    string
	LocalMountVal       bool
	ReplicationStateVal ReplicationState
}

var _ SystemView = StaticSystemView{}

// DefaultLeaseTTL implements SystemView.
func (s StaticSystemView) DefaultLeaseTTL() time.Duration { return s.DefaultLeaseTTLVal }

// MaxLeaseTTL implements SystemView.
func (s StaticSystemView) MaxLeaseTTL() time.Duration { return s.MaxLeaseTTLVal }

// MountUUID implements SystemView.
func (s StaticSystemView) MountUUID() string { return s.MountUUIDVal }

// MountAccessor implements SystemView.
func (s StaticSystemView) MountAccessor() string { return s.MountAccessorVal }

// LocalMount implements SystemView.
func (s StaticSystemView) LocalMount() bool { return s.LocalMountVal }

// ReplicationState implements SystemView.
func (s StaticSystemView) ReplicationState() ReplicationState { return s.ReplicationStateVal }

// ResponseWrapData implements SystemView: there is no core to wrap with.
func (s StaticSystemView) ResponseWrapData(context.Context, map[string]any, time.Duration, bool) (*ResponseWrapInfo, error) {
	return nil, ErrWrappingUnavailable
}

// EntityInfo implements SystemView: there is no identity store.
func (s StaticSystemView) EntityInfo(context.Context, string) (*Entity, error) { return nil, nil }

// GroupsForEntity implements SystemView: there is no identity store.
func (s StaticSystemView) GroupsForEntity(context.Context, string) ([]*Group, error) { return nil, nil }
