package cert

import (
	"context"
	"maps"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

func (b *backend) pathLogin() *logical.Path {
	return &logical.Path{
		Pattern: "login",
		Fields: map[string]*logical.FieldSchema{
			"name": {Type: logical.TypeString, Description: "The trusted certificate entry to log in against; default: any that matches."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation:         b.login,
			logical.AliasLookaheadOperation: b.aliasLookahead,
		},
		HelpSynopsis: "Log in with the client certificate of the TLS connection.",
	}
}

// aliasLookahead names the alias a login would use (the certificate's
// common name) without verifying anything.
func (b *backend) aliasLookahead(_ context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	if req.Connection == nil || req.Connection.ConnState == nil {
		return nil, errNoTLS
	}
	peer := req.Connection.ConnState.PeerCertificates
	if len(peer) == 0 {
		return nil, errNoCert
	}
	return &logical.Response{Auth: &logical.Auth{Alias: &logical.Alias{Name: peer[0].Subject.CommonName}}}, nil
}

func (b *backend) login(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	cfg, err := b.config(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	t, leaf, err := b.verify(ctx, req, name(d))
	if err != nil {
		return nil, err
	}
	e := t.entry
	if !tokenutil.ConnAllowed(req.Connection, e.BoundCIDRs) {
		return nil, logical.ErrPermissionDenied
	}
	meta := map[string]string{
		"cert_name":        e.Name,
		"common_name":      leaf.Subject.CommonName,
		"serial_number":    leaf.SerialNumber.String(),
		"subject_key_id":   hexColons(leaf.SubjectKeyId),
		"authority_key_id": hexColons(leaf.AuthorityKeyId),
	}
	if len(e.AllowedMetadataExtensions) > 0 {
		have := extensionValues(leaf)
		for _, oid := range e.AllowedMetadataExtensions {
			if v, ok := have[oid]; ok {
				meta[strings.ReplaceAll(oid, ".", "-")] = v
			}
		}
	}
	auth := &logical.Auth{
		DisplayName: e.DisplayName,
		Metadata:    meta,
		Alias:       &logical.Alias{Name: leaf.Subject.CommonName},
	}
	if cfg.EnableIdentityAliasMetadata {
		auth.Alias.Metadata = maps.Clone(meta)
	}
	e.Params.PopulateAuth(auth)
	return &logical.Response{Auth: auth}, nil
}

// renewLogin is the method's AuthRenew. Unless config disable_binding is
// set, the renewing client must present a certificate that still logs in
// against the same entry and is the one the login used (same subject and
// authority key ids; same serial number when it has no subject key id).
// The entry must still exist with the policies the token was given; its
// current TTLs apply.
func (b *backend) renewLogin(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	n := req.Auth.Metadata["cert_name"]
	if n == "" {
		return nil, logical.BadRequest("the token carries no cert_name; not renewing")
	}
	cfg, err := b.config(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if !cfg.DisableBinding {
		_, leaf, err := b.verify(ctx, req, n)
		if err != nil {
			return nil, err
		}
		m := req.Auth.Metadata
		same := hexColons(leaf.SubjectKeyId) == m["subject_key_id"] && hexColons(leaf.AuthorityKeyId) == m["authority_key_id"]
		if len(leaf.SubjectKeyId) == 0 {
			same = same && leaf.SerialNumber.String() == m["serial_number"]
		}
		if !same {
			return nil, logical.BadRequest("client identity during renewal not matching client identity used during login")
		}
	}
	e, err := b.cert(ctx, req.Storage, n)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, logical.BadRequest("certificate %q no longer exists; not renewing", n)
	}
	if !tokenutil.EquivalentPolicies(e.Policies, req.Auth.TokenPolicies) {
		return nil, logical.BadRequest("policies have changed, not renewing")
	}
	auth := *req.Auth
	auth.LeaseDuration, auth.MaxTTL, auth.Period = e.TTL, e.MaxTTL, e.Period
	return &logical.Response{Auth: &auth}, nil
}
