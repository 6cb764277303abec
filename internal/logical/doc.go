// Package logical is the framework builtin engines are written in: requests,
// responses, storage views, errors, a path/field router (FrameworkBackend),
// leased secret types with their renew and revoke handlers, the periodic and
// rollback hooks, and the SystemView an engine asks about its mount. The core
// calls engines only through Backend; engines never import the core.
// docs/engines.md is the contributor's guide.
package logical
