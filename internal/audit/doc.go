// Package audit is Strongbox's audit subsystem: the devices that write one
// Vault-format JSON entry per request and per response, the HMAC-SHA256
// salting that keeps secrets out of those entries, and the Broker the core
// calls on every request to fan entries out to all enabled devices.
//
// The core owns the audit table (sys/audit) and builds devices through
// Factories ("file", "socket", "syslog"); it calls Broker.LogRequest before a request
// reaches a backend and Broker.LogResponse before the response goes back.
// Devices write in parallel, each within the broker's write deadline; one
// that fails or blocks is marked failing (Broker.Status), reopened in the
// background, and left out while others record entries. When devices are
// enabled and none of them records an entry, the broker fails with
// ErrAuditFailed and the core must refuse the request (Vault fails
// closed). Broker.SetObserver is the hook for per-device metrics. Broker.Hash serves sys/audit-hash; Broker.Reload is for
// SIGHUP (log rotation). Every JSON entry carries a tamper-evident chain
// field (chain.go) that VerifyChain, behind `strongbox audit verify`,
// checks.
package audit
