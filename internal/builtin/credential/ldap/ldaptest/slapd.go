package ldaptest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The test directory.
const (
	BaseDN   = "dc=example,dc=org"
	UsersDN  = "ou=users," + BaseDN
	GroupsDN = "ou=groups," + BaseDN
	// RootDN may change anything (Modify).
	RootDN = "cn=admin," + BaseDN
	RootPW = "admin-pw"
	// ReaderDN is a service account that may read (search) everything.
	ReaderDN = "cn=reader," + BaseDN
	ReaderPW = "reader-pw"
	// UPNDomain is the domain of the users' userPrincipalName.
	UPNDomain = "example.org"
)

// Users are the test users and their passwords: alice is in the
// groupOfNames "devs" and the posixGroup "ops" (memberUid), carol in
// "admins", bob in no group.
var Users = map[string]string{"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}

// UserDN is the DN of a test user.
func UserDN(uid string) string { return "uid=" + uid + "," + UsersDN }

// SlapdPath is where Debian installs slapd.
const SlapdPath = "/usr/sbin/slapd"

// Server is a running slapd.
type Server struct {
	// URL is ldap://127.0.0.1:<port> (StartTLS available on it);
	// LDAPSURL is ldaps://127.0.0.1:<port>.
	URL, LDAPSURL string
	// CACert is the PEM certificate of the CA that signed the server's
	// certificate (for 127.0.0.1 and localhost).
	CACert string
	// ClientCert and ClientKey are a client certificate the CA signed and
	// its key (PEM), which a server started with RequireClientCert takes.
	ClientCert, ClientKey string

	cmd  *exec.Cmd
	done chan error
	dir  string
	log  string
}

// Options change how slapd runs.
type Options struct {
	// RequireClientCert makes every TLS connection (StartTLS or ldaps)
	// present a client certificate signed by the test CA.
	RequireClientCert bool
}

// Start runs slapd in dir (which must exist and stay until Stop) and
// returns once it answers. It fails, naming the fix, when slapd is not
// installed.
func Start(dir string) (*Server, error) { return StartWith(dir, Options{}) }

// StartWith is Start with options.
func StartWith(dir string, opts Options) (*Server, error) {
	if _, err := os.Stat(SlapdPath); err != nil {
		return nil, fmt.Errorf("ldaptest: slapd is not installed (%s missing): run scripts/test-deps.sh", SlapdPath)
	}
	if _, err := exec.LookPath("slapadd"); err != nil {
		if _, err := os.Stat("/usr/sbin/slapadd"); err != nil {
			return nil, errors.New("ldaptest: slapadd is not installed: run scripts/test-deps.sh")
		}
	}
	s := &Server{dir: dir, log: filepath.Join(dir, "slapd.log")}
	pki, err := makeCerts()
	if err != nil {
		return nil, err
	}
	s.CACert, s.ClientCert, s.ClientKey = string(pki.ca), string(pki.clientCert), string(pki.clientKey)
	conf := slapdConf(dir)
	if opts.RequireClientCert {
		conf = strings.Replace(conf, "TLSCertificateKeyFile", "TLSVerifyClient demand\nTLSCertificateKeyFile", 1)
	}
	files := map[string][]byte{"ca.pem": pki.ca, "cert.pem": pki.serverCert, "key.pem": pki.serverKey,
		"slapd.conf": []byte(conf), "data.ldif": []byte(directory)}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			return nil, fmt.Errorf("ldaptest: write %s: %w", name, err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		return nil, fmt.Errorf("ldaptest: %w", err)
	}
	confPath := filepath.Join(dir, "slapd.conf")
	if out, err := exec.Command("/usr/sbin/slapadd", "-f", confPath, "-l", filepath.Join(dir, "data.ldif")).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ldaptest: slapadd: %v\n%s", err, out)
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", ports[0])
	s.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", ports[1])
	logf, err := os.Create(s.log)
	if err != nil {
		return nil, fmt.Errorf("ldaptest: %w", err)
	}
	defer logf.Close()
	// -d 0 keeps slapd in the foreground (a child we can stop) and quiet.
	s.cmd = exec.Command(SlapdPath, "-f", confPath, "-h", s.URL+"/ "+s.LDAPSURL+"/", "-d", "0")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("ldaptest: start slapd: %w", err)
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	if err := s.waitReady(30 * time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls with an anonymous search until slapd answers, slapd
// exits or the deadline passes.
func (s *Server) waitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("ldaptest: slapd exited: %v\n%s", err, s.Log())
		default:
		}
		l, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
		if err == nil {
			_, err = l.Search(ldap.NewSearchRequest(BaseDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 5, false, "(objectClass=*)", nil, nil))
			_ = l.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ldaptest: slapd not answering on %s after %s: %v\n%s", s.URL, within, err, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Log is what slapd wrote.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// Stop ends slapd and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Modify runs fn on a connection bound as RootDN, to change the directory
// during a test.
func (s *Server) Modify(ctx context.Context, fn func(*ldap.Conn) error) error {
	l, err := ldap.DialURL(s.URL)
	if err != nil {
		return err
	}
	defer l.Close()
	stop := context.AfterFunc(ctx, func() { _ = l.Close() })
	defer stop()
	if err := l.Bind(RootDN, RootPW); err != nil {
		return err
	}
	return fn(l)
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("ldaptest: free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

type testPKI struct {
	ca, serverCert, serverKey, clientCert, clientKey []byte
}

// makeCerts makes a CA, a server certificate for 127.0.0.1/localhost and
// a client certificate.
func makeCerts() (*testPKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "strongbox ldaptest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	issue := func(serial int64, tmpl *x509.Certificate) (certPEM, keyPEM []byte, err error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
	}
	p := &testPKI{ca: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	if p.serverCert, p.serverKey, err = issue(2, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return nil, err
	}
	if p.clientCert, p.clientKey, err = issue(3, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "strongbox"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return nil, err
	}
	return p, nil
}

func slapdConf(dir string) string {
	return strings.NewReplacer("@DIR@", dir).Replace(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema

# Active Directory's userPrincipalName, for upndomain logins.
attributetype ( 1.3.6.1.4.1.55555.1.1 NAME 'userPrincipalName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.2.1 NAME 'upnUser' SUP top AUXILIARY MAY userPrincipalName )

pidfile @DIR@/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb

TLSCACertificateFile @DIR@/ca.pem
TLSCertificateFile @DIR@/cert.pem
TLSCertificateKeyFile @DIR@/key.pem

database mdb
maxsize 33554432
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw admin-pw
directory @DIR@/db

access to attrs=userPassword
	by self read
	by anonymous auth
	by * none
access to *
	by * read
`)
}

const directory = `dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=users,dc=example,dc=org
objectClass: organizationalUnit
ou: users

dn: ou=groups,dc=example,dc=org
objectClass: organizationalUnit
ou: groups

dn: cn=reader,dc=example,dc=org
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: reader-pw

dn: uid=alice,ou=users,dc=example,dc=org
objectClass: inetOrgPerson
objectClass: upnUser
uid: alice
cn: Alice Liddell
sn: Liddell
userPassword: alice-pw
userPrincipalName: alice@example.org

dn: uid=bob,ou=users,dc=example,dc=org
objectClass: inetOrgPerson
objectClass: upnUser
uid: bob
cn: Bob Builder
sn: Builder
userPassword: bob-pw
userPrincipalName: bob@example.org

dn: uid=carol,ou=users,dc=example,dc=org
objectClass: inetOrgPerson
objectClass: upnUser
uid: carol
cn: Carol Danvers
sn: Danvers
userPassword: carol-pw
userPrincipalName: carol@example.org

dn: cn=devs,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: devs
member: uid=alice,ou=users,dc=example,dc=org

dn: cn=ops,ou=groups,dc=example,dc=org
objectClass: posixGroup
cn: ops
gidNumber: 5001
memberUid: alice

dn: cn=admins,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: admins
member: uid=carol,ou=users,dc=example,dc=org
`
