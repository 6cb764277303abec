package builtin

import (
	"github.com/strongbox/strongbox/internal/builtin/credential/approle"
	"github.com/strongbox/strongbox/internal/builtin/credential/cert"
	"github.com/strongbox/strongbox/internal/builtin/credential/ldap"
	"github.com/strongbox/strongbox/internal/builtin/credential/userpass"
	"github.com/strongbox/strongbox/internal/builtin/secrets/cubbyhole"
	"github.com/strongbox/strongbox/internal/builtin/secrets/database"
	"github.com/strongbox/strongbox/internal/builtin/secrets/kv"
	"github.com/strongbox/strongbox/internal/builtin/secrets/transit"
	"github.com/strongbox/strongbox/internal/logical"
)

// SecretEngines returns the builtin secrets engine factories by type.
func SecretEngines() map[string]logical.Factory {
	return map[string]logical.Factory{
		"kv":        kv.Factory,
		"cubbyhole": cubbyhole.Factory,
		"transit":   transit.Factory,
		"database":  database.Factory,
	}
}

// AuthMethods returns the builtin auth method factories by type (the token
// method is part of the core and not listed).
func AuthMethods() map[string]logical.Factory {
	return map[string]logical.Factory{
		"userpass": userpass.Factory,
		"approle":  approle.Factory,
		"cert":     cert.Factory,
		"ldap":     ldap.Factory,
	}
}
