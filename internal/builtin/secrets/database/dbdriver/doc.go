// Package dbdriver is the small contract between the database secrets
// engine and its drivers (postgres, mysql): a Driver is one pooled
// connection to a configured database that creates, renews, revokes and
// re-passwords users by running templated SQL statements. It also holds
// what every driver shares: statement splitting and templating, and
// running a statement list in one transaction.
package dbdriver
