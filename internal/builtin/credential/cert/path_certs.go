package cert

import (
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

// certEntry is one trusted certificate (a CA, or a leaf pinned as is)
// with the constraints a login certificate must meet and the settings of
// the tokens it gets.
type certEntry struct {
	tokenutil.Params
	Name        string `json:"name"`
	Certificate string `json:"certificate"`
	DisplayName string `json:"display_name"`

	AllowedNames               []string `json:"allowed_names"`
	AllowedCommonNames         []string `json:"allowed_common_names"`
	AllowedDNSSANs             []string `json:"allowed_dns_sans"`
	AllowedEmailSANs           []string `json:"allowed_email_sans"`
	AllowedURISANs             []string `json:"allowed_uri_sans"`
	AllowedOrganizationalUnits []string `json:"allowed_organizational_units"`
	RequiredExtensions         []string `json:"required_extensions"`
	AllowedMetadataExtensions  []string `json:"allowed_metadata_extensions"`
}

// listFields are the entry's constraint lists, by API name.
var listFields = []struct {
	name string
	get  func(*certEntry) *[]string
	desc string
}{
	{"allowed_names", func(e *certEntry) *[]string { return &e.AllowedNames },
		"Globs; the login certificate's common name, a DNS SAN or an email SAN must match one. Empty: any."},
	{"allowed_common_names", func(e *certEntry) *[]string { return &e.AllowedCommonNames },
		"Globs; the login certificate's common name must match one. Empty: any."},
	{"allowed_dns_sans", func(e *certEntry) *[]string { return &e.AllowedDNSSANs },
		"Globs; one of the login certificate's DNS SANs must match one. Empty: any."},
	{"allowed_email_sans", func(e *certEntry) *[]string { return &e.AllowedEmailSANs },
		"Globs; one of the login certificate's email SANs must match one. Empty: any."},
	{"allowed_uri_sans", func(e *certEntry) *[]string { return &e.AllowedURISANs },
		"Globs; one of the login certificate's URI SANs must match one. Empty: any."},
	{"allowed_organizational_units", func(e *certEntry) *[]string { return &e.AllowedOrganizationalUnits },
		"Globs; one of the login certificate's subject OUs must match one. Empty: any."},
	{"required_extensions", func(e *certEntry) *[]string { return &e.RequiredExtensions },
		`"<oid>:<value glob>" pairs; the login certificate must carry every one, with a (string) value matching.`},
	{"allowed_metadata_extensions", func(e *certEntry) *[]string { return &e.AllowedMetadataExtensions },
		"OIDs of extensions whose (string) values are copied into the token's metadata, under the OID with dots turned into dashes."},
}

func (b *backend) pathCertsList() *logical.Path {
	return &logical.Path{
		Pattern: "certs/?",
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ListOperation: func(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
				return listKeys(ctx, req.Storage, certPrefix)
			},
		},
		HelpSynopsis: "List the trusted certificates.",
	}
}

func (b *backend) pathCerts() *logical.Path {
	fields := map[string]*logical.FieldSchema{
		"name": {Type: logical.TypeString, Description: "The name of the trusted certificate (stored lowercased)."},
		"certificate": {Type: logical.TypeString,
			Description: "The PEM certificate(s): CA certificates a login certificate must chain to, or one leaf certificate trusted as is."},
		"display_name": {Type: logical.TypeString,
			Description: "The name tokens are given (after the mount's); default: the entry's name."},
	}
	for _, f := range listFields {
		fields[f.name] = &logical.FieldSchema{Type: logical.TypeCommaStringSlice, Description: f.desc}
	}
	for _, k := range []string{"ocsp_enabled", "ocsp_fail_open", "ocsp_query_all_servers"} {
		fields[k] = &logical.FieldSchema{Type: logical.TypeBool, Description: "OCSP is not supported: only false is accepted."}
	}
	for _, k := range []string{"ocsp_ca_certificates", "ocsp_servers_override"} {
		fields[k] = &logical.FieldSchema{Type: logical.TypeCommaStringSlice, Description: "OCSP is not supported: only empty is accepted."}
	}
	tokenutil.Fields(fields, tokenutil.AllAliases...)
	return &logical.Path{
		Pattern: "certs/" + nameRe,
		Fields:  fields,
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readCert,
			logical.CreateOperation: b.writeCert,
			logical.UpdateOperation: b.writeCert,
			logical.DeleteOperation: b.deleteCert,
		},
		ExistenceCheck: func(ctx context.Context, req *logical.Request, d *logical.FieldData) (bool, error) {
			e, err := b.cert(ctx, req.Storage, name(d))
			return e != nil, err
		},
		HelpSynopsis: "Manage the trusted certificates logins are checked against.",
	}
}

