package mount

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// LockoutTypes are the auth methods user lockout applies to, as Vault's.
var LockoutTypes = []string{"userpass", "ldap", "approle"}

// UserLockoutConfig is an auth mount's user_lockout_config: the settings
// tuned on the mount, over the server's user_lockout stanzas. A zero field
// is not set here (the server's value applies), as in Vault.
type UserLockoutConfig struct {
	Threshold    int64         `json:"lockout_threshold,omitempty"`
	Duration     time.Duration `json:"lockout_duration,omitempty"`
	CounterReset time.Duration `json:"lockout_counter_reset,omitempty"`
	Disable      bool          `json:"lockout_disable,omitempty"`
}

// parseUserLockout reads a user_lockout_config object, keeping the fields
// given over have (nil: none yet). Unknown keys are refused.
func parseUserLockout(v any, have *UserLockoutConfig) (*UserLockoutConfig, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, logical.BadRequest("config.user_lockout_config must be an object")
	}
	out := &UserLockoutConfig{}
	if have != nil {
		*out = *have
	}
	for k, raw := range m {
		if raw == nil {
			continue
		}
		if s, isStr := raw.(string); isStr && s == "" {
			continue // the official client sends "" for a field left alone
		}
		switch k {
		case "lockout_threshold":
			n, err := lockoutThreshold(raw)
			if err != nil {
				return nil, logical.BadRequest("config.user_lockout_config.lockout_threshold: %v", err)
			}
			out.Threshold = n
		case "lockout_duration", "lockout_counter_reset_duration", "lockout_counter_reset":
			d, err := logical.ParseDuration(raw)
			if err != nil {
				return nil, logical.BadRequest("config.user_lockout_config.%s: %v", k, err)
			}
			if d < 0 {
				return nil, logical.BadRequest("config.user_lockout_config.%s cannot be negative", k)
			}
			if k == "lockout_duration" {
				out.Duration = d
			} else {
				out.CounterReset = d
			}
		case "lockout_disable", "disable_lockout":
			b, err := lockoutBool(raw)
			if err != nil {
				return nil, logical.BadRequest("config.user_lockout_config.%s: %v", k, err)
			}
			out.Disable = b
		default:
			return nil, logical.BadRequest("config.user_lockout_config: unknown key %q (want lockout_threshold, lockout_duration, lockout_counter_reset_duration, lockout_disable)", k)
		}
	}
	return out, nil
}

func lockoutThreshold(v any) (int64, error) {
	var n int64
	switch x := v.(type) {
	case float64:
		if x != float64(int64(x)) {
			return 0, fmt.Errorf("expected an integer, got %v", x)
		}
		n = int64(x)
	case int:
		n = int64(x)
	case int64:
		n = x
	case string, json.Number:
		str := fmt.Sprint(x)
		i, err := strconv.ParseInt(strings.TrimSpace(str), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("expected an integer, got %q", str)
		}
		n = i
	default:
		return 0, fmt.Errorf("expected an integer, got %v", v)
	}
	if n < 0 {
		return 0, fmt.Errorf("cannot be negative")
	}
	return n, nil
}

func lockoutBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			return false, fmt.Errorf("expected a boolean, got %q", x)
		}
		return b, nil
	}
	return false, fmt.Errorf("expected a boolean, got %T", v)
}

// checkUserLockout refuses user_lockout_config on a mount user lockout
// does not apply to.
func checkUserLockout(cfg *UserLockoutConfig, typ string, auth bool) error {
	if cfg == nil {
		return nil
	}
	if !auth || !slices.Contains(LockoutTypes, typ) {
		return logical.BadRequest("user lockout is only supported for the userpass, ldap and approle auth methods, not %q", typ)
	}
	return nil
}

// userLockoutInfo renders the config as sys/auth lists it.
func userLockoutInfo(c *UserLockoutConfig) map[string]any {
	return map[string]any{
		"user_lockout_threshold":              c.Threshold,
		"user_lockout_duration":               int64(c.Duration / time.Second),
		"user_lockout_counter_reset_duration": int64(c.CounterReset / time.Second),
		"user_lockout_disable":                c.Disable,
	}
}
