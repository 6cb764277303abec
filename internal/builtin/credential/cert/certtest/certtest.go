package certtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"time"
)

// CA is a self-signed certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// PEM is the CA certificate, PEM-encoded.
	PEM string
}

// Leaf is a certificate with its private key.
type Leaf struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM string
	KeyPEM  string
	// TLS is the pair (leaf, then the chain given to Issue) for a
	// tls.Config.
	TLS tls.Certificate
}

// Options describe a client certificate; zero values take defaults
// (valid from an hour ago for a day, client auth).
type Options struct {
	CommonName string
	DNSNames   []string
	Emails     []string
	URIs       []string
	OUs        []string
	NotBefore  time.Time
	NotAfter   time.Time
	// Extensions are added verbatim (e.g. a string extension:
	// {Id: oid, Value: asn1.Marshal("value")}).
	Extensions []pkix.Extension
	// IsCA makes an intermediate CA.
	IsCA bool
	// ServerAuth adds the server-auth key usage and 127.0.0.1 as an IP SAN.
	ServerAuth bool
}

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func serial() (*big.Int, error) { return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62)) }

func keyID(pub crypto.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha1.Sum(der)
	return sum[:]
}

// NewCA makes a self-signed CA named cn.
func NewCA(cn string) (*CA, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:     x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId: keyID(key.Public()),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("certtest: CA: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: c, Key: key, PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}, nil
}

// Issue signs a certificate described by o; chain (PEM) is appended to
// the TLS pair after the leaf (intermediates).
func (ca *CA) Issue(o Options, chain ...*x509.Certificate) (*Leaf, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Now().Add(24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: o.CommonName, OrganizationalUnit: o.OUs},
		NotBefore: o.NotBefore, NotAfter: o.NotAfter,
		DNSNames: o.DNSNames, EmailAddresses: o.Emails,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		ExtraExtensions: o.Extensions,
		SubjectKeyId:    keyID(key.Public()),
	}
	if o.ServerAuth {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		tmpl.IPAddresses = append(tmpl.IPAddresses, []byte{127, 0, 0, 1})
		tmpl.DNSNames = append(tmpl.DNSNames, "localhost")
	}
	if o.IsCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		tmpl.ExtKeyUsage = nil
	}
	for _, u := range o.URIs {
		pu, err := url.Parse(u)
		if err != nil {
			return nil, err
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("certtest: issue: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	l := &Leaf{Cert: c, Key: key,
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
		TLS:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c},
	}
	for _, ic := range chain {
		l.TLS.Certificate = append(l.TLS.Certificate, ic.Raw)
	}
	return l, nil
}

// AsCA turns an intermediate Leaf (Options.IsCA) into a CA that issues.
func (l *Leaf) AsCA() *CA { return &CA{Cert: l.Cert, Key: l.Key, PEM: l.CertPEM} }

// CRL returns a CRL signed by the CA revoking serials, PEM-encoded and
// DER.
func (ca *CA) CRL(serials ...*big.Int) (pemText string, der []byte, err error) {
	tmpl := &x509.RevocationList{Number: big.NewInt(time.Now().UnixNano()), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour)}
	for _, s := range serials {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: time.Now()})
	}
	der, err = x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		return "", nil, fmt.Errorf("certtest: CRL: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})), der, nil
}
