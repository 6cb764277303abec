// Package dbtest runs private PostgreSQL and MariaDB servers on 127.0.0.1,
// data in a temporary directory, for the tests of the database secrets
// engine and of the server that use it. It is imported by tests only.
//
// StartPostgres runs initdb and postgres (as the "postgres" system user
// when the tests run as root, since PostgreSQL refuses root); StartMariaDB
// runs mariadb-install-db and mariadbd. Each server has a superuser
// (Admin, AdminPassword) reachable over TCP with a password, and stops on
// Stop (and when the test process dies). Without the Debian packages
// installed they fail and name scripts/test-deps.sh.
package dbtest
