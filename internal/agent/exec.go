package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"syscall"
	"time"

	ctconfig "github.com/hashicorp/consul-template/config"
	"github.com/hashicorp/consul-template/manager"
)

// ErrChildExited is returned by Run when the exec child exits by itself;
// the agent stops with it, as Vault's agent does.
var ErrChildExited = errors.New("exec: the command exited")

// execRunner renders env_templates (consul-template, dry: nothing is
// written anywhere) and runs exec's command with them in its environment,
// restarting it when a value changes (restart_on_secret_changes =
// "always").
type execRunner struct {
	cfg    *Config
	log    *slog.Logger
	tokens chan string
}

func newExecRunner(cfg *Config, log *slog.Logger) *execRunner {
	return &execRunner{cfg: cfg, log: log, tokens: make(chan string, 1)}
}

func (e *execRunner) setToken(tok string) {
	select {
	case <-e.tokens:
	default:
	}
	e.tokens <- tok
}

func (e *execRunner) runnerConfig(token string) (*ctconfig.Config, error) {
	t := &templates{cfg: &Config{Vault: e.cfg.Vault, TemplateConfig: e.cfg.TemplateConfig}}
	c, err := t.runnerConfig(token, false)
	if err != nil {
		return nil, err
	}
	tcs := make(ctconfig.TemplateConfigs, 0, len(e.cfg.EnvTemplates))
	for _, et := range e.cfg.EnvTemplates {
		tc := ctconfig.DefaultTemplateConfig()
		contents, name, missing := et.Contents, et.Name, et.ErrorOnMissingKey
		tc.Contents = &contents
		tc.MapToEnvironmentVariable = &name
		tc.ErrMissingKey = &missing
		tc.Finalize()
		tcs = append(tcs, tc)
	}
	c.Templates = &tcs
	return c, nil
}

type child struct {
	cmd  *exec.Cmd
	done chan error
}

func (e *execRunner) start(env map[string]string) (*child, error) {
	args := e.cfg.Exec.Command
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	c := &child{cmd: cmd, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait() }()
	e.log.Info("exec: command started", "pid", cmd.Process.Pid)
	return c, nil
}

// stop sends SIGTERM, then SIGKILL if the child has not exited in 30s.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func (e *execRunner) run(ctx context.Context) error {
	var r *manager.Runner
	var ch *child
	var env map[string]string
	defer func() {
		if r != nil {
			r.Stop()
		}
		if ch != nil {
			ch.stop()
		}
	}()
	for {
		var errCh <-chan error
		var rendered <-chan struct{}
		var exited <-chan error
		if r != nil {
			errCh, rendered = r.ErrCh, r.TemplateRenderedCh()
		}
		if ch != nil {
			exited = ch.done
		}
		select {
		case <-ctx.Done():
			return nil
		case tok := <-e.tokens:
			if r != nil {
				r.Stop()
			}
			c, err := e.runnerConfig(tok)
			if err != nil {
				return err
			}
			if r, err = manager.NewRunner(c, true); err != nil {
				return fmt.Errorf("env_template: %w", err)
			}
			r.SetOutStream(io.Discard) // dry mode would print the values
			go r.Start()
		case err := <-errCh:
			return fmt.Errorf("env_template: %w", err)
		case err := <-exited:
			ch = nil
			if err != nil {
				return fmt.Errorf("%w: %w", ErrChildExited, err)
			}
			return ErrChildExited
		case <-rendered:
			next, ok := renderedEnv(r)
			if !ok || maps.Equal(next, env) {
				continue
			}
			if ch != nil {
				if e.cfg.Exec.RestartOnSecretChanges == "never" {
					continue
				}
				e.log.Info("exec: a secret changed; restarting the command")
				ch.stop()
				ch = nil
			}
			env = next
			var err error
			if ch, err = e.start(env); err != nil {
				return err
			}
		}
	}
}

// renderedEnv is every env_template's value, ok once all have rendered.
func renderedEnv(r *manager.Runner) (map[string]string, bool) {
	env := map[string]string{}
	mapping := r.TemplateConfigMapping()
	events := r.RenderEvents()
	for id, tcs := range mapping {
		ev := events[id]
		if ev == nil || ev.Contents == nil {
			return nil, false
		}
		for _, tc := range tcs {
			if tc.MapToEnvironmentVariable != nil {
				env[*tc.MapToEnvironmentVariable] = string(ev.Contents)
			}
		}
	}
	return env, len(env) > 0
}
