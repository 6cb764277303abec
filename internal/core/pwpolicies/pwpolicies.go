package pwpolicies

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/pwpolicy"
	"github.com/strongbox/strongbox/internal/physical"
)

// passwordPolicyPrefix holds sys/policies/password/<name> in the barrier.
const passwordPolicyPrefix = "core/password-policy/"

// Store is the room over the barrier.
type Store struct{ storage physical.Backend }

// New returns the room.
func New(storage physical.Backend) *Store { return &Store{storage: storage} }

func str(desc string) *logical.FieldSchema {
	return &logical.FieldSchema{Type: logical.TypeString, Description: desc}
}

// storedPasswordPolicy is one policy as stored: the document as written.
type storedPasswordPolicy struct {
	Policy string `json:"policy"`
}

// Paths serve sys/policies/password (LIST), sys/policies/password/<name>
// and sys/policies/password/<name>/generate.
func (c *Store) Paths() []*logical.Path {
	fields := map[string]*logical.FieldSchema{
		"name":           str("password policy name"),
		"policy":         str("password policy document (HCL, optionally base64-encoded)"),
		"entropy_source": str("\"\" (the node's CSPRNG); \"platform\" (entropy augmentation) is not available"),
	}
	list := func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
		keys, err := c.storage.List(ctx, passwordPolicyPrefix)
		if err != nil {
			return nil, fmt.Errorf("password policies: list: %w", err)
		}
		if len(keys) == 0 {
			return nil, nil
		}
		return &logical.Response{Data: map[string]any{"keys": keys}}, nil
	}
	read := func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		sp, err := c.read(ctx, d.Get("name").(string))
		if err != nil || sp == nil {
			return nil, err
		}
		return &logical.Response{Data: map[string]any{"policy": sp.Policy}}, nil
	}
	write := func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		name := d.Get("name").(string)
		doc := d.Get("policy").(string)
		if strings.TrimSpace(doc) == "" {
			return nil, logical.BadRequest("missing policy")
		}
		if src := d.Get("entropy_source").(string); src != "" {
			return nil, logical.BadRequest("entropy_source %q: entropy augmentation is not available", src)
		}
		if _, err := parsePasswordPolicy(doc); err != nil {
			return nil, logical.BadRequest("invalid password policy: %v", err)
		}
		raw, err := json.Marshal(storedPasswordPolicy{Policy: doc})
		if err != nil {
			return nil, err
		}
		if err := c.storage.Put(ctx, &physical.Entry{Key: passwordPolicyPrefix + name, Value: raw}); err != nil {
			return nil, fmt.Errorf("password policies: write: %w", err)
		}
		return nil, nil
	}
	del := func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		if err := c.storage.Delete(ctx, passwordPolicyPrefix+d.Get("name").(string)); err != nil {
			return nil, fmt.Errorf("password policies: delete: %w", err)
		}
		return nil, nil
	}
	generate := func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		pw, err := c.Generate(ctx, d.Get("name").(string))
		if errors.Is(err, logical.ErrPasswordPolicyNotFound) {
			return nil, logical.BadRequest("policy does not exist")
		}
		if err != nil {
			return nil, err
		}
		return &logical.Response{Data: map[string]any{"password": pw}}, nil
	}
	const name = `(?P<name>[^/]+)`
	return []*logical.Path{
		{Pattern: "policies/password/?", Operations: map[logical.Operation]logical.OperationFunc{
			logical.ListOperation: list}},
		{Pattern: "policies/password/" + name + "/generate", Fields: fields, Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: generate}},
		{Pattern: "policies/password/" + name, Fields: fields, Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: read, logical.UpdateOperation: write, logical.DeleteOperation: del}},
	}
}

// parsePasswordPolicy parses doc as HCL, else as base64-encoded HCL.
func parsePasswordPolicy(doc string) (*pwpolicy.Policy, error) {
	p, err := pwpolicy.Parse(doc)
	if err == nil {
		return p, nil
	}
	if dec, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(doc)); derr == nil {
		if p, err2 := pwpolicy.Parse(string(dec)); err2 == nil {
			return p, nil
		}
	}
	return nil, err
}

func (c *Store) read(ctx context.Context, name string) (*storedPasswordPolicy, error) {
	e, err := c.storage.Get(ctx, passwordPolicyPrefix+name)
	if err != nil {
		return nil, fmt.Errorf("password policies: read: %w", err)
	}
	if e == nil {
		return nil, nil
	}
	var sp storedPasswordPolicy
	if err := json.Unmarshal(e.Value, &sp); err != nil {
		return nil, fmt.Errorf("password policies: decode %q: %w", name, err)
	}
	return &sp, nil
}

// generatePassword makes a password from the named stored policy.
// Generate returns a password from the named policy
// (logical.ErrPasswordPolicyNotFound when there is none).
func (c *Store) Generate(ctx context.Context, name string) (string, error) {
	sp, err := c.read(ctx, name)
	if err != nil {
		return "", err
	}
	if sp == nil {
		return "", fmt.Errorf("%w: %q", logical.ErrPasswordPolicyNotFound, name)
	}
	p, err := parsePasswordPolicy(sp.Policy)
	if err != nil {
		return "", fmt.Errorf("password policy %q: %w", name, err)
	}
	return p.Generate()
}

// GeneratePasswordFromPolicy implements logical.PasswordGenerator for the
// engines' system views.
