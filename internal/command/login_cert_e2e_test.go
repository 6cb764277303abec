package command

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/builtin/credential/cert/certtest"
)

// TestLoginCertAgainstRealServer: `login -method=cert` with -client-cert
// and -client-key (and with VAULT_CLIENT_CERT / VAULT_CLIENT_KEY), name=
// picking the entry, against the built server on a TLS listener; a
// certificate from another CA is refused with Vault's message and exit
// code 2.
func TestLoginCertAgainstRealServer(t *testing.T) {
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	srvCA, err := certtest.NewCA("server-ca")
	if err != nil {
		t.Fatal(err)
	}
	srvLeaf, err := srvCA.Issue(certtest.Options{CommonName: "strongbox", ServerAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	clientCA, err := certtest.NewCA("client-ca")
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := certtest.NewCA("other-ca")
	if err != nil {
		t.Fatal(err)
	}
	files := func(name string, l *certtest.Leaf) (string, string) {
		c, k := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		writeFile(t, c, l.CertPEM)
		writeFile(t, k, l.KeyPEM)
		return c, k
	}
	srvCrt, srvKey := files("server", srvLeaf)
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, srvCA.PEM)
	port := freePort(t)
	cfg := filepath.Join(dir, "server.hcl")
	writeFile(t, cfg, fmt.Sprintf(`storage "inmem" {}
listener "tcp" {
  address       = "127.0.0.1:%d"
  tls_cert_file = %q
  tls_key_file  = %q
}
disable_mlock = true
`, port, srvCrt, srvKey))
	addr := fmt.Sprintf("https://127.0.0.1:%d", port)
	sb := &binRunner{t: t, bin: bin, env: cleanEnv(map[string]string{"HOME": home, "VAULT_ADDR": addr, "VAULT_CACERT": caFile})}
	startServer(t, sb, cfg)
	sb.waitReady()
	init := jsonOut(t, sb.run("", "operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json").want(t, 0).stdout)
	keys, _ := init["unseal_keys_b64"].([]any)
	rootTok, _ := init["root_token"].(string)
	sb.run("", "operator", "unseal", keys[0].(string)).want(t, 0)
	root := &binRunner{t: t, bin: bin, env: append(sb.env, "VAULT_TOKEN="+rootTok)}
	root.run("", "auth", "enable", "cert").want(t, 0)
	caPEM := filepath.Join(dir, "client-ca.pem")
	writeFile(t, caPEM, clientCA.PEM)
	root.run("", "write", "auth/cert/certs/web", "certificate=@"+caPEM, "display_name=web", "token_policies=default", "token_ttl=10m").want(t, 0)
	root.run("", "write", "auth/cert/certs/ops", "certificate=@"+caPEM, "display_name=ops", "allowed_common_names=ops-*").want(t, 0)

	good, err := clientCA.Issue(certtest.Options{CommonName: "ops-1"})
	if err != nil {
		t.Fatal(err)
	}
	crt, key := files("good", good)
	// Flags, with name= picking the entry.
	res := sb.run("", "login", "-method=cert", "-client-cert="+crt, "-client-key="+key, "-no-store", "-format=json", "name=ops").want(t, 0)
	login := jsonOut(t, res.stdout)
	auth, _ := login["auth"].(map[string]any)
	meta, _ := auth["metadata"].(map[string]any)
	tok, _ := auth["client_token"].(string)
	if tok == "" || meta["cert_name"] != "ops" || meta["common_name"] != "ops-1" {
		t.Fatalf("login -method=cert name=ops: %v", login)
	}
	look := jsonOut(t, (&binRunner{t: t, bin: bin, env: append(sb.env, "VAULT_TOKEN="+tok)}).run("", "token", "lookup", "-format=json").want(t, 0).stdout)
	data, _ := look["data"].(map[string]any)
	if data["display_name"] != "cert-ops" || data["path"] != "auth/cert/login" {
		t.Fatalf("token lookup of a cert login: %v", data)
	}
	// The environment variables, without name: the first entry by name
	// that matches ("ops" sorts before "web").
	env := &binRunner{t: t, bin: bin, env: append(sb.env, "VAULT_CLIENT_CERT="+crt, "VAULT_CLIENT_KEY="+key)}
	res = env.run("", "login", "-method=cert").want(t, 0)
	if !strings.Contains(res.stdout, "Success! You are now authenticated.") || !strings.Contains(res.stdout, "cert_name") {
		t.Fatalf("login -method=cert from the environment: %q", res.stdout)
	}
	// The stored token works.
	res = (&binRunner{t: t, bin: bin, env: sb.env}).run("", "token", "lookup", "-format=json").want(t, 0)
	if !strings.Contains(res.stdout, `"cert-ops"`) {
		t.Fatalf("stored token lookup: %s", res.stdout)
	}

	stranger, err := otherCA.Issue(certtest.Options{CommonName: "ops-1"})
	if err != nil {
		t.Fatal(err)
	}
	sCrt, sKey := files("stranger", stranger)
	res = sb.run("", "login", "-method=cert", "-client-cert="+sCrt, "-client-key="+sKey).want(t, 2)
	if !strings.Contains(res.stderr, "invalid certificate or no client certificate supplied") || !strings.Contains(res.stderr, "Code: 400") {
		t.Fatalf("another CA's certificate: %q", res.stderr)
	}
	// No certificate at all.
	res = sb.run("", "login", "-method=cert").want(t, 2)
	if !strings.Contains(res.stderr, "client certificate must be supplied") {
		t.Fatalf("no certificate: %q", res.stderr)
	}
}
