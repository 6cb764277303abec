package cert

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/strongbox/strongbox/internal/logical"
)

// crlEntry is one stored CRL: the revoked serial numbers (decimal), as
// Vault keeps them. Only serials are matched; the CRL's signature and
// dates are not checked (Vault's behaviour: the operator pushes the CRLs
// they trust and deletes stale ones).
type crlEntry struct {
	Serials map[string]struct{} `json:"serials"`
}

func (b *backend) pathCRLsList() *logical.Path {
	return &logical.Path{
		Pattern: "crls/?",
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ListOperation: func(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
				return listKeys(ctx, req.Storage, crlPrefix)
			},
		},
		HelpSynopsis: "List the CRLs checked at login.",
	}
}

func (b *backend) pathCRLs() *logical.Path {
	return &logical.Path{
		Pattern: "crls/" + nameRe,
		Fields: map[string]*logical.FieldSchema{
			"name": {Type: logical.TypeString, Description: "The name of the CRL (stored lowercased)."},
			"crl":  {Type: logical.TypeString, Description: "The CRL, PEM or DER (base64 in JSON is not accepted: send PEM)."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readCRL,
			logical.UpdateOperation: b.writeCRL,
			logical.DeleteOperation: b.deleteCRL,
		},
		HelpSynopsis: "Manage the CRLs checked at login: a chain holding a revoked serial number is refused.",
	}
}

// loadCRLs fills the CRL cache from storage if it is empty. Callers hold
// crlMu for writing.
func (b *backend) loadCRLs(ctx context.Context, s logical.Storage) error {
	if b.crls != nil {
		return nil
	}
	keys, err := s.List(ctx, crlPrefix)
	if err != nil {
		return fmt.Errorf("cert: list CRLs: %w", err)
	}
	crls := make(map[string]map[string]struct{}, len(keys))
	for _, k := range keys {
		var e crlEntry
		found, err := getJSON(ctx, s, crlPrefix+k, &e)
		if err != nil {
			return err
		}
		if found {
			crls[k] = e.Serials
		}
	}
	b.crls = crls
	return nil
}

// revoked reports whether a certificate of chain is on a stored CRL.
func (b *backend) revoked(ctx context.Context, s logical.Storage, chain []*x509.Certificate) (bool, error) {
	b.crlMu.RLock()
	loaded := b.crls != nil
	if loaded {
		defer b.crlMu.RUnlock()
	} else {
		b.crlMu.RUnlock()
		b.crlMu.Lock()
		defer b.crlMu.Unlock()
		if err := b.loadCRLs(ctx, s); err != nil {
			return false, err
		}
	}
	for _, serials := range b.crls {
		for _, c := range chain {
			if _, bad := serials[c.SerialNumber.String()]; bad {
				return true, nil
			}
		}
	}
	return false, nil
}

func parseCRL(raw string) (*x509.RevocationList, error) {
	der := []byte(raw)
	if blk, _ := pem.Decode(der); blk != nil {
		if blk.Type != "X509 CRL" {
			return nil, fmt.Errorf("PEM block is %q, want \"X509 CRL\"", blk.Type)
		}
		der = blk.Bytes
	}
	return x509.ParseRevocationList(der)
}

func (b *backend) writeCRL(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	n := name(d)
	raw, ok := d.GetOk("crl")
	if !ok || raw.(string) == "" {
		return nil, logical.BadRequest("'crl' parameter must be set")
	}
	rl, err := parseCRL(raw.(string))
	if err != nil {
		return nil, logical.BadRequest("failed to parse CRL: %v", err)
	}
	e := crlEntry{Serials: make(map[string]struct{}, len(rl.RevokedCertificateEntries))}
	for _, r := range rl.RevokedCertificateEntries {
		e.Serials[r.SerialNumber.String()] = struct{}{}
	}
	b.crlMu.Lock()
	defer b.crlMu.Unlock()
	if err := b.loadCRLs(ctx, req.Storage); err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, crlPrefix+n, &e); err != nil {
		b.crls = nil // reload: the write's outcome is unknown
		return nil, err
	}
	b.crls[n] = e.Serials
	return nil, nil
}

func (b *backend) readCRL(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	var e crlEntry
	found, err := getJSON(ctx, req.Storage, crlPrefix+name(d), &e)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, logical.BadRequest("no such CRL %s", name(d))
	}
	serials := make(map[string]any, len(e.Serials))
	for s := range e.Serials {
		serials[s] = map[string]any{}
	}
	return &logical.Response{Data: map[string]any{"serials": serials, "cdp": nil}}, nil
}

func (b *backend) deleteCRL(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	n := name(d)
	b.crlMu.Lock()
	defer b.crlMu.Unlock()
	if err := b.loadCRLs(ctx, req.Storage); err != nil {
		return nil, err
	}
	if _, ok := b.crls[n]; !ok {
		return nil, logical.BadRequest("no such CRL %s", n)
	}
	if err := req.Storage.Delete(ctx, crlPrefix+n); err != nil {
		b.crls = nil
		return nil, fmt.Errorf("cert: delete CRL: %w", err)
	}
	delete(b.crls, n)
	return nil, nil
}
