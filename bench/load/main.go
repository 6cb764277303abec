// Command load measures Strongbox's throughput against a real server on
// 127.0.0.1 with file storage, next to the ceilings of the same machine: a
// trivial Go JSON handler and an fsync-per-write loop on the same disk. It
// also reports start-to-unsealed time and peak RSS after writing many
// secrets. Run it with `make bench` or `go run ./bench/load -h`.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"
)

func main() {
	dur := flag.Duration("duration", 3*time.Second, "length of each measurement")
	dir := flag.String("dir", "", "data directory (default: a temporary directory)")
	secrets := flag.Int("secrets", 100000, "secrets written for the RSS figure (0 skips it)")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the kv-v2 read c=32 scenarios (-audit-profile: the one with audit on; -mode=approle, -mode=cert: the raft login c=32) to this file")
	flag.BoolVar(&auditProfile, "audit-profile", false, "profile the read scenario with the file audit device on")
	tokenTypes := flag.String("token-type", "service", `-mode=approle: the type of the login tokens, "service", "batch" or both ("service,batch"), each on its own role`)
	storages := flag.String("storage", "file,raft", "-mode=approle: the storage backends to run on, comma-separated (file, raft)")
	mode := flag.String("mode", "default", `"default": KV, token and audit scenarios; "userpass": userpass logins/s next to the bcrypt ceiling; "approle": AppRole logins/s on file and one-node raft storage (-storage, -token-type); "cert": TLS certificate logins/s on file and one-node raft storage; "raft": KV-v2 writes on file and one-node raft storage side by side (alternating rounds) and operator init's time on each; "transit": encrypt (one and 100 per request), decrypt and ed25519 sign/s on one-node raft storage; "metrics": kv-v2 reads/s with every metric filtered out, with the default in-memory sink, and with the Prometheus sink too`)

	rounds := flag.Int("rounds", 2, "-mode=raft: alternating file/raft rounds")
	flag.Parse()
	runMode := func() error { return run(*dur, *dir, *secrets) }
	if *mode == "userpass" {
		runMode = func() error { return runUserpass(*dur, *dir) }
	} else if *mode == "approle" {
		runMode = func() error {
			return runAppRole(*dur, *dir, strings.Split(*storages, ","), strings.Split(*tokenTypes, ","))
		}
	} else if *mode == "transit" {
		runMode = func() error { return runTransit(*dur, *dir) }
	} else if *mode == "raft" {
		runMode = func() error { return runRaft(*dur, *dir, *rounds) }
	} else if *mode == "metrics" {
		runMode = func() error { return runMetrics(*dur, *dir) }
	} else if *mode == "cert" {
		runMode = func() error { return runCert(*dur, *dir) }
	} else if *mode != "default" {
		fmt.Fprintf(os.Stderr, "load: unknown -mode %q\n", *mode)
		os.Exit(2)
	}
	if err := runMode(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(dur time.Duration, dir string, secrets int) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "strongbox-load-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	ctx := context.Background()
	r := &report{}

	trivial, err := startTrivial()
	if err != nil {
		return err
	}
	defer trivial.Close()
	for _, c := range []int{1, 32} {
		r.add(fmt.Sprintf("ceiling: trivial JSON handler c=%d", c), load(ctx, c, dur, getter(trivial.URL+"/v1/x", "")))
	}
	fs, err := fsyncLoop(dir, dur)
	if err != nil {
		return err
	}
	r.add("ceiling: fsync-per-write loop c=1", fs)

	node, err := startNode(ctx, dir)
	if err != nil {
		return err
	}
	fmt.Printf("start-to-unsealed (fresh init excluded): measured below after restart\n")
	if err := node.seed(ctx); err != nil {
		return err
	}
	for _, c := range []int{1, 32} {
		stop := profileIf(c == 32 && !auditProfile)
		r.add(fmt.Sprintf("kv-v2 read c=%d", c), load(ctx, c, dur, getter(node.url+"/v1/secret/data/bench/0", node.token)))
		stop()
		r.add(fmt.Sprintf("kv-v2 write (file) c=%d", c), load(ctx, c, dur, node.writer()))
		r.add(fmt.Sprintf("token lookup-self c=%d", c), load(ctx, c, dur, getter(node.url+"/v1/auth/token/lookup-self", node.token)))
	}
	if err := node.enableAudit(ctx, filepath.Join(dir, "audit.log")); err != nil {
		return err
	}
	for _, c := range []int{1, 32} {
		stop := profileIf(c == 32 && auditProfile)
		r.add(fmt.Sprintf("kv-v2 read, file audit on c=%d", c), load(ctx, c, dur, getter(node.url+"/v1/secret/data/bench/0", node.token)))
		stop()
	}
	if err := node.disableAudit(ctx); err != nil {
		return err
	}
	if secrets > 0 {
		start := time.Now()
		if err := node.fill(ctx, secrets); err != nil {
			return err
		}
		r.note(fmt.Sprintf("wrote %d secrets in %s; peak RSS (server and load client, one process): %s",
			secrets, time.Since(start).Round(time.Millisecond), peakRSS()))
	}
	restart, err := node.restart(ctx)
	if err != nil {
		return err
	}
	r.note(fmt.Sprintf("start-to-unsealed on existing data (listen + 3 unseal calls + mount load): %s", restart.Round(time.Microsecond)))
	node.stop()
	r.print(os.Stdout)
	return nil
}

// cpuProfile and auditProfile are the profiling flags' values.
var (
	cpuProfile   string
	auditProfile bool
)

// profileIf starts a CPU profile when asked for and cond holds; the
// returned function stops it.
func profileIf(cond bool) func() {
	if !cond || cpuProfile == "" {
		return func() {}
	}
	f, err := os.Create(cpuProfile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load: cpuprofile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "load: cpuprofile:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