func (b *backend) cert(ctx context.Context, s logical.Storage, n string) (*certEntry, error) {
	var e certEntry
	found, err := getJSON(ctx, s, certPrefix+n, &e)
	if err != nil || !found {
		return nil, err
	}
	if e.Name == "" {
		e.Name = n
	}
	return &e, nil
}

func (b *backend) readCert(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	e, err := b.cert(ctx, req.Storage, name(d))
	if err != nil || e == nil {
		return nil, err
	}
	data := map[string]any{"certificate": e.Certificate, "display_name": e.DisplayName}
	for _, f := range listFields {
		v := slices.Clone(*f.get(e))
		if v == nil {
			v = []string{}
		}
		data[f.name] = v
	}
	e.Params.Data(data)
	return &logical.Response{Data: data}, nil
}

// writeCert creates or updates an entry: only the fields given change, and
// every field is checked before anything is written.
func (b *backend) writeCert(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	n := name(d)
	if err := refuseOCSP(d); err != nil {
		return nil, err
	}
	b.certMu.Lock()
	defer b.certMu.Unlock()
	old, err := b.cert(ctx, req.Storage, n)
	if err != nil {
		return nil, err
	}
	e := certEntry{Name: n}
	if old != nil {
		e = *old
	}
	if err := e.Params.Parse(d); err != nil {
		return nil, err
	}
	if v, ok := d.GetOk("certificate"); ok {
		e.Certificate = v.(string)
	}
	if v, ok := d.GetOk("display_name"); ok {
		e.DisplayName = v.(string)
	}
	for _, f := range listFields {
		if v, ok := d.GetOk(f.name); ok {
			*f.get(&e) = v.([]string)
		}
	}
	if e.DisplayName == "" {
		e.DisplayName = n
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	return nil, putJSON(ctx, req.Storage, certPrefix+n, &e)
}

// refuseOCSP refuses Vault's OCSP settings when they would turn OCSP
// checking on: this method checks revocation with CRLs only, and a login
// must not pass a check the operator believes is made. Clients that send
// them off (false, empty) are served.
func refuseOCSP(d *logical.FieldData) error {
	if v, ok := d.GetOk("ocsp_enabled"); ok && v.(bool) {
		return logical.BadRequest("OCSP checking is not supported by this server: register CRLs under crls/ instead")
	}
	for _, k := range []string{"ocsp_ca_certificates", "ocsp_servers_override"} {
		if v, ok := d.GetOk(k); ok && len(v.([]string)) > 0 {
			return logical.BadRequest("%q is not supported: OCSP checking is not available on this server", k)
		}
	}
	return nil
}

// check refuses an entry logins could never use.
func (e *certEntry) check() error {
	certs := parsePEM(e.Certificate)
	if len(certs) == 0 {
		return logical.BadRequest("failed to parse certificate")
	}
	if leaf := certs[0]; !leaf.IsCA && leaf.ExtKeyUsage != nil &&
		!slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return logical.BadRequest("nonCA certificates should have TLS client authentication set as an extended key usage")
	}
	for _, r := range e.RequiredExtensions {
		oid, _, ok := strings.Cut(r, ":")
		if !ok || !validOID(oid) {
			return logical.BadRequest("invalid required_extensions entry %q: want \"<oid>:<value glob>\"", r)
		}
	}
	for _, oid := range e.AllowedMetadataExtensions {
		if !validOID(oid) {
			return logical.BadRequest("invalid allowed_metadata_extensions entry %q: not an OID", oid)
		}
	}
	return nil
}

func validOID(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || strconv.Itoa(n) != p {
			return false
		}
	}
	return true
}

func (b *backend) deleteCert(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	b.certMu.Lock()
	defer b.certMu.Unlock()
	if err := req.Storage.Delete(ctx, certPrefix+name(d)); err != nil {
		return nil, fmt.Errorf("cert: delete certificate: %w", err)
	}
	return nil, nil
}
