package command

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-secure-stdlib/parseutil"
	"github.com/spf13/pflag"
)

// Flag groups, shown as sections of --help like Vault's.
const (
	groupAnnotation = "strongbox_group"
	groupHTTP       = "HTTP Options"
	groupOutput     = "Output Options"
	groupCommand    = "Command Options"
)

// globalFlags are the options every command accepts. Values not given on
// the command line are filled from the environment in resolve.
type globalFlags struct {
	address          string
	caCert           string
	caPath           string
	clientCert       string
	clientKey        string
	tlsServerName    string
	tlsSkipVerify    bool
	namespace        string
	ns               string
	wrapTTL          durationFlag
	headers          []string
	outputCurlString bool
	nonInteractive   bool
	format           string
	field            string
}

const defaultAddress = "https://127.0.0.1:8200"

func (g *globalFlags) register(fs *pflag.FlagSet) {
	in := func(group string, names ...string) {
		for _, n := range names {
			_ = fs.SetAnnotation(n, groupAnnotation, []string{group})
		}
	}
	fs.StringVar(&g.address, "address", defaultAddress, "Address of the server. Overrides "+envAddr+".")
	fs.StringVar(&g.caCert, "ca-cert", "", "Path to a PEM-encoded CA certificate to verify the server's TLS certificate. Takes precedence over -ca-path. Overrides "+envCACert+".")
	fs.StringVar(&g.caPath, "ca-path", "", "Path to a directory of PEM-encoded CA certificates to verify the server's TLS certificate. Overrides "+envCAPath+".")
	fs.StringVar(&g.clientCert, "client-cert", "", "Path to a PEM-encoded certificate for TLS authentication to the server; requires -client-key. Overrides "+envClientCert+".")
	fs.StringVar(&g.clientKey, "client-key", "", "Path to the PEM-encoded private key of -client-cert. Overrides "+envClientKey+".")
	fs.StringVar(&g.tlsServerName, "tls-server-name", "", "Name to use as the SNI host when connecting over TLS. Overrides "+envTLSServerName+".")
	fs.BoolVar(&g.tlsSkipVerify, "tls-skip-verify", false, "Disable verification of TLS certificates (highly discouraged). Overrides "+envSkipVerify+".")
	fs.StringVar(&g.namespace, "namespace", "", "The namespace to use for the command. Overrides "+envNamespace+".")
	fs.StringVar(&g.ns, "ns", "", "Alias for -namespace; takes precedence over it.")
	_ = fs.MarkHidden("ns")
	fs.Var(&g.wrapTTL, "wrap-ttl", "Wrap the response in a single-use token that expires after this TTL (e.g. \"30s\", \"5m\"); \"strongbox unwrap\" gets the response back. Overrides "+envWrapTTL+".")
	fs.StringArrayVar(&g.headers, "header", nil, "An HTTP header added to every request, as key=value. Repeatable. Headers starting with X-Vault- are reserved.")
	fs.BoolVar(&g.outputCurlString, "output-curl-string", false, "Print the equivalent cURL command instead of sending the request, and exit.")
	fs.BoolVar(&g.nonInteractive, "non-interactive", false, "Never prompt for input on the terminal; fail instead.")
	in(groupHTTP, "address", "ca-cert", "ca-path", "client-cert", "client-key", "tls-server-name",
		"tls-skip-verify", "namespace", "ns", "wrap-ttl", "header", "output-curl-string", "non-interactive")

	fs.StringVar(&g.format, "format", "table", "Print the output in the given format: \"table\", \"json\" or \"yaml\" (\"raw\" for read). Overrides "+envFormat+".")
	fs.StringVar(&g.field, "field", "", "Print only the field with the given name, without a trailing newline when piped. Takes precedence over -format.")
	in(groupOutput, "format", "field")
}

// resolve fills options not given on the command line from the environment.
func (g *globalFlags) resolve(fs *pflag.FlagSet, env environ) error {
	fromEnv := func(flag string, target *string, name string) {
		if !fs.Changed(flag) {
			if v := env.get(name); v != "" {
				*target = v
			}
		}
	}
	fromEnv("address", &g.address, envAddr)
	// An agent's address wins over the server's, as in Vault's CLI: the
	// point of exporting it is to route every command through the agent.
	fromEnv("address", &g.address, envAgentAddr)
	fromEnv("ca-cert", &g.caCert, envCACert)
	fromEnv("ca-path", &g.caPath, envCAPath)
	fromEnv("client-cert", &g.clientCert, envClientCert)
	fromEnv("client-key", &g.clientKey, envClientKey)
	fromEnv("tls-server-name", &g.tlsServerName, envTLSServerName)
	fromEnv("namespace", &g.namespace, envNamespace)
	fromEnv("format", &g.format, envFormat)
	if fs.Changed("ns") {
		g.namespace = g.ns
	}
	if !fs.Changed("tls-skip-verify") {
		if v := env.get(envSkipVerify); v != "" {
			b, err := parseutil.ParseBool(v)
			if err != nil {
				return usageErrorf("could not parse %s: %q", envSkipVerify, v)
			}
			g.tlsSkipVerify = b
		}
	}
	if !fs.Changed("wrap-ttl") {
		if v := env.get(envWrapTTL); v != "" {
			if err := g.wrapTTL.Set(v); err != nil {
				return usageErrorf("could not parse %s: %v", envWrapTTL, err)
			}
		}
	}
	g.format = strings.ToLower(strings.TrimSpace(g.format))
	return nil
}

// durationFlag accepts Vault's durations: "30s", "5m", "1d", or a bare
// number of seconds. It keeps what the user typed to send on unchanged.
type durationFlag struct {
	raw string
	d   time.Duration
	set bool
}

func (f *durationFlag) String() string { return f.raw }
func (f *durationFlag) Type() string   { return "duration" }
func (f *durationFlag) Set(s string) error {
	s = strings.TrimSpace(s)
	d, err := parseutil.ParseDurationSecond(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q", s)
	}
	if d < 0 {
		return fmt.Errorf("invalid duration %q: negative", s)
	}
	f.raw, f.d, f.set = s, d, true
	return nil
}

// mapFlag collects repeated key=value flags (-options, -metadata, …).
type mapFlag struct {
	m map[string]string
}

func (f *mapFlag) String() string {
	if len(f.m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(f.m))
	for k := range f.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + f.m[k]
	}
	return strings.Join(parts, ",")
}
func (f *mapFlag) Type() string { return "key=value" }
func (f *mapFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("%q is not in key=value form", s)
	}
	if f.m == nil {
		f.m = map[string]string{}
	}
	f.m[k] = strings.TrimSpace(v)
	return nil
}

// commaList flattens repeated flags that may also hold comma-separated
// values ("-policy=a,b -policy=c" → a, b, c), dropping empty items.
func commaList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// commandFlags marks every flag of fs not yet in a group as a command
// option (for --help sections).
func commandFlags(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if _, ok := f.Annotations[groupAnnotation]; !ok {
			_ = fs.SetAnnotation(f.Name, groupAnnotation, []string{groupCommand})
		}
	})
}
