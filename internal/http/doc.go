// Package http is Strongbox's Vault-compatible HTTP API: it turns /v1/
// requests into logical requests for the core, renders Vault's JSON envelope
// and error shape, and serves the sys/ endpoints that must work while sealed
// (init, unseal, seal-status, health, leader). The server package mounts it
// on its listeners, wrapped by WrapListener in each listener's per-request
// settings (X-Forwarded-For, required X-Vault-Request, CORS, custom response
// headers, request deadline).
package http
