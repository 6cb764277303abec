package dbtest

import (
	"testing"
)

// TestServers starts each server, logs in as its admin over TCP and stops
// it, leaving no data behind.
func TestServers(t *testing.T) {
	pg, err := StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	db, err := pg.Open(pg.Admin, pg.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("postgres: %v %d", err, one)
	}
	db.Close()
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	m, err := StartMariaDB()
	if err != nil {
		t.Fatal(err)
	}
	db, err = m.Open(m.Admin, m.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("mariadb: %v %d", err, one)
	}
	db.Close()
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
}
