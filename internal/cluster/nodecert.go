package cluster

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNoPeerIdentity is returned when a cluster peer presented no certificate
// naming a node.
var ErrNoPeerIdentity = errors.New("cluster: peer certificate names no node")

// NodeCert is one node's raft identity: a certificate whose CommonName is the
// node id, issued by a CA of the Keyring, and its private key. The active node
// issues it (at bootstrap, at join, after each CA rotation); the node itself
// and the active are the only ones that need it. Its JSON form is stable.
type NodeCert struct {
	NodeID  string `json:"node_id"`
	CAID    string `json:"ca_id"`
	CertPEM string `json:"cert_pem"`
	KeyPEM  string `json:"key_pem"`
}

// IssueNode issues a NodeCert for nodeID from k's current CA (see
// IssueNodeCert).
func (k *Keyring) IssueNode(nodeID string, hosts []string) (*NodeCert, error) {
	cert, err := k.IssueNodeCert(nodeID, hosts)
	if err != nil {
		return nil, err
	}
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("cluster: node key is %T, not a signer", cert.PrivateKey)
	}
	keyPEM, err := encodeKey(signer)
	if err != nil {
		return nil, err
	}
	return &NodeCert{
		NodeID:  nodeID,
		CAID:    k.Current.ID,
		CertPEM: string(encodeCert(cert.Certificate[0])),
		KeyPEM:  string(keyPEM),
	}, nil
}

// ParseNodeCert decodes a NodeCert's JSON form and checks that it parses.
func ParseNodeCert(data []byte) (*NodeCert, error) {
	var n NodeCert
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("cluster: node certificate: %w", err)
	}
	if _, err := n.TLSCertificate(); err != nil {
		return nil, err
	}
	return &n, nil
}

// TLSCertificate returns the pair for a tls.Config, with Leaf set. It checks
// that the certificate names n.NodeID.
func (n *NodeCert) TLSCertificate() (tls.Certificate, error) {
	cert, err := tls.X509KeyPair([]byte(n.CertPEM), []byte(n.KeyPEM))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cluster: node certificate of %q: %w", n.NodeID, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("cluster: node certificate of %q: %w", n.NodeID, err)
		}
	}
	if id := cert.Leaf.Subject.CommonName; id != n.NodeID || id == "" {
		return tls.Certificate{}, fmt.Errorf("cluster: node certificate names %q, want %q", id, n.NodeID)
	}
	return cert, nil
}

// PeerNodeID is the node id a verified cluster peer proved: the CommonName of
// its leaf certificate. Call it only on a connection whose chain was verified
// against the keyring's CAs, which sign nothing but node certificates.
func PeerNodeID(cs tls.ConnectionState) (string, error) {
	if len(cs.PeerCertificates) == 0 || cs.PeerCertificates[0].Subject.CommonName == "" {
		return "", ErrNoPeerIdentity
	}
	return cs.PeerCertificates[0].Subject.CommonName, nil
}
