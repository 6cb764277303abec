package policy

import "sync"

// ResponseWrappingName is the built-in policy of response-wrapping tokens.
// It is never stored, listed, written or deleted, and never assignable to
// a token by a user (the token store refuses it).
const ResponseWrappingName = "response-wrapping"

// responseWrappingPolicy grants a wrapping token what Vault's grants:
// reading (and, for the core's own write, creating) its cubbyhole's
// response, and unwrapping itself.
const responseWrappingPolicy = `path "cubbyhole/response" {
    capabilities = ["create", "read"]
}
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}
`

// ResponseWrapping returns the built-in response-wrapping policy.
var ResponseWrapping = sync.OnceValue(func() *Policy {
	p, err := Parse(ResponseWrappingName, responseWrappingPolicy)
	if err != nil {
		panic("policy: built-in response-wrapping policy: " + err.Error())
	}
	return p
})

// DefaultPolicy is the text the "default" policy starts with. Like Vault's,
// it lets every token manage itself and its cubbyhole, wrap and unwrap
// responses, renew and look up leases, and use the general-purpose tools.
// Operators may rewrite it (it cannot be deleted). Vault's templated
// identity/entity/{id,name}/{{identity.entity...}} rules are left out:
// Strongbox does not support policy templating.
const DefaultPolicy = `# The "default" policy is attached to every token unless asked otherwise.
# It can be changed but not deleted.

# A token may inspect, renew and revoke itself.
path "auth/token/lookup-self" {
    capabilities = ["read"]
}
path "auth/token/renew-self" {
    capabilities = ["update"]
}
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# A token may ask what it can do on a path.
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# The UI reads the token's merged ACL from here; the format is internal.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# A token's private cubbyhole is its own to manage.
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Response wrapping: wrap values, look up and unwrap wrapping tokens.
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Leases: renew one by ID in the body (old and new paths) and look one up.
path "sys/renew" {
    capabilities = ["update"]
}
path "sys/leases/renew" {
    capabilities = ["update"]
}
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# General-purpose tools.
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# Check the status of a control group request given its accessor.
path "sys/control-group/request" {
    capabilities = ["update"]
}

# Use the authorization endpoint of any OIDC provider.
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
`
