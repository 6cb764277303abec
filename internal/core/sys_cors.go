package core

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
)

// corsKey holds sys/config/cors in the barrier.
const corsKey = "core/cors-config"

// corsRefresh bounds how stale a node's copy of sys/config/cors may be: a
// standby learns the active node's change within this long.
const corsRefresh = 5 * time.Second

// CORSConfig is sys/config/cors: which browser origins may call the API.
type CORSConfig struct {
	Enabled        bool     `json:"enabled"`
	AllowedOrigins []string `json:"allowed_origins"`
	AllowedHeaders []string `json:"allowed_headers"`
}

// corsCache is the node's copy of the stored CORS configuration, so the
// HTTP layer does not read the barrier on every request.
type corsCache struct {
	mu     sync.Mutex
	cfg    CORSConfig
	loaded time.Time
}

// CORS returns the stored CORS configuration (disabled when none is stored
// or the core is sealed and never read it).
func (c *Core) CORS(ctx context.Context) CORSConfig {
	// Sealed takes the state lock; ask before taking cors.mu, which writes
	// take while a request holds the state lock.
	sealed := c.Sealed()
	c.cors.mu.Lock()
	cfg, fresh := c.cors.cfg, time.Since(c.cors.loaded) < corsRefresh
	c.cors.mu.Unlock()
	if fresh || sealed {
		return cfg
	}
	cfg, err := c.readCORS(ctx)
	if err != nil {
		c.logger.Warn("read CORS configuration", "error", err)
		c.cors.mu.Lock()
		defer c.cors.mu.Unlock()
		return c.cors.cfg
	}
	c.cors.mu.Lock()
	c.cors.cfg, c.cors.loaded = cfg, time.Now()
	c.cors.mu.Unlock()
	return cfg
}

func (c *Core) readCORS(ctx context.Context) (CORSConfig, error) {
	var cfg CORSConfig
	e, err := c.barrier.Get(ctx, corsKey)
	if err != nil || e == nil {
		return cfg, err
	}
	if err := json.Unmarshal(e.Value, &cfg); err != nil {
		return cfg, fmt.Errorf("decode %s: %w", corsKey, err)
	}
	return cfg, nil
}

func (c *Core) writeCORS(ctx context.Context, cfg CORSConfig) error {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := c.barrier.Put(ctx, &physical.Entry{Key: corsKey, Value: raw}); err != nil {
		return fmt.Errorf("store CORS configuration: %w", err)
	}
	c.cors.mu.Lock()
	c.cors.cfg, c.cors.loaded = cfg, time.Now()
	c.cors.mu.Unlock()
	return nil
}

// corsPaths serve sys/config/cors (GET, PUT/POST, DELETE), as Vault does.
func (c *Core) corsPaths() []*logical.Path {
	return []*logical.Path{{
		Pattern: "config/cors",
		Fields: map[string]*logical.FieldSchema{
			"allowed_origins": {Type: logical.TypeCommaStringSlice, Description: "Origins allowed to make cross-origin requests; \"*\" for any."},
			"allowed_headers": {Type: logical.TypeCommaStringSlice, Description: "Headers allowed beyond the standard ones."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
				cfg, err := c.readCORS(ctx)
				if err != nil {
					return nil, err
				}
				data := map[string]any{"enabled": cfg.Enabled}
				if cfg.Enabled {
					data["allowed_origins"] = nonNil(cfg.AllowedOrigins)
					data["allowed_headers"] = nonNil(cfg.AllowedHeaders)
				}
				return &logical.Response{Data: data}, nil
			},
			logical.UpdateOperation: func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
				origins, _ := d.Get("allowed_origins").([]string)
				headers, _ := d.Get("allowed_headers").([]string)
				if len(origins) == 0 {
					return nil, logical.Errorf(400, "allowed_origins is required to enable CORS")
				}
				for _, o := range origins {
					if o == "*" && len(origins) > 1 {
						return nil, logical.Errorf(400, "to allow all origins the '*' must be the only value for allowed_origins")
					}
				}
				return nil, c.writeCORS(ctx, CORSConfig{Enabled: true, AllowedOrigins: origins, AllowedHeaders: headers})
			},
			logical.DeleteOperation: func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
				return nil, c.writeCORS(ctx, CORSConfig{})
			},
		},
		HelpSynopsis: "Configures or disables CORS for the API.",
	}}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
