package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// KeyringServerName is a DNS name every node certificate carries. Raft peers
// dial with it as ServerName, so verification does not depend on which IP or
// hostname a node happens to be reached at.
const KeyringServerName = "raft.cluster.strongbox"

var (
	// ErrInvalidKeyring is returned when a keyring fails validation.
	ErrInvalidKeyring = errors.New("cluster: invalid TLS keyring")
	// ErrNoCAKey is returned when a keyring without private keys (the copy a
	// follower holds) is asked to issue a certificate.
	ErrNoCAKey = errors.New("cluster: keyring holds no CA private key")
)

// Keyring is the raft TLS keyring: the CA that issues node certificates, plus
// the CA it replaced. Trusting both lets a rotation roll through the cluster:
// a node still presenting a certificate from the previous CA keeps talking to
// nodes that already use the current one. After a second rotation the oldest
// CA is gone, so nodes must re-issue their certificates after each rotation.
//
// The full keyring contains the CAs' private keys: the core stores it only in
// the barrier and only the active node loads it, to issue node certificates.
// Every other node holds Public(), the CA certificates alone, plus its own
// node certificate. Its JSON form is stable. A Keyring is a value: methods that change it must not run
// concurrently with others; the core swaps whole keyrings instead.
type Keyring struct {
	// Term counts rotations, starting at 1.
	Term uint64 `json:"term"`
	// Current issues new node certificates.
	Current *KeyringCA `json:"current"`
	// Previous is still trusted until the next rotation; nil at first.
	Previous *KeyringCA `json:"previous,omitempty"`
	// Next is already trusted but issues nothing yet: a rotation first
	// stages the new CA everywhere (Stage), then makes it current
	// (Promote), so no node ever meets a certificate it does not trust.
	Next *KeyringCA `json:"next,omitempty"`
}

// KeyringCA is one CA of a Keyring.
type KeyringCA struct {
	ID        string    `json:"id"`
	CertPEM   string    `json:"cert_pem"`
	KeyPEM    string    `json:"key_pem,omitempty"` // empty in a Public copy
	CreatedAt time.Time `json:"created_at"`
}

// NewKeyring creates a keyring with a fresh ECDSA P-521 CA at term 1.
func NewKeyring() (*Keyring, error) {
	ca, err := newKeyringCA()
	if err != nil {
		return nil, err
	}
	return &Keyring{Term: 1, Current: ca}, nil
}

// ParseKeyring decodes a keyring's JSON form and validates it.
func ParseKeyring(data []byte) (*Keyring, error) {
	var k Keyring
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKeyring, err)
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return &k, nil
}

// Validate checks that the current (and any previous) CA parses and that its
// key matches its certificate.
func (k *Keyring) Validate() error {
	if k.Current == nil {
		return fmt.Errorf("%w: no current CA", ErrInvalidKeyring)
	}
	if k.Term == 0 {
		return fmt.Errorf("%w: term 0", ErrInvalidKeyring)
	}
	for _, ca := range []*KeyringCA{k.Current, k.Previous, k.Next} {
		if ca == nil {
			continue
		}
		if _, _, err := ca.parse(); err != nil {
			return err
		}
	}
	return nil
}

// Stage creates the next CA: trusted from now on, issuing after Promote.
func (k *Keyring) Stage() error {
	ca, err := newKeyringCA()
	if err != nil {
		return err
	}
	k.Next = ca
	k.Term++
	return nil
}

// Promote makes the staged CA current and keeps the current one trusted as
// previous. Without a staged CA it does nothing and returns false.
func (k *Keyring) Promote() bool {
	if k.Next == nil {
		return false
	}
	k.Previous, k.Current, k.Next = k.Current, k.Next, nil
	k.Term++
	return true
}

// Rotate makes a fresh CA current and keeps the current one as previous; the
// former previous CA is no longer trusted.
func (k *Keyring) Rotate() error {
	ca, err := newKeyringCA()
	if err != nil {
		return err
	}
	k.Previous, k.Current = k.Current, ca
	k.Term++
	return nil
}

