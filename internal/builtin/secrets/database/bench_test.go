package database_test

import (
	vault "github.com/hashicorp/vault/api"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCredsPostgres: creds/<role> through the HTTP API at 16
// concurrent clients, each a real CREATE ROLE + GRANT on PostgreSQL (the
// pool allows 16 connections). Reports creds/s.
func BenchmarkCredsPostgres(b *testing.B) {
	c := startCore(b, 0)
	group := benchPG(b, c, 16)
	write(b, c, "database/roles/ro", map[string]any{"db_name": "pg", "default_ttl": "1h",
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; GRANT ` + group + ` TO "{{name}}"`})
	b.SetParallelism((16 + 1) / 2) // GOMAXPROCS(2) × 8 = 16 goroutines
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Logical().Read("database/creds/ro"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creds/s")
}

// BenchmarkRevokeExpiringPostgres issues DB_BENCH_LEASES (default 10000)
// credentials whose leases all expire together, then measures how fast
// the core's expiration manager drops their users through the engine:
// revoke/s from the common expiry until pg_roles holds none of them. It
// runs once whatever b.N.
func BenchmarkRevokeExpiringPostgres(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("DB_BENCH_LEASES")); err == nil && v > 0 {
		n = v
	}
	c := startCore(b, 0)
	group := benchPG(b, c, 16)
	a := adminDB(b, pg.Open, pg.Admin, pg.AdminPassword)
	stmts := `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; GRANT ` + group + ` TO "{{name}}"`
	// Issue with a long TTL, then renew each lease to one common end, so
	// every lease expires at the same moment, after issuing is done.
	write(b, c, "database/config/pg", map[string]any{"username_template": `{{ printf "vb-%s-%s" (random 20) (unix_time) }}`})
	write(b, c, "database/roles/exp", map[string]any{"db_name": "pg", "default_ttl": "1h", "creation_statements": stmts})
	leases := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	issueStart := time.Now()
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				s, err := c.Logical().Read("database/creds/exp")
				if err != nil {
					b.Error(err)
					return
				}
				leases[i] = s.LeaseID
			}
		}()
	}
	wg.Wait()
	issued := time.Since(issueStart)
	b.ResetTimer() // (also drops metrics reported so far)
	// Renew every lease so that all end at the same instant.
	end := time.Now().Add(time.Duration(n/500+20) * time.Second)
	next.Store(0)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				inc := int(time.Until(end).Seconds())
				if _, err := c.Sys().Renew(leases[i], inc); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	count := func() int {
		var k int
		if err := a.QueryRow(`SELECT count(*) FROM pg_roles WHERE rolname LIKE 'vb-%'`).Scan(&k); err != nil {
			b.Fatal(err)
		}
		return k
	}
	if k := count(); k != n {
		b.Fatalf("%d users before expiry, want %d", k, n)
	}
	time.Sleep(time.Until(end))
	t0 := time.Now()
	for count() > 0 {
		time.Sleep(100 * time.Millisecond)
		if time.Since(t0) > 30*time.Minute {
			b.Fatalf("users left after 30 minutes: %d", count())
		}
	}
	took := time.Since(t0)
	eventually(b, "the lease list to empty", func() bool {
		l, err := c.Logical().List("sys/leases/lookup/database/creds/exp/")
		return err == nil && l == nil
	})
	b.ReportMetric(float64(n)/took.Seconds(), "revoke/s")
	b.ReportMetric(took.Seconds(), "drain-s")
	b.ReportMetric(float64(n)/issued.Seconds(), "creds/s")
}

// benchPG configures "pg" (its own superuser) with an open pool of pool
// connections and returns a group role holding SELECT on a table, for users to join.
func benchPG(b *testing.B, c *vault.Client, pool int) string {
	b.Helper()
	a, table, _, _ := pgSetup(b, c, "pg")
	write(b, c, "database/config/pg", map[string]any{"max_open_connections": pool})
	// Thousands of GRANTs on one table outgrow its ACL (a catalog row
	// is at most 8 kB): users join a group role holding the grant.
	group := table + "_readers"
	for _, q := range []string{`CREATE ROLE ` + group, `GRANT SELECT ON ` + table + ` TO ` + group} {
		if _, err := a.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	return group
}

// BenchmarkCredsMySQL: creds/<role> at 16 concurrent clients against
// MariaDB (CREATE USER + GRANT, pool of 16). Reports creds/s.
func BenchmarkCredsMySQL(b *testing.B) {
	c := startCore(b, 0)
	mysqlSetup(b, c, "my", "mysql-database-plugin")
	write(b, c, "database/config/my", map[string]any{"max_open_connections": 16})
	write(b, c, "database/roles/ro", map[string]any{"db_name": "my", "default_ttl": "1h", "creation_statements": mysqlCreate})
	b.SetParallelism((16 + 1) / 2)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Logical().Read("database/creds/ro"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creds/s")
}
