package dbtest

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/go-sql-driver/mysql"
)

// MariaDB is a running private MariaDB server.
type MariaDB struct {
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Admin and AdminPassword are an account ('sbadmin'@'%') with every
	// privilege and the grant option.
	Admin, AdminPassword string
	socket               string
	proc
}

// URL is a DSN for the engine with {{username}} and {{password}}.
func (m *MariaDB) URL() string {
	return fmt.Sprintf("{{username}}:{{password}}@tcp(127.0.0.1:%d)/", m.Port)
}

// Open opens a pool as user over TCP.
func (m *MariaDB) Open(user, password string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = user, password, "tcp", "127.0.0.1:"+strconv.Itoa(m.Port)
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

// Stop stops the server and removes its data.
func (m *MariaDB) Stop() error { return m.shutdown() }

// StartMariaDB initialises a data directory in a temporary directory and
// runs mariadbd on a free port of 127.0.0.1 until Stop.
func StartMariaDB() (*MariaDB, error) {
	install, err := findBinary("mariadb-install-db", "/usr/bin/mariadb-install-db")
	if err != nil {
		return nil, err
	}
	mariadbd, err := findBinary("mariadbd", "/usr/sbin/mariadbd")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dbtest-maria-")
	if err != nil {
		return nil, err
	}
	m := &MariaDB{Admin: "sbadmin", AdminPassword: "sbadmin-pw", socket: filepath.Join(dir, "sock"),
		proc: proc{dir: dir, log: filepath.Join(dir, "mariadb.log"), stop: syscall.SIGTERM}}
	ok := false
	defer func() {
		if !ok {
			_ = m.shutdown()
		}
	}()
	data := filepath.Join(dir, "data")
	user := "--user=" + currentUser()
	if err := run(exec.Command(install, "--no-defaults", user, "--datadir="+data,
		"--auth-root-authentication-method=normal", "--skip-test-db")); err != nil {
		return nil, fmt.Errorf("dbtest: mariadb-install-db: %w", err)
	}
	if m.Port, err = freePort(); err != nil {
		return nil, err
	}
	// skip-name-resolve: 127.0.0.1 must not become "localhost", whose
	// anonymous account would shadow the engine's 'user'@'%' accounts.
	m.cmd = exec.Command(mariadbd, "--no-defaults", user, "--datadir="+data, "--port="+strconv.Itoa(m.Port),
		"--bind-address=127.0.0.1", "--socket="+m.socket, "--skip-name-resolve", "--skip-log-bin",
		"--innodb-flush-log-at-trx-commit=0", "--max-connections=500", "--pid-file="+filepath.Join(dir, "pid"))
	if err := m.start(); err != nil {
		return nil, fmt.Errorf("dbtest: start mariadbd: %w", err)
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "unix", m.socket
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	root := sql.OpenDB(conn)
	defer root.Close()
	if err := m.waitReady(root); err != nil {
		return nil, fmt.Errorf("dbtest: mariadb: %w", err)
	}
	for _, q := range []string{
		"DELETE FROM mysql.global_priv WHERE User = ''",
		"FLUSH PRIVILEGES",
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", m.Admin, m.AdminPassword),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'%%' WITH GRANT OPTION", m.Admin),
		"CREATE DATABASE app",
	} {
		if _, err := root.Exec(q); err != nil {
			return nil, fmt.Errorf("dbtest: mariadb setup %q: %w", q, err)
		}
	}
	ok = true
	return m, nil
}

func currentUser() string {
	if os.Geteuid() == 0 {
		return "root"
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return strconv.Itoa(os.Geteuid())
}
