package approle

import (
	"context"
	"maps"

	"github.com/strongbox/strongbox/internal/logical"
)

// roleField is one of Vault's per-field endpoints role/<name>/<suffix>:
// a read shows the listed keys of the role's read-back, an update takes
// the listed fields (the first is the one it requires), a delete writes
// reset.
type roleField struct {
	suffix string
	fields []string
	shows  []string
	reset  map[string]any
}

var roleFields = []roleField{
	{"policies", []string{"token_policies", "policies"}, []string{"policies", "token_policies"}, map[string]any{"token_policies": []string{}}},
	{"secret-id-num-uses", []string{"secret_id_num_uses"}, []string{"secret_id_num_uses"}, map[string]any{"secret_id_num_uses": 0}},
	{"secret-id-ttl", []string{"secret_id_ttl"}, []string{"secret_id_ttl"}, map[string]any{"secret_id_ttl": 0}},
	{"token-num-uses", []string{"token_num_uses"}, []string{"token_num_uses"}, map[string]any{"token_num_uses": 0}},
	{"token-ttl", []string{"token_ttl"}, []string{"token_ttl"}, map[string]any{"token_ttl": 0}},
	{"token-max-ttl", []string{"token_max_ttl"}, []string{"token_max_ttl"}, map[string]any{"token_max_ttl": 0}},
	{"period", []string{"token_period", "period"}, []string{"period", "token_period"}, map[string]any{"token_period": 0}},
	{"bind-secret-id", []string{"bind_secret_id"}, []string{"bind_secret_id"}, map[string]any{"bind_secret_id": true}},
	{"secret-id-bound-cidrs", []string{"secret_id_bound_cidrs"}, []string{"secret_id_bound_cidrs"}, map[string]any{"secret_id_bound_cidrs": []string{}}},
	{"bound-cidr-list", []string{"bound_cidr_list"}, []string{"bound_cidr_list"}, map[string]any{"secret_id_bound_cidrs": []string{}}},
	{"token-bound-cidrs", []string{"token_bound_cidrs"}, []string{"token_bound_cidrs"}, map[string]any{"token_bound_cidrs": []string{}}},
	{"local-secret-ids", nil, []string{"local_secret_ids"}, nil},
}

func (b *backend) pathRoleFields() []*logical.Path {
	out := make([]*logical.Path, 0, len(roleFields))
	schema := roleSchema()
	for _, f := range roleFields {
		fields := map[string]*logical.FieldSchema{"role_name": roleNameField()}
		for _, name := range f.fields {
			fields[name] = schema[name]
		}
		ops := map[logical.Operation]logical.OperationFunc{logical.ReadOperation: b.readRoleField(f)}
		if f.fields != nil {
			ops[logical.UpdateOperation] = b.writeRoleField(f, false)
			ops[logical.DeleteOperation] = b.writeRoleField(f, true)
		}
		out = append(out, &logical.Path{
			Pattern:      "role/" + nameRe + "/" + f.suffix,
			Fields:       fields,
			Operations:   ops,
			HelpSynopsis: "Read or change one setting of a role (" + f.suffix + ").",
		})
	}
	return out
}

func (b *backend) readRoleField(f roleField) logical.OperationFunc {
	return func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		r, err := b.role(ctx, req.Storage, roleName(d))
		if err != nil || r == nil {
			return nil, err
		}
		all := r.data()
		data := map[string]any{}
		for _, k := range f.shows {
			if v, ok := all[k]; ok {
				data[k] = v
			} else if k == "policies" || k == "bound_cidr_list" || k == "period" {
				// The old name reads back beside the new here even when
				// the role was not written with it, as Vault's does.
				data[k] = all[map[string]string{"policies": "token_policies", "bound_cidr_list": "secret_id_bound_cidrs", "period": "token_period"}[k]]
			}
		}
		return &logical.Response{Data: data}, nil
	}
}

// writeRoleField updates (or, with reset, clears) one setting through the
// role's own parsing and checks, so it accepts and refuses exactly what
// role/<name> does.
func (b *backend) writeRoleField(f roleField, reset bool) logical.OperationFunc {
	return func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		name := roleName(d)
		raw := map[string]any{}
		if reset {
			maps.Copy(raw, f.reset)
		} else {
			for _, k := range f.fields {
				if v, ok := d.Raw[k]; ok && v != nil {
					raw[k] = v
				}
			}
			if len(raw) == 0 {
				return nil, logical.BadRequest("missing %s", f.fields[0])
			}
		}
		defer b.lockRole(name)()
		r, err := b.role(ctx, req.Storage, name)
		if err != nil {
			return nil, err
		}
		if r == nil {
			return nil, errNoRole(name)
		}
		next := *r
		full := &logical.FieldData{Raw: raw, Schema: roleSchema()}
		if err := full.Validate(); err != nil {
			return nil, err
		}
		if err := next.apply(full, false); err != nil {
			return nil, err
		}
		return nil, b.storeRole(ctx, req.Storage, name, r, &next, "")
	}
}
