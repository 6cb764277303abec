package cors

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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

// Config is sys/config/cors: which browser origins may call the API.
type Config struct {
	Enabled        bool     `json:"enabled"`
	AllowedOrigins []string `json:"allowed_origins"`
	AllowedHeaders []string `json:"allowed_headers"`
}

// Store is the room: sys/config/cors over the barrier, and the node's copy
// of it, so the HTTP layer does not read the barrier on every request.
type Store struct {
	storage physical.Backend
	logger  *slog.Logger

	mu     sync.Mutex
	cfg    Config
	loaded time.Time
}

// New returns the room over the barrier.
func New(storage physical.Backend, logger *slog.Logger) *Store {
	return &Store{storage: storage, logger: logger}
}

// Get returns the stored CORS configuration (disabled when none is stored
// or the node is sealed and never read it). The caller says whether the
// node is sealed before the call: writes take c.mu while a request holds
// the kernel's state lock.
func (c *Store) Get(ctx context.Context, sealed bool) Config {
	c.mu.Lock()
	cfg, fresh := c.cfg, time.Since(c.loaded) < corsRefresh
	c.mu.Unlock()
	if fresh || sealed {
		return cfg
	}
	cfg, err := c.read(ctx)
	if err != nil {
		c.logger.Warn("read CORS configuration", "error", err)
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.cfg
	}
	c.mu.Lock()
	c.cfg, c.loaded = cfg, time.Now()
	c.mu.Unlock()
	return cfg
}

func (c *Store) read(ctx context.Context) (Config, error) {
	var cfg Config
	e, err := c.storage.Get(ctx, corsKey)
	if err != nil || e == nil {
		return cfg, err
	}
	if err := json.Unmarshal(e.Value, &cfg); err != nil {
		return cfg, fmt.Errorf("decode %s: %w", corsKey, err)
	}
	return cfg, nil
}

func (c *Store) write(ctx context.Context, cfg Config) error {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := c.storage.Put(ctx, &physical.Entry{Key: corsKey, Value: raw}); err != nil {
		return fmt.Errorf("store CORS configuration: %w", err)
	}
	c.mu.Lock()
	c.cfg, c.loaded = cfg, time.Now()
	c.mu.Unlock()
	return nil
}

// Paths serve sys/config/cors (GET, PUT/POST, DELETE), as Vault does.
func (c *Store) Paths() []*logical.Path {
	return []*logical.Path{{
		Pattern: "config/cors",
		Fields: map[string]*logical.FieldSchema{
			"allowed_origins": {Type: logical.TypeCommaStringSlice, Description: "Origins allowed to make cross-origin requests; \"*\" for any."},
			"allowed_headers": {Type: logical.TypeCommaStringSlice, Description: "Headers allowed beyond the standard ones."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
				cfg, err := c.read(ctx)
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
				return nil, c.write(ctx, Config{Enabled: true, AllowedOrigins: origins, AllowedHeaders: headers})
			},
			logical.DeleteOperation: func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
				return nil, c.write(ctx, Config{})
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
