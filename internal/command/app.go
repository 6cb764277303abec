package command

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/hashicorp/go-secure-stdlib/parseutil"
	"github.com/hashicorp/vault/api"
	"golang.org/x/term"

	"github.com/strongbox/strongbox/internal/command/format"
	"github.com/strongbox/strongbox/internal/server"
)

// system is what commands need from the process beyond the streams: terminal
// checks, hidden input and the embedded server. Tests replace it.
type system struct {
	// isTerminal reports whether a stream (stdin or stdout) is a terminal.
	isTerminal func(stream any) bool
	// readPassword reads one line from a terminal without echoing it.
	readPassword func(stdin io.Reader) (string, error)
	// runServer is server.Run.
	runServer func(ctx context.Context, opts server.Options, reload <-chan struct{}) error
}

func osSystem() system {
	return system{
		isTerminal: func(stream any) bool {
			f, ok := stream.(*os.File)
			return ok && term.IsTerminal(int(f.Fd()))
		},
		readPassword: readTerminalPassword,
		runServer:    server.Run,
	}
}

// readTerminalPassword reads a line from the terminal on stdin without
// echo. If the user interrupts the prompt, the terminal's echo is restored
// before the interrupt takes its default course (ending the process), so
// the shell isn't left silent.
func readTerminalPassword(stdin io.Reader) (string, error) {
	f, ok := stdin.(*os.File)
	if !ok {
		return "", errors.New("stdin is not a terminal")
	}
	fd := int(f.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("read terminal state: %w", err)
	}
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	defer func() {
		signal.Stop(interrupts)
		close(done)
	}()
	go func() {
		select {
		case sig := <-interrupts:
			_ = term.Restore(fd, state)
			signal.Stop(interrupts)
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				_ = p.Signal(sig)
			}
		case <-done:
		}
	}()
	b, err := term.ReadPassword(fd)
	return string(b), err
}

// app is the state of one CLI invocation: streams, environment, global
// flags and the API client built from them.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	env    environ
	sys    system
	g      globalFlags

	client      *api.Client
	stdinLocked bool // stdin was already consumed by an argument
}

// printer formats output per -format.
func (a *app) printer() format.Printer {
	return format.Printer{Out: a.stdout, Err: a.stderr, Format: a.g.format, Terminal: a.sys.isTerminal(a.stdout)}
}

func (a *app) isTable() bool { return a.g.format == "" || a.g.format == format.NameTable }

// outputSecret prints a response per -field / -format.
func (a *app) outputSecret(s *api.Secret) error {
	if a.g.field != "" {
		return outputError(a.printer().Field(s, a.g.field))
	}
	return outputError(a.printer().Secret(s))
}

// outputData prints a value per -format (table: maps and lists only).
func (a *app) outputData(v any) error {
	return outputError(a.printer().Data(v))
}

// outputField prints one field of data (a secret or a map).
func (a *app) outputField(data any, field string) error {
	return outputError(a.printer().Field(data, field))
}

// info prints a line to stdout (Vault's ui.Info/Output).
func (a *app) info(format string, args ...any) {
	fmt.Fprintf(a.stdout, format+"\n", args...)
}

// warn prints a line to stderr.
func (a *app) warn(format string, args ...any) {
	fmt.Fprintf(a.stderr, format+"\n", args...)
}

