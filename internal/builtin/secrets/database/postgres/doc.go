// Package postgres is the database engine's PostgreSQL driver
// (postgresql-database-plugin), on pgx v5 through database/sql.
package postgres
