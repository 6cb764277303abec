package tokenutil

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// Token types a role or user may ask for.
const (
	// TypeDefault lets the mount decide (a service token unless the
	// mount's token_type is default-batch).
	TypeDefault = "default"
	// TypeService is a persisted, renewable token.
	TypeService = "service"
	// TypeBatch is a token that is not stored: it carries its own entry,
	// sealed, and can be neither renewed nor revoked.
	TypeBatch = "batch"
	// TypeDefaultService and TypeDefaultBatch are defaults the mount's
	// token_type may override.
	TypeDefaultService = "default-service"
	TypeDefaultBatch   = "default-batch"
)

// Params are the token_* settings of a role or user, as stored. Durations
// are kept as time.Duration; they read back in seconds.
type Params struct {
	TTL             time.Duration `json:"token_ttl"`
	MaxTTL          time.Duration `json:"token_max_ttl"`
	ExplicitMaxTTL  time.Duration `json:"token_explicit_max_ttl"`
	Period          time.Duration `json:"token_period"`
	Policies        []string      `json:"token_policies"`
	BoundCIDRs      []string      `json:"token_bound_cidrs"`
	NoDefaultPolicy bool          `json:"token_no_default_policy"`
	NumUses         int           `json:"token_num_uses"`
	// Type is one of the Type constants ("" reads as TypeDefault).
	Type string `json:"token_type"`
	// Legacy lists the pre-1.2 names the settings were last written with
	// (sorted): each reads back beside its token_* field, as Vault shows
	// "policies" beside "token_policies" for a role set with "policies".
	Legacy []string `json:"legacy_fields,omitempty"`
}

// A field is one token_* setting and the pre-1.2 names it answers to.
type field struct {
	name    string
	aliases []string
	schema  logical.FieldSchema
}

// fields in the order Parse reads them (token_max_ttl before token_ttl, so
// the comparison of the two sees both).
var fields = []field{
	{"token_policies", []string{"policies"}, logical.FieldSchema{Type: logical.TypeCommaStringSlice,
		Description: "Policies to attach to the tokens this role or user logs in with (list or comma-separated string)."}},
	{"token_bound_cidrs", []string{"bound_cidrs", "bound_cidr_list"}, logical.FieldSchema{Type: logical.TypeCommaStringSlice,
		Description: "CIDR blocks or IP addresses the tokens may be used from (and the login made from); empty: anywhere."}},
	{"token_explicit_max_ttl", nil, logical.FieldSchema{Type: logical.TypeDurationSecond,
		Description: "A hard cap on the tokens' life: renewals never pass it, whatever the mount's or the role's max TTL becomes."}},
	{"token_max_ttl", []string{"max_ttl"}, logical.FieldSchema{Type: logical.TypeDurationSecond,
		Description: "The maximum life of the tokens; read again at every renewal."}},
	{"token_ttl", []string{"ttl"}, logical.FieldSchema{Type: logical.TypeDurationSecond,
		Description: "The initial TTL of the tokens; read again at every renewal."}},
	{"token_no_default_policy", nil, logical.FieldSchema{Type: logical.TypeBool,
		Description: "Do not add the \"default\" policy to the tokens."}},
	{"token_num_uses", []string{"num_uses"}, logical.FieldSchema{Type: logical.TypeInt,
		Description: "How many requests a token may make; 0 is unlimited."}},
	{"token_period", []string{"period"}, logical.FieldSchema{Type: logical.TypeDurationSecond,
		Description: "Makes the tokens periodic: each renewal gives them this TTL again, without a max TTL."}},
	{"token_type", nil, logical.FieldSchema{Type: logical.TypeLowerCaseString,
		Description: "The type of the tokens: \"default\", \"service\", \"batch\", \"default-service\" or \"default-batch\"; the mount's token_type may override it."}},
}

// AllAliases are every pre-1.2 name Parse understands. A method passes the
// ones its older API had to Fields (all of them for userpass; AppRole's
// bound_cidr_list meant the secret-id's CIDRs, so it leaves that one out).
var AllAliases = []string{"policies", "bound_cidrs", "bound_cidr_list", "max_ttl", "ttl", "num_uses", "period"}