// apiClient builds (once) the HTTP API client from the global flags and
// environment: address, TLS, token (VAULT_TOKEN, else the token helper),
// namespace, headers, wrapping TTL, curl-string mode. Like Vault's CLI it
// doesn't retry unless VAULT_MAX_RETRIES says so.
func (a *app) apiClient() (*api.Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, clientError(fmt.Errorf("failed to read environment: %w", cfg.Error))
	}
	cfg.Address = a.g.address
	cfg.AgentAddress = ""
	cfg.MaxRetries = 0
	if v := a.env.get(envMaxRetries); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, clientError(fmt.Errorf("failed to read environment: could not parse %s %q", envMaxRetries, v))
		}
		cfg.MaxRetries = n
	}
	if v := a.env.get(envClientTimeout); v != "" {
		d, err := parseutil.ParseDurationSecond(v)
		if err != nil {
			return nil, clientError(fmt.Errorf("failed to read environment: could not parse %s %q", envClientTimeout, v))
		}
		cfg.Timeout = d
	}
	// DefaultConfig already applied VAULT_* TLS variables; start clean so
	// flags and STRONGBOX_* aliases decide alone.
	if t, ok := cfg.HttpClient.Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
		tc := t.TLSClientConfig
		tc.RootCAs, tc.InsecureSkipVerify, tc.ServerName, tc.GetClientCertificate = nil, false, "", nil
	}
	err := cfg.ConfigureTLS(&api.TLSConfig{
		CACert:        a.g.caCert,
		CAPath:        a.g.caPath,
		ClientCert:    a.g.clientCert,
		ClientKey:     a.g.clientKey,
		TLSServerName: a.g.tlsServerName,
		Insecure:      a.g.tlsSkipVerify,
	})
	if err != nil {
		return nil, clientError(fmt.Errorf("failed to setup TLS config: %w", err))
	}
	cfg.OutputCurlString = a.g.outputCurlString

	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, clientError(fmt.Errorf("failed to create client: %w", err))
	}
	// A zero wrap TTL means no wrapping, as with Vault's -wrap-ttl=0.
	var wrapTTL string
	if a.g.wrapTTL.d > 0 {
		wrapTTL = a.g.wrapTTL.raw
	}
	client.SetWrappingLookupFunc(func(operation, path string) string {
		if wrapTTL != "" {
			return wrapTTL
		}
		if (operation == http.MethodPut || operation == http.MethodPost) && path == "sys/wrapping/wrap" {
			return api.DefaultWrappingTTL
		}
		return ""
	})

	token := a.env.get(envToken)
	if token == "" {
		helper, err := a.tokenHelper()
		if err != nil {
			return nil, clientError(fmt.Errorf("failed to get token helper: %w", err))
		}
		if token, err = helper.Get(); err != nil {
			return nil, clientError(fmt.Errorf("failed to get token from token helper: %w", err))
		}
	}
	if token != "" {
		client.SetToken(token)
	} else {
		client.ClearToken()
	}
	if ns := strings.Trim(a.g.namespace, "/ "); ns != "" {
		client.SetNamespace(ns + "/")
	} else {
		client.ClearNamespace()
	}
	for _, h := range a.g.headers {
		k, v, ok := strings.Cut(h, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, usageErrorf("invalid -header %q: must be key=value", h)
		}
		if strings.HasPrefix(strings.ToLower(k), "x-vault-") {
			return nil, usageErrorf("invalid -header %q: headers starting with X-Vault- are reserved", h)
		}
		client.AddHeader(k, strings.TrimSpace(v))
	}
	a.client = client
	return client, nil
}

// homeDir is $HOME (tests set it through the environment).
func (a *app) homeDir() (string, error) {
	if h, ok := a.env("HOME"); ok && h != "" {
		return h, nil
	}
	if h, ok := a.env("USERPROFILE"); ok && h != "" {
		return h, nil
	}
	return os.UserHomeDir()
}

// tokenHelper is the file token helper at ~/.vault-token, the same file
// Vault uses so existing logins carry over.
func (a *app) tokenHelper() (*tokenHelper, error) {
	home, err := a.homeDir()
	if err != nil {
		return nil, fmt.Errorf("cannot find home directory: %w", err)
	}
	return &tokenHelper{path: filepath.Join(home, ".vault-token")}, nil
}

// errNonInteractive is returned when a prompt is needed under -non-interactive.
var errNonInteractive = errors.New("refusing to prompt: -non-interactive is set")

// readSecret asks for a hidden value: on a terminal it prints prompt to
// promptOut and reads without echo; from a pipe it reads one line.
func (a *app) readSecret(prompt string, promptOut io.Writer) (string, error) {
	if a.sys.isTerminal(a.stdin) {
		if a.g.nonInteractive {
			return "", errNonInteractive
		}
		fmt.Fprint(promptOut, prompt)
		v, err := a.sys.readPassword(a.stdin)
		fmt.Fprintln(promptOut)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(v), nil
	}
	line, err := a.readStdinLine()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// readStdinLine reads one line from stdin, byte by byte so nothing past the
// newline is consumed.
func (a *app) readStdinLine() (string, error) {
	if a.stdin == nil {
		return "", errors.New("no stdin")
	}
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := a.stdin.Read(buf)
		if n > 0 {
			if buf[0] == '\n' {
				return b.String(), nil
			}
			b.WriteByte(buf[0])
		}
		if errors.Is(err, io.EOF) {
			if b.Len() == 0 {
				return "", errors.New("nothing to read on stdin")
			}
			return b.String(), nil
		}
		if err != nil {
			return "", fmt.Errorf("read stdin: %w", err)
		}
	}
}

// readAllStdin reads stdin to its end; it may be used once per command.
func (a *app) readAllStdin() ([]byte, error) {
	if a.stdinLocked {
		return nil, errors.New("stdin already consumed")
	}
	if a.stdin == nil {
		return nil, errors.New("stdin is not supported")
	}
	a.stdinLocked = true
	b, err := io.ReadAll(bufio.NewReader(a.stdin))
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	return b, nil
}