// Public returns a copy of k without the CAs' private keys: what a node that
// does not issue certificates needs to verify its peers.
func (k *Keyring) Public() *Keyring {
	out := &Keyring{Term: k.Term}
	strip := func(ca *KeyringCA) *KeyringCA {
		if ca == nil {
			return nil
		}
		c := *ca
		c.KeyPEM = ""
		return &c
	}
	out.Current, out.Previous, out.Next = strip(k.Current), strip(k.Previous), strip(k.Next)
	return out
}

// HasCAKey reports whether k can issue certificates (holds the current CA's
// private key).
func (k *Keyring) HasCAKey() bool { return k.Current != nil && k.Current.KeyPEM != "" }

// Trusts reports whether the CA with id is one k trusts (current, previous
// or next).
func (k *Keyring) Trusts(caID string) bool {
	for _, ca := range []*KeyringCA{k.Current, k.Previous, k.Next} {
		if ca != nil && ca.ID == caID {
			return true
		}
	}
	return false
}

// CertPool returns the CAs a node trusts: current and previous. Use it as
// both RootCAs and ClientCAs of the raft protocol.
func (k *Keyring) CertPool() (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, ca := range []*KeyringCA{k.Current, k.Previous, k.Next} {
		if ca == nil {
			continue
		}
		cert, _, err := ca.parse()
		if err != nil {
			return nil, err
		}
		pool.AddCert(cert)
	}
	return pool, nil
}

// IssueNodeCert issues a certificate for node nodeID from the current CA, with
// a fresh ECDSA P-521 key, valid for server and client auth, for
// KeyringServerName and hosts. Its CommonName is nodeID (see PeerNodeID). It
// expires with the CA. It fails with ErrNoCAKey on a Public keyring.
func (k *Keyring) IssueNodeCert(nodeID string, hosts []string) (tls.Certificate, error) {
	if k.Current == nil {
		return tls.Certificate{}, fmt.Errorf("%w: no current CA", ErrInvalidKeyring)
	}
	if nodeID == "" {
		return tls.Certificate{}, fmt.Errorf("%w: empty node id", ErrInvalidKeyring)
	}
	if !k.HasCAKey() {
		return tls.Certificate{}, ErrNoCAKey
	}
	caCert, caKey, err := k.Current.parse()
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cluster: node key: %w", err)
	}
	tmpl, err := certTemplate(nodeID, append([]string{KeyringServerName}, hosts...), caCert.NotAfter)
	if err != nil {
		return tls.Certificate{}, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cluster: issue node certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cluster: parse node certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func newKeyringCA() (*KeyringCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("cluster: keyring CA key: %w", err)
	}
	id := rand.Text()
	now := time.Now()
	tmpl, err := certTemplate("", nil, now.Add(certValidity))
	if err != nil {
		return nil, err
	}
	tmpl.Subject = pkix.Name{CommonName: "strongbox raft CA " + id}
	tmpl.ExtKeyUsage = nil
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.MaxPathLenZero = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("cluster: keyring CA certificate: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return &KeyringCA{ID: id, CertPEM: string(encodeCert(der)), KeyPEM: string(keyPEM), CreatedAt: now.UTC()}, nil
}

// parse decodes the CA and checks that its key signs for its certificate.
// A CA of a Public keyring has no key: parse then returns a nil key.
func (ca *KeyringCA) parse() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cert, err := parseCert([]byte(ca.CertPEM))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: CA %q certificate: %w", ErrInvalidKeyring, ca.ID, err)
	}
	if !cert.IsCA {
		return nil, nil, fmt.Errorf("%w: CA %q certificate is not a CA", ErrInvalidKeyring, ca.ID)
	}
	if ca.KeyPEM == "" {
		return cert, nil, nil
	}
	key, err := parseECKey([]byte(ca.KeyPEM))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: CA %q key: %w", ErrInvalidKeyring, ca.ID, err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, fmt.Errorf("%w: CA %q key does not match its certificate", ErrInvalidKeyring, ca.ID)
	}
	if !cert.IsCA {
		return nil, nil, fmt.Errorf("%w: CA %q certificate is not a CA", ErrInvalidKeyring, ca.ID)
	}
	return cert, key, nil
}
