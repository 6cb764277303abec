// Package logical is the framework builtin engines are written in: requests,
// responses, storage views, errors, and a path/field router. The core calls
// engines only through Backend; engines never import the core.
package logical
