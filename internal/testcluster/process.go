package testcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// Bounds for process operations whose caller gave no deadline.
const (
	defaultStopTimeout = 30 * time.Second
	killTimeout        = 10 * time.Second
	clientTimeout      = 30 * time.Second
	logTailBytes       = 32 << 10
)

// ProcessNode is a Node run as a real `strongbox server -config` process on
// 127.0.0.1 ports, with its own data directory and a log file that
// accumulates across restarts.
type ProcessNode struct {
	id           string
	binary       string
	cfg          nodeConfig
	cfgPath      string
	logPath      string
	env          []string
	link         *Proxy
	startTimeout time.Duration
	probe        *prober

	mu         sync.Mutex
	cmd        *exec.Cmd
	done       chan struct{} // closed when the current process has exited
	exitErr    error
	state      State
	expectExit bool // set by Stop and Kill: the exit is ours
	starting   bool // an exit now is Start's to report
	starts     int
	crashes    []string // exits nobody asked for
}

var _ Node = (*ProcessNode)(nil)

// ID implements Node.
func (n *ProcessNode) ID() string { return n.id }

// APIAddr implements Node.
func (n *ProcessNode) APIAddr() string { return n.cfg.apiAddr() }

// ClusterAddr implements Node.
func (n *ProcessNode) ClusterAddr() string { return "https://" + n.cfg.AdvertisedCluster }

// DataDir implements Node.
func (n *ProcessNode) DataDir() string { return n.cfg.DataDir }

// LogPath is the node's log file (stdout and stderr of every run).
func (n *ProcessNode) LogPath() string { return n.logPath }

// ConfigPath is the node's HCL configuration file.
func (n *ProcessNode) ConfigPath() string { return n.cfgPath }

// Link implements Node; nil without fault injection.
func (n *ProcessNode) Link() Link {
	if n.link == nil {
		return nil
	}
	return n.link
}

// Proxy is the node's fault proxy, nil without Options.Proxies.
func (n *ProcessNode) Proxy() *Proxy { return n.link }

// State implements Node.
func (n *ProcessNode) State() State {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.state
}

// PID is the running process's id, 0 when stopped.
func (n *ProcessNode) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state == Stopped || n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// Client implements Node.
func (n *ProcessNode) Client(token string) *vault.Client {
	return newClient(n.APIAddr(), token)
}

func newClient(addr, token string) *vault.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	c, err := vault.NewClient(&vault.Config{
		Address:    addr,
		MaxRetries: 0,
		Timeout:    clientTimeout,
		// As the official default: the client follows Vault's 307s itself.
		HttpClient: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	})
	if err != nil {
		// Only a malformed VAULT_* variable in the test's environment gets here.
		panic(fmt.Sprintf("testcluster: vault client for %s: %v", addr, err))
	}
	c.ClearNamespace()
	if token == "" {
		c.ClearToken()
	} else {
		c.SetToken(token)
	}
	return c
}

// Start implements Node.
func (n *ProcessNode) Start(ctx context.Context) error {
	n.mu.Lock()
	if n.state != Stopped {
		n.mu.Unlock()
		return fmt.Errorf("start %s: %w", n.id, ErrRunning)
	}
	lf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		n.mu.Unlock()
		return fmt.Errorf("start %s: %w", n.id, err)
	}
	n.starts++
	fmt.Fprintf(lf, "=== testcluster: start #%d of %s at %s ===\n", n.starts, n.id, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(n.binary, "server", "-config="+n.cfgPath)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Env = n.env
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		lf.Close()
		n.mu.Unlock()
		return fmt.Errorf("start %s: %w", n.id, err)
	}
	done := make(chan struct{})
	n.cmd, n.done, n.exitErr = cmd, done, nil
	n.state, n.expectExit, n.starting = Running, false, true
	n.mu.Unlock()
	go n.wait(cmd, done, lf)

	err = n.waitServing(ctx, done)
	n.mu.Lock()
	n.starting = false
	n.mu.Unlock()
	return err
}

