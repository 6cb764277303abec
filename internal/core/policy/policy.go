package policy

import (
	"math/bits"
	"sort"
	"strings"
	"time"
)

// Names of the built-in policies.
const (
	RootName    = "root"
	DefaultName = "default"
)

// Capability names, as Vault spells them.
const (
	CapCreate    = "create"
	CapRead      = "read"
	CapUpdate    = "update"
	CapPatch     = "patch"
	CapDelete    = "delete"
	CapList      = "list"
	CapSudo      = "sudo"
	CapDeny      = "deny"
	CapSubscribe = "subscribe"
	CapRecover   = "recover"
	// CapRoot is reported by ACL.Capabilities for a root ACL; it cannot be
	// written in a policy.
	CapRoot = "root"
)

// capSet is a set of capabilities as bits. A set holding capDeny holds
// nothing else (NewACL and parseCapabilities keep it so).
type capSet uint16

const (
	capDeny capSet = 1 << iota
	capCreate
	capRead
	capUpdate
	capPatch
	capDelete
	capList
	capSudo
	capSubscribe
	capRecover
)

var capByName = map[string]capSet{
	CapDeny:      capDeny,
	CapCreate:    capCreate,
	CapRead:      capRead,
	CapUpdate:    capUpdate,
	CapPatch:     capPatch,
	CapDelete:    capDelete,
	CapList:      capList,
	CapSudo:      capSudo,
	CapSubscribe: capSubscribe,
	CapRecover:   capRecover,
}

// has reports whether every capability of c is in s.
func (s capSet) has(c capSet) bool { return s&c == c }

// grants reports whether s allows anything at all.
func (s capSet) grants() bool { return s != 0 && !s.has(capDeny) }

// merge unions two capability sets of the same pattern; deny on either side
// wins over everything.
func (s capSet) merge(o capSet) capSet {
	if s.has(capDeny) || o.has(capDeny) {
		return capDeny
	}
	return s | o
}

// names returns the sorted capability names in s.
func (s capSet) names() []string {
	out := make([]string, 0, bits.OnesCount16(uint16(s)))
	for name, c := range capByName {
		if s.has(c) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Legacy values of the deprecated `policy = "..."` shorthand.
var legacyCaps = map[string]capSet{
	"deny":  capDeny,
	"read":  capRead | capList,
	"write": capCreate | capRead | capUpdate | capDelete | capList,
	"sudo":  capCreate | capRead | capUpdate | capDelete | capList | capSudo,
}

// Policy is a named, parsed ACL policy. Policies returned by Parse and by the
// Store are shared: treat them as read-only.
type Policy struct {
	// Name is lowercased; "root" only for Root().
	Name string
	// Raw is the text the policy was parsed from.
	Raw string
	// Paths holds the rules in the order they were written.
	Paths []*PathRules
}

// PathRules is one `path "..." { ... }` block.
type PathRules struct {
	// Path is the pattern as written, without a leading "/".
	Path string
	// Line is where the block starts in Raw (0 when unknown).
	Line int
	// Capabilities are the effective capabilities of the block, sorted:
	// those listed plus those of the legacy `policy` shorthand, or just
	// ["deny"] when deny is among them.
	Capabilities []string
	// Policy is the deprecated shorthand ("read", "write", "deny", "sudo")
	// when given; its effect is already folded into Capabilities.
	Policy string
	// Comment is the block's optional `comment` attribute.
	Comment string

	// MinWrappingTTL and MaxWrappingTTL are enforced through ACL.Allowed's
	// Result (CheckWrapTTL). The other attributes below are parsed,
	// validated and kept, but not enforced. Parameter names are
	// lowercased, as Vault does.
	AllowedParameters   map[string][]any
	DeniedParameters    map[string][]any
	RequiredParameters  []string
	MinWrappingTTL      time.Duration
	MaxWrappingTTL      time.Duration
	MFAMethods          []string
	SubscribeEventTypes []string
}

// Root returns the built-in root policy: an ACL holding it allows
// everything, with sudo everywhere.
func Root() *Policy { return &Policy{Name: RootName} }

// SanitizeName normalizes a policy name the way Vault does: trimmed and
// lowercased.
func SanitizeName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }
