package command

import (
	"os"
	"strings"
)

// Environment variables the CLI reads. Each also has a STRONGBOX_* alias
// (STRONGBOX_ADDR for VAULT_ADDR, …); when both are set, VAULT_* wins, so a
// runbook's exports keep their meaning.
const (
	envAddr             = "VAULT_ADDR"
	envAgentAddr        = "VAULT_AGENT_ADDR"
	envCACert           = "VAULT_CACERT"
	envCAPath           = "VAULT_CAPATH"
	envClientCert       = "VAULT_CLIENT_CERT"
	envClientKey        = "VAULT_CLIENT_KEY"
	envClientTimeout    = "VAULT_CLIENT_TIMEOUT"
	envSkipVerify       = "VAULT_SKIP_VERIFY"
	envTLSServerName    = "VAULT_TLS_SERVER_NAME"
	envNamespace        = "VAULT_NAMESPACE"
	envFormat           = "VAULT_FORMAT"
	envWrapTTL          = "VAULT_WRAP_TTL"
	envToken            = "VAULT_TOKEN"
	envMaxRetries       = "VAULT_MAX_RETRIES"
	envDevRootTokenID   = "VAULT_DEV_ROOT_TOKEN_ID"
	envDevListenAddress = "VAULT_DEV_LISTEN_ADDRESS"
	envLogLevel         = "VAULT_LOG_LEVEL"
)

// envDoc describes one environment variable for the root command's help.
type envDoc struct{ name, usage string }

// envDocs lists the variables for the root command's help, in order.
func envDocs() []envDoc {
	return []envDoc{
		{envAddr, "Address of the server (default https://127.0.0.1:8200)."},
		{envAgentAddr, "Address of a strongbox agent to send requests through; takes precedence over " + envAddr + "."},
		{envToken, "Token to authenticate with; takes precedence over the token helper file ~/.vault-token."},
		{envCACert, "PEM CA certificate file to verify the server's certificate."},
		{envCAPath, "Directory of PEM CA certificates to verify the server's certificate."},
		{envClientCert, "PEM client certificate for TLS authentication."},
		{envClientKey, "PEM private key for the client certificate."},
		{envSkipVerify, "Do not verify the server's TLS certificate (discouraged)."},
		{envTLSServerName, "SNI host name to send when connecting over TLS."},
		{envNamespace, "Namespace for the command."},
		{envFormat, "Output format: table, json, yaml (raw for read)."},
		{envWrapTTL, "Wrap responses in a cubbyhole token with this TTL."},
		{envMaxRetries, "Retries for failed requests (default 0 on the CLI)."},
		{envClientTimeout, "Client request timeout (default 60s)."},
		{envDevRootTokenID, "server -dev: the root token ID."},
		{envDevListenAddress, "server -dev: the listen address."},
		{envLogLevel, "server: the log level."},
	}
}

// environ looks variables up; tests pass a map, Execute the process's.
type environ func(name string) (string, bool)

// get returns name's value, or its STRONGBOX_* alias's when name is unset
// or empty.
func (e environ) get(name string) string {
	if v, ok := e(name); ok && v != "" {
		return v
	}
	if v, ok := e(aliasOf(name)); ok {
		return v
	}
	return ""
}

// aliasOf maps VAULT_X to STRONGBOX_X.
func aliasOf(name string) string {
	return "STRONGBOX_" + strings.TrimPrefix(name, "VAULT_")
}

// mapEnviron is an environ over a fixed map (tests).
func mapEnviron(m map[string]string) environ {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func osEnviron() environ { return os.LookupEnv }
