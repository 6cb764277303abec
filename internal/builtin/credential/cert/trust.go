package cert

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"sync"

	glob "github.com/ryanuber/go-glob"

	"github.com/strongbox/strongbox/internal/logical"
)

// Vault's answers to a refused certificate.
var (
	errNoTLS       = logical.BadRequest("tls connection required")
	errNoCert      = logical.BadRequest("client certificate must be supplied")
	errUntrusted   = logical.BadRequest("invalid certificate or no client certificate supplied")
	errConstraints = logical.BadRequest("no chain matching all constraints could be found for this login certificate")
)

// trusted is a certificate entry with its certificates parsed.
type trusted struct {
	entry *certEntry
	certs []*x509.Certificate
}

// trustCache keeps parsed certificates by their PEM text, so a login does
// not parse every entry again. Bounded: it is emptied when it grows past
// maxParsed different PEM texts.
type trustCache struct {
	mu sync.Mutex
	m  map[string][]*x509.Certificate
}

const maxParsed = 1024

func (c *trustCache) parse(pemText string) []*x509.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if certs, ok := c.m[pemText]; ok {
		return certs
	}
	certs := parsePEM(pemText)
	if c.m == nil || len(c.m) >= maxParsed {
		c.m = map[string][]*x509.Certificate{}
	}
	c.m[pemText] = certs
	return certs
}

// parsePEM returns the certificates of a PEM bundle; blocks that are not
// certificates, or do not parse, are skipped.
func parsePEM(s string) []*x509.Certificate {
	var out []*x509.Certificate
	rest := []byte(s)
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return out
		}
		if (blk.Type != "CERTIFICATE" && blk.Type != "TRUSTED CERTIFICATE") || len(blk.Headers) != 0 {
			continue
		}
		if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
			out = append(out, c)
		}
	}
}

// loadTrusted reads the entry named only, or every entry (sorted by name)
// when only is empty.
func (b *backend) loadTrusted(ctx context.Context, s logical.Storage, only string) ([]trusted, error) {
	names := []string{only}
	if only == "" {
		var err error
		if names, err = s.List(ctx, certPrefix); err != nil {
			return nil, err
		}
		slices.Sort(names)
	}
	out := make([]trusted, 0, len(names))
	for _, n := range names {
		e, err := b.cert(ctx, s, n)
		if err != nil {
			return nil, err
		}
		if e == nil {
			continue // deleted meanwhile, or an unknown name was asked for
		}
		if certs := b.trust.parse(e.Certificate); len(certs) > 0 {
			out = append(out, trusted{entry: e, certs: certs})
		}
	}
	return out, nil
}

// verify finds the certificate entry the connection's client certificate
// logs in with: only the entry named only when it is not empty. The chain
// is verified with crypto/x509 against the registered certificates alone;
// the first entry (by name) whose certificates are in a verified chain,
// or which pins the client certificate itself, and whose constraints hold
// on that chain wins.
func (b *backend) verify(ctx context.Context, req *logical.Request, only string) (*trusted, *x509.Certificate, error) {
	if req.Connection == nil || req.Connection.ConnState == nil {
		return nil, nil, errNoTLS
	}
	peer := req.Connection.ConnState.PeerCertificates
	if len(peer) == 0 {
		return nil, nil, errNoCert
	}
	leaf := peer[0]
	entries, err := b.loadTrusted(ctx, req.Storage, only)
	if err != nil {
		return nil, nil, err
	}
	roots := x509.NewCertPool()
	for _, t := range entries {
		if t.certs[0].IsCA {
			for _, c := range t.certs {
				roots.AddCert(c)
			}
		}
	}
	opts := x509.VerifyOptions{
		Roots:         roots, // never the system roots
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, c := range peer[1:] {
		opts.Intermediates.AddCert(c)
	}
	chains, err := leaf.Verify(opts)
	var unknown x509.UnknownAuthorityError
	if err != nil && !errors.As(err, &unknown) {
		// Expired, not yet valid, wrong key usage, bad signature.
		return nil, nil, logical.BadRequest("failed to verify client's certificate: %v", err)
	}
	// A leaf registered as is: the very certificate must be presented
	// (not one that merely shares its serial number and issuer).
	for i := range entries {
		t := &entries[i]
		if t.certs[0].IsCA || !t.certs[0].Equal(leaf) {
			continue
		}
		ok, err := b.matches(ctx, req.Storage, leaf, []*x509.Certificate{leaf}, t.entry)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			return t, leaf, nil
		}
	}
	if len(chains) == 0 {
		return nil, nil, errUntrusted
	}
	for i := range entries {
		t := &entries[i]
		if !t.certs[0].IsCA {
			continue
		}
		for _, chain := range chains {
			if !slices.ContainsFunc(chain, func(c *x509.Certificate) bool {
				return slices.ContainsFunc(t.certs, c.Equal)
			}) {
				continue
			}
			ok, err := b.matches(ctx, req.Storage, leaf, chain, t.entry)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				return t, leaf, nil
			}
		}
	}
	return nil, nil, errConstraints
}

// matches checks an entry's constraints on the client certificate and
// the chain it was verified with: no certificate of the chain revoked,
// every configured name list matched, every required extension present.
func (b *backend) matches(ctx context.Context, s logical.Storage, c *x509.Certificate, chain []*x509.Certificate, e *certEntry) (bool, error) {
	bad, err := b.revoked(ctx, s, chain)
	if err != nil || bad {
		return false, err
	}
	uris := make([]string, len(c.URIs))
	for i, u := range c.URIs {
		uris[i] = u.String()
	}
	names := append(append([]string{c.Subject.CommonName}, c.DNSNames...), c.EmailAddresses...)
	return anyGlob(e.AllowedNames, names) &&
		anyGlob(e.AllowedCommonNames, []string{c.Subject.CommonName}) &&
		anyGlob(e.AllowedDNSSANs, c.DNSNames) &&
		anyGlob(e.AllowedEmailSANs, c.EmailAddresses) &&
		anyGlob(e.AllowedURISANs, uris) &&
		anyGlob(e.AllowedOrganizationalUnits, c.Subject.OrganizationalUnit) &&
		hasExtensions(c, e.RequiredExtensions), nil
}

// anyGlob reports whether a value matches a pattern; no patterns allow
// everything.
func anyGlob(patterns, values []string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		for _, v := range values {
			if glob.Glob(p, v) {
				return true
			}
		}
	}
	return false
}

// extensionValues are the certificate's extensions by OID, their values
// read as ASN.1 strings (empty when they are not), as Vault reads them.
func extensionValues(c *x509.Certificate) map[string]string {
	out := make(map[string]string, len(c.Extensions))
	for _, ext := range c.Extensions {
		var v string
		_, _ = asn1.Unmarshal(ext.Value, &v)
		out[ext.Id.String()] = v
	}
	return out
}

func hasExtensions(c *x509.Certificate, required []string) bool {
	if len(required) == 0 {
		return true
	}
	have := extensionValues(c)
	for _, r := range required {
		oid, pattern, _ := strings.Cut(r, ":")
		v, ok := have[oid]
		if !ok || !glob.Glob(pattern, v) {
			return false
		}
	}
	return true
}

// hexColons formats a key id as Vault does: lowercase hex bytes joined
// by colons.
func hexColons(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var sb bytes.Buffer
	for i, x := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(hex.EncodeToString([]byte{x}))
	}
	return sb.String()
}
