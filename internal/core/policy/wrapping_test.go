package policy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// TestWrappingTTLBounds: Allowed reports a rule's min/max_wrapping_ttl;
// CheckWrapTTL lets through only requests wrapped within them; merging two
// policies keeps the lower of each bound (as Vault), and bounds that end up
// contradicting each other refuse everything.
func TestWrappingTTLBounds(t *testing.T) {
	wrapRule := func(path, min, max string) string {
		s := `path "` + path + `" { capabilities = ["read"]`
		if min != "" {
			s += ` min_wrapping_ttl = "` + min + `"`
		}
		if max != "" {
			s += ` max_wrapping_ttl = "` + max + `"`
		}
		return s + " }\n"
	}
	cases := []struct {
		name     string
		policies []string
		path     string
		min, max time.Duration
		ok, no   []time.Duration
	}{
		{"none", []string{rule("secret/*", "read")}, "secret/a", 0, 0, []time.Duration{0, time.Hour}, nil},
		{"min only", []string{wrapRule("secret/*", "1m", "")}, "secret/a", time.Minute, 0,
			[]time.Duration{time.Minute, time.Hour}, []time.Duration{0, 59 * time.Second}},
		{"max only", []string{wrapRule("secret/a", "", "10m")}, "secret/a", 0, 10 * time.Minute,
			[]time.Duration{time.Second, 10 * time.Minute}, []time.Duration{0, -time.Second, 11 * time.Minute}},
		{"both", []string{wrapRule("secret/+", "1m", "10m")}, "secret/a", time.Minute, 10 * time.Minute,
			[]time.Duration{time.Minute, 10 * time.Minute}, []time.Duration{0, 30 * time.Second, time.Hour}},
		{"merged: lower of each", []string{wrapRule("secret/*", "2m", "20m"), wrapRule("secret/*", "1m", "10m")}, "secret/a",
			time.Minute, 10 * time.Minute, []time.Duration{time.Minute, 10 * time.Minute}, []time.Duration{0, 15 * time.Minute}},
		{"merged exact: contradicting", []string{wrapRule("secret/a", "5m", ""), wrapRule("secret/a", "", "1m")}, "secret/a",
			5 * time.Minute, time.Minute, nil, []time.Duration{0, time.Minute, 3 * time.Minute, 5 * time.Minute}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := mustACL(t, c.policies...).Allowed(c.path, logical.ReadOperation)
			if !res.Allowed || res.MinWrappingTTL != c.min || res.MaxWrappingTTL != c.max {
				t.Fatalf("Allowed = %+v, want min %v max %v", res, c.min, c.max)
			}
			for _, ttl := range c.ok {
				if !res.CheckWrapTTL(ttl) {
					t.Errorf("wrap TTL %v refused", ttl)
				}
			}
			for _, ttl := range c.no {
				if res.CheckWrapTTL(ttl) {
					t.Errorf("wrap TTL %v allowed", ttl)
				}
			}
		})
	}
	root, err := NewACL(Root())
	if err != nil {
		t.Fatal(err)
	}
	if !root.Allowed("secret/a", logical.ReadOperation).CheckWrapTTL(0) {
		t.Error("root refused without wrapping")
	}
}

// TestResponseWrappingPolicy: the built-in response-wrapping policy exists
// without being stored or listed, grants what Vault's does, and cannot be
// written or deleted.
func TestResponseWrappingPolicy(t *testing.T) {
	ctx := context.Background()
	s := NewStore(logical.NewInmemStorage())
	acl, err := s.ACL(ctx, ResponseWrappingName)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		op   logical.Operation
		want bool
	}{
		{"cubbyhole/response", logical.ReadOperation, true},
		{"cubbyhole/response", logical.CreateOperation, true},
		{"cubbyhole/response", logical.UpdateOperation, false},
		{"cubbyhole/other", logical.ReadOperation, false},
		{"sys/wrapping/unwrap", logical.UpdateOperation, true},
		{"sys/wrapping/rewrap", logical.UpdateOperation, false},
		{"auth/token/lookup-self", logical.ReadOperation, false},
	} {
		if got := acl.Allowed(c.path, c.op).Allowed; got != c.want {
			t.Errorf("%s %s: %v, want %v", c.op, c.path, got, c.want)
		}
	}
	if err := s.Set(ctx, ResponseWrappingName, rule("secret/*", "read")); !errors.Is(err, ErrImmutablePolicy) {
		t.Errorf("Set: %v", err)
	}
	if err := s.Delete(ctx, "Response-Wrapping"); !errors.Is(err, ErrCannotDelete) {
		t.Errorf("Delete: %v", err)
	}
	names, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n == ResponseWrappingName {
			t.Errorf("listed: %v", names)
		}
	}
}
