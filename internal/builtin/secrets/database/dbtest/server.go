package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// ErrMissing names the missing binaries and the script that installs them.
var ErrMissing = errors.New("not installed: run scripts/test-deps.sh")

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 90 * time.Second

// proc is a server process in the foreground, stopped by signal.
type proc struct {
	cmd  *exec.Cmd
	done chan error
	dir  string
	log  string
	stop syscall.Signal
}

func (p *proc) start() error {
	p.done = make(chan error, 1)
	if p.cmd.SysProcAttr == nil {
		p.cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// The server goes when the test process goes, even killed.
	p.cmd.SysProcAttr.Pdeathsig = p.stop
	lf, err := os.Create(p.log)
	if err != nil {
		return err
	}
	p.cmd.Stdout, p.cmd.Stderr = lf, lf
	if err := p.cmd.Start(); err != nil {
		lf.Close()
		return err
	}
	go func() { p.done <- p.cmd.Wait(); lf.Close() }()
	return nil
}

// waitReady pings db until it answers, the process exits or time runs out.
func (p *proc) waitReady(db *sql.DB) error {
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case werr := <-p.done:
			p.done <- werr
			return fmt.Errorf("server exited (%v): %s", werr, tail(p.log))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not ready after %s: %v: %s", startTimeout, err, tail(p.log))
		}
	}
}

// shutdown signals the server, waits for it and removes its data.
func (p *proc) shutdown() error {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(p.stop)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	return os.RemoveAll(p.dir)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// findBinary looks name up on PATH, then in the given glob patterns
// (the newest version last in sort order wins).
func findBinary(name string, globs ...string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, g := range globs {
		m, _ := filepath.Glob(g)
		if len(m) > 0 {
			sort.Strings(m)
			return m[len(m)-1], nil
		}
	}
	return "", fmt.Errorf("dbtest: %s %w", name, ErrMissing)
}

func run(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(cmd.Path), err, strings.TrimSpace(string(out)))
	}
	return nil
}