// wait reaps the process and records how it ended.
func (n *ProcessNode) wait(cmd *exec.Cmd, done chan struct{}, lf *os.File) {
	err := cmd.Wait()
	lf.Close()
	n.mu.Lock()
	if n.cmd == cmd {
		n.state, n.exitErr = Stopped, err
		if !n.expectExit && !n.starting {
			n.crashes = append(n.crashes, fmt.Sprintf("%s (pid %d) exited unexpectedly: %v", n.id, cmd.Process.Pid, err))
		}
	}
	n.mu.Unlock()
	close(done)
}

// waitServing polls the API until it answers HTTP at all.
func (n *ProcessNode) waitServing(ctx context.Context, done chan struct{}) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.startTimeout)
		defer cancel()
	}
	for {
		var last error
		select {
		case <-done:
			n.mu.Lock()
			err := n.exitErr
			n.mu.Unlock()
			return fmt.Errorf("start %s: exited during start-up: %v\n%s", n.id, err, n.LogTail())
		default:
		}
		_, last = n.probe.healthCode(ctx, n)
		if last == nil {
			return nil
		}
		if err := pause(ctx); err != nil {
			_ = n.Kill()
			return fmt.Errorf("start %s: API not serving: %w (last: %v)\n%s", n.id, err, last, n.LogTail())
		}
	}
}

// Stop implements Node.
func (n *ProcessNode) Stop(ctx context.Context) error {
	cmd, done, paused, ok := n.expect()
	if !ok {
		return nil
	}
	if _, has := ctx.Deadline(); !has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStopTimeout)
		defer cancel()
	}
	signal(cmd, syscall.SIGTERM)
	if paused {
		// A stopped process holds SIGTERM until it continues.
		signal(cmd, syscall.SIGCONT)
	}
	select {
	case <-done:
	case <-ctx.Done():
		signal(cmd, syscall.SIGKILL)
		<-done
		return fmt.Errorf("stop %s: no clean exit before the deadline, killed: %w", n.id, ctx.Err())
	}
	n.mu.Lock()
	err := n.exitErr
	n.mu.Unlock()
	if err != nil {
		return fmt.Errorf("stop %s: %w", n.id, err)
	}
	return nil
}

// Kill implements Node.
func (n *ProcessNode) Kill() error {
	cmd, done, _, ok := n.expect()
	if !ok {
		return nil
	}
	signal(cmd, syscall.SIGKILL)
	t := time.NewTimer(killTimeout)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return fmt.Errorf("kill %s: process %d still there after %s", n.id, cmd.Process.Pid, killTimeout)
	}
}

// expect marks the coming exit as requested and returns the process.
func (n *ProcessNode) expect() (*exec.Cmd, chan struct{}, bool, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state == Stopped {
		return nil, nil, false, false
	}
	n.expectExit = true
	return n.cmd, n.done, n.state == Paused, true
}

// Pause implements Node.
func (n *ProcessNode) Pause() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state != Running {
		return fmt.Errorf("pause %s: %w (%s)", n.id, ErrNotRunning, n.state)
	}
	if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return fmt.Errorf("pause %s: %w", n.id, err)
	}
	n.state = Paused
	return nil
}

// Resume implements Node.
func (n *ProcessNode) Resume() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch n.state {
	case Running:
		return nil
	case Stopped:
		return fmt.Errorf("resume %s: %w", n.id, ErrNotRunning)
	}
	if err := n.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		return fmt.Errorf("resume %s: %w", n.id, err)
	}
	n.state = Running
	return nil
}

// Restart implements Node.
func (n *ProcessNode) Restart(ctx context.Context) error {
	if err := n.Stop(ctx); err != nil {
		return err
	}
	return n.Start(ctx)
}

// LogTail returns the end of the node's log file.
func (n *ProcessNode) LogTail() string {
	f, err := os.Open(n.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > logTailBytes {
		if _, err := f.Seek(-logTailBytes, io.SeekEnd); err != nil {
			return fmt.Sprintf("(log: %v)", err)
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(log: %v)", err)
	}
	return string(b)
}

// crashReports returns and clears the unexpected exits seen so far.
func (n *ProcessNode) crashReports() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.crashes
	n.crashes = nil
	return c
}

func signal(cmd *exec.Cmd, sig os.Signal) {
	// ErrProcessDone means it exited meanwhile, which is what we wanted.
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = cmd.Process.Kill()
	}
}

// childEnv is the test's environment without VAULT_* and STRONGBOX_*
// variables, which would override the generated configuration.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "STRONGBOX_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
