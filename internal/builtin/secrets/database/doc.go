// Package database is the database secrets engine (Vault's "database"):
// connections to PostgreSQL and MySQL/MariaDB (config/<name>), dynamic
// roles whose creds/<role> create a database user for the life of a lease
// (dropped by the core's expiration manager through the "creds" secret
// type), and static roles whose existing user's password the engine
// rotates on a period or a cron schedule.
//
// Storage: config/<name> (a connection, its root password included),
// role/<name> (dynamic roles), static-role/<name> (static roles with the
// current password). One pooled Driver per config lives in memory, opened
// on first use and closed when the config changes, is deleted or reset,
// and when the mount goes (Clean).
package database
