package server

import (
	"fmt"
	"strconv"

	"github.com/strongbox/strongbox/internal/config"
	"github.com/strongbox/strongbox/internal/core/lockout"
)

// userLockoutConfig turns the user_lockout stanzas and
// VAULT_DISABLE_USER_LOCKOUT into the core's lockout settings.
func userLockoutConfig(cfg *config.Config, getenv func(string) string) (lockout.Config, error) {
	lc := lockout.Config{Server: map[string]*lockout.Partial{}}
	for _, u := range cfg.UserLockouts {
		lc.Server[u.Type] = &lockout.Partial{
			Threshold: u.Threshold, Duration: u.Duration, CounterReset: u.CounterReset, Disable: u.Disable,
		}
	}
	if v := getenv("VAULT_DISABLE_USER_LOCKOUT"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return lc, fmt.Errorf("VAULT_DISABLE_USER_LOCKOUT=%q: expected true or false", v)
		}
		lc.DisableAll = b
	}
	return lc, nil
}
