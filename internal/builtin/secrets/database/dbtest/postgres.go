package dbtest

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Postgres is a running private PostgreSQL server.
type Postgres struct {
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Admin and AdminPassword are a superuser's, with a password login.
	Admin, AdminPassword string
	proc
}

// URL is a connection URL for the engine: the "postgres" database with
// {{username}} and {{password}} templates.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://{{username}}:{{password}}@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
}

// DSN is a connection string for user and password.
func (p *Postgres) DSN(user, password string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=postgres sslmode=disable connect_timeout=5", p.Port, user, password)
}

// Open opens a pool as user (pgx through database/sql).
func (p *Postgres) Open(user, password string) (*sql.DB, error) {
	return sql.Open("pgx", p.DSN(user, password))
}

// Stop stops the server and removes its data.
func (p *Postgres) Stop() error { return p.shutdown() }

// StartPostgres initialises a cluster in a temporary directory and runs
// postgres on a free port of 127.0.0.1 until Stop.
func StartPostgres() (*Postgres, error) {
	initdb, err := findBinary("initdb", "/usr/lib/postgresql/*/bin/initdb")
	if err != nil {
		return nil, err
	}
	postgres := filepath.Join(filepath.Dir(initdb), "postgres")
	if _, err := os.Stat(postgres); err != nil {
		if postgres, err = findBinary("postgres", "/usr/lib/postgresql/*/bin/postgres"); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "dbtest-pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{Admin: "sbadmin", AdminPassword: "sbadmin-pw", proc: proc{dir: dir, log: filepath.Join(dir, "postgres.log"), stop: syscall.SIGINT}}
	ok := false
	defer func() {
		if !ok {
			_ = p.shutdown()
		}
	}()
	// PostgreSQL refuses to run as root: run it as the postgres user.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("dbtest: running as root needs the postgres system user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(p.AdminPassword+"\n"), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(pwfile, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", p.Admin, "--pwfile="+pwfile,
		"--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = dir // the postgres user may not enter the test's directory
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if err := run(cmd); err != nil {
		return nil, fmt.Errorf("dbtest: initdb: %w", err)
	}
	if p.Port, err = freePort(); err != nil {
		return nil, err
	}
	p.cmd = exec.Command(postgres, "-D", data, "-k", dir, "-p", strconv.Itoa(p.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300")
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	p.cmd.Dir = dir
	if err := p.start(); err != nil {
		return nil, fmt.Errorf("dbtest: start postgres: %w", err)
	}
	db, err := p.Open(p.Admin, p.AdminPassword)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := p.waitReady(db); err != nil {
		return nil, fmt.Errorf("dbtest: postgres: %w", err)
	}
	ok = true
	return p, nil
}
