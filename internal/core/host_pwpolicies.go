package core

import "context"

// GeneratePasswordFromPolicy implements logical.PasswordGenerator for the
// mounts' system views, from the password policy room.
func (h mountHost) GeneratePasswordFromPolicy(ctx context.Context, name string) (string, error) {
	return h.c.passwords.Generate(ctx, name)
}
