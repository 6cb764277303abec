// Package auditing is the core's audit room: the audit table (its rows in
// the barrier), the devices it names opened into an audit.Broker when the
// node becomes active and closed when it stops being so, and the sys/
// endpoints that manage them (sys/audit, sys/audit/<path>,
// sys/audit-hash/<path>). The kernel sends every request and response
// entry to the Broker.
package auditing