// Fields adds the token_* fields, and the pre-1.2 aliases named, to a
// path's schema. It panics when a name is already there: a programming
// error, like a bad pattern.
func Fields(schema map[string]*logical.FieldSchema, aliases ...string) {
	add := func(name string, s logical.FieldSchema) {
		if _, dup := schema[name]; dup {
			panic(fmt.Sprintf("tokenutil: field %q already in the schema", name))
		}
		schema[name] = &s
	}
	for _, f := range fields {
		add(f.name, f.schema)
		for _, a := range f.aliases {
			if slices.Contains(aliases, a) {
				s := f.schema
				s.Description = fmt.Sprintf("Deprecated: use %q. When both are given, %q wins.", f.name, f.name)
				add(a, s)
			}
		}
	}
	for _, a := range aliases {
		if !slices.Contains(AllAliases, a) {
			panic(fmt.Sprintf("tokenutil: unknown alias %q", a))
		}
	}
}

// Parse applies the token_* fields (and aliases) the request carries to p,
// leaving the others as they are, and checks the result. A field given
// under its token_* name wins over its alias; a setting given only under
// an alias is remembered so that it reads back under that name too. Errors
// are 400s with Vault's messages; p is unchanged then.
func (p *Params) Parse(d *logical.FieldData) error {
	next := *p
	next.Policies = slices.Clone(p.Policies)
	next.BoundCIDRs = slices.Clone(p.BoundCIDRs)
	legacy := map[string]bool{}
	for _, a := range p.Legacy {
		legacy[a] = true
	}
	for _, f := range fields {
		v, ok, via := lookup(d, f)
		if !ok {
			continue
		}
		// Whatever was given now replaces how the setting was named.
		for _, a := range f.aliases {
			delete(legacy, a)
		}
		for _, a := range via {
			legacy[a] = true
		}
		if err := next.set(f.name, v, len(via) > 0 && !given(d, f.name)); err != nil {
			return err
		}
	}
	if err := next.check(); err != nil {
		return err
	}
	next.Legacy = next.Legacy[:0:0]
	for a := range legacy {
		next.Legacy = append(next.Legacy, a)
	}
	slices.Sort(next.Legacy)
	if len(next.Legacy) == 0 {
		next.Legacy = nil
	}
	*p = next
	return nil
}

// lookup returns the value given for f: under its own name when present,
// else under the first alias in the schema that was given. via lists the
// aliases given (to be read back under those names).
func lookup(d *logical.FieldData, f field) (v any, ok bool, via []string) {
	for _, a := range f.aliases {
		if _, inSchema := d.Schema[a]; inSchema && given(d, a) {
			via = append(via, a)
		}
	}
	if given(d, f.name) {
		return d.Get(f.name), true, via
	}
	if len(via) > 0 {
		return d.Get(via[0]), true, via
	}
	return nil, false, nil
}

func given(d *logical.FieldData, name string) bool {
	if _, ok := d.Schema[name]; !ok {
		return false
	}
	_, ok := d.GetOk(name)
	return ok
}

func seconds(v any) time.Duration { return time.Duration(v.(int)) * time.Second }

// set stores one converted field value; fromAlias marks a value given only
// under its pre-1.2 name (policies given that way are sanitized as Vault's
// old field did: lowercased, sorted, deduplicated).
func (p *Params) set(name string, v any, fromAlias bool) error {
	switch name {
	case "token_policies":
		list := v.([]string)
		if fromAlias {
			list = sanitizePolicies(list)
		}
		p.Policies = list
	case "token_bound_cidrs":
		cidrs, err := ParseCIDRs(v.([]string))
		if err != nil {
			return err
		}
		p.BoundCIDRs = cidrs
	case "token_explicit_max_ttl":
		p.ExplicitMaxTTL = seconds(v)
	case "token_max_ttl":
		p.MaxTTL = seconds(v)
	case "token_ttl":
		p.TTL = seconds(v)
	case "token_no_default_policy":
		p.NoDefaultPolicy = v.(bool)
	case "token_num_uses":
		p.NumUses = v.(int)
	case "token_period":
		p.Period = seconds(v)
	case "token_type":
		switch t := v.(string); t {
		case "", TypeDefault:
			p.Type = TypeDefault
		case TypeService, TypeBatch, TypeDefaultService, TypeDefaultBatch:
			p.Type = t
		default:
			return logical.BadRequest("invalid 'token_type' value %q", t)
		}
	}
	return nil
}

