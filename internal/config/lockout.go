package config

import (
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/hcl/hcl/ast"
)

// UserLockout is one `user_lockout "<name>" { … }` stanza: "all" for every
// method with lockout, or "userpass", "ldap", "approle". Zero values are
// not set (Vault's defaults, then the "all" stanza, apply).
type UserLockout struct {
	Type         string
	Threshold    int64         // lockout_threshold
	Duration     time.Duration // lockout_duration
	CounterReset time.Duration // lockout_counter_reset
	Disable      *bool         // disable_lockout
	File         string
	Line         int
}

var userLockoutFields = map[string]func(*UserLockout) any{
	"lockout_threshold":     func(u *UserLockout) any { return &u.Threshold },
	"lockout_duration":      func(u *UserLockout) any { return &u.Duration },
	"lockout_counter_reset": func(u *UserLockout) any { return &u.CounterReset },
	"disable_lockout":       func(u *UserLockout) any { return &u.Disable },
}

// userLockoutNames are the stanza names Vault accepts.
var userLockoutNames = []string{"all", "userpass", "ldap", "approle"}

func (d *decoder) userLockout(it *ast.ObjectItem) *UserLockout {
	label, body, ok := d.block(it, "user_lockout", true)
	if !ok {
		return nil
	}
	line := itemLine(it)
	if !slices.Contains(userLockoutNames, label) {
		d.errorf(line, "user_lockout %q: unsupported name; want one of all, userpass, ldap, approle", label)
		return nil
	}
	u := &UserLockout{Type: label, File: d.file, Line: line}
	where := fmt.Sprintf("user_lockout %q", label)
	decodeObject(d, body, where, u, userLockoutFields, nil)
	if u.Threshold < 0 {
		d.errorf(line, "%s: lockout_threshold cannot be negative", where)
	}
	if u.Duration < 0 || u.CounterReset < 0 {
		d.errorf(line, "%s: durations cannot be negative", where)
	}
	return u
}
