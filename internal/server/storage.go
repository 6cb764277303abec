package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/strongbox/strongbox/internal/config"
	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/physical/file"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// openStorage builds the configured physical backend.
func openStorage(ctx context.Context, s *config.Storage, logger *slog.Logger) (physical.Backend, error) {
	switch s.Type {
	case "inmem":
		return inmem.New(), nil
	case "file":
		b, err := file.New(ctx, s.Config, logger.With("storage", "file"))
		if err != nil {
			return nil, fmt.Errorf("storage file: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("storage %q is not supported yet (supported: inmem, file)", s.Type)
}
