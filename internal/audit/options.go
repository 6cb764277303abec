package audit

import (
	"fmt"
	"strconv"
	"strings"
)

// Options every device type accepts, as in Vault.
const (
	optLogRaw       = "log_raw"
	optHMACAccessor = "hmac_accessor"
	optPrefix       = "prefix"
	optFormat       = "format"
	optElideList    = "elide_list_responses"
	// Enterprise-only in Vault; refused as Vault's community edition does.
	optFilter   = "filter"
	optFallback = "fallback"
)

// parseFormatOptions parses the options common to all device types.
func parseFormatOptions(opts map[string]string) (formatConfig, error) {
	cfg := formatConfig{hmacAccessor: true, chain: true}
	for _, o := range []string{optFilter, optFallback} {
		if _, ok := opts[o]; ok {
			return cfg, fmt.Errorf("%w: enterprise-only option %q supplied", ErrInvalidConfig, o)
		}
	}
	bools := []struct {
		name string
		dst  *bool
	}{
		{optLogRaw, &cfg.raw},
		{optHMACAccessor, &cfg.hmacAccessor},
		{optElideList, &cfg.elideList},
		{optTamperEvident, &cfg.chain},
	}
	for _, b := range bools {
		raw, ok := opts[b.name]
		if !ok {
			continue
		}
		v, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return cfg, fmt.Errorf("%w: unable to parse %q: %q is not a boolean", ErrInvalidConfig, b.name, raw)
		}
		*b.dst = v
	}
	switch f := strings.ToLower(strings.TrimSpace(opts[optFormat])); f {
	case "", "json":
	case "jsonx":
		cfg.jsonx = true
		cfg.chain = false // the chain field is for JSON lines
	default:
		return cfg, fmt.Errorf("%w: unsupported %q %q: must be \"json\" or \"jsonx\"", ErrInvalidConfig, optFormat, opts[optFormat])
	}
	cfg.prefix = opts[optPrefix]
	return cfg, nil
}