func (p *Params) check() error {
	for name, d := range map[string]time.Duration{
		"token_ttl": p.TTL, "token_max_ttl": p.MaxTTL,
		"token_explicit_max_ttl": p.ExplicitMaxTTL, "token_period": p.Period,
	} {
		if d < 0 {
			return logical.BadRequest("'%s' cannot be negative", name)
		}
	}
	if p.NumUses < 0 {
		return logical.BadRequest("'token_num_uses' cannot be negative")
	}
	if p.Type == TypeBatch || p.Type == TypeDefaultBatch {
		if p.Period != 0 {
			return logical.BadRequest("'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens")
		}
		if p.NumUses != 0 {
			return logical.BadRequest("'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count")
		}
	}
	if p.TTL > 0 && p.MaxTTL > 0 && p.TTL > p.MaxTTL {
		return logical.BadRequest("'token_ttl' cannot be greater than 'token_max_ttl'")
	}
	return nil
}

// Data writes the settings into a read response the way Vault shows them:
// durations in seconds, lists never null, and each pre-1.2 name the
// settings were written with beside its token_* field.
func (p *Params) Data(m map[string]any) {
	typ := p.Type
	if typ == "" {
		typ = TypeDefault
	}
	policies := slices.Clone(p.Policies)
	if policies == nil {
		policies = []string{}
	}
	cidrs := slices.Clone(p.BoundCIDRs)
	if cidrs == nil {
		cidrs = []string{}
	}
	m["token_policies"] = policies
	m["token_bound_cidrs"] = cidrs
	m["token_explicit_max_ttl"] = int64(p.ExplicitMaxTTL / time.Second)
	m["token_max_ttl"] = int64(p.MaxTTL / time.Second)
	m["token_ttl"] = int64(p.TTL / time.Second)
	m["token_no_default_policy"] = p.NoDefaultPolicy
	m["token_num_uses"] = p.NumUses
	m["token_period"] = int64(p.Period / time.Second)
	m["token_type"] = typ
	for _, a := range p.Legacy {
		for _, f := range fields {
			if slices.Contains(f.aliases, a) {
				m[a] = m[f.name]
			}
		}
	}
}

// PopulateAuth fills a login's auth from the settings: the token's
// policies, TTLs, use count, bound CIDRs and type (the core settles the
// type against the mount's token_type). Service login tokens are
// renewable.
func (p *Params) PopulateAuth(a *logical.Auth) {
	a.Policies = slices.Clone(p.Policies)
	a.LeaseDuration = p.TTL
	a.MaxTTL = p.MaxTTL
	a.ExplicitMaxTTL = p.ExplicitMaxTTL
	a.Period = p.Period
	a.NumUses = p.NumUses
	a.NoDefaultPolicy = p.NoDefaultPolicy
	a.BoundCIDRs = slices.Clone(p.BoundCIDRs)
	a.TokenType = p.Type
	if a.TokenType == "" {
		a.TokenType = TypeDefault
	}
	a.Renewable = true
}

// sanitizePolicies lowercases, trims, drops empties, sorts and dedupes.
func sanitizePolicies(in []string) []string {
	out := make([]string, 0, len(in))
	for _, p := range in {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// EquivalentPolicies reports whether two policy sets grant the same thing:
// equal once sanitized, "default" aside (a token carries it unless told
// not to, the role that made it may not list it).
func EquivalentPolicies(a, b []string) bool {
	strip := func(in []string) []string {
		return slices.DeleteFunc(sanitizePolicies(in), func(p string) bool { return p == "default" })
	}
	return slices.Equal(strip(a), strip(b))
}
