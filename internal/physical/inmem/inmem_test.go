package inmem_test

import (
	"testing"

	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
	"github.com/strongbox/strongbox/internal/physical/physicaltest"
)

func TestConformance(t *testing.T) {
	physicaltest.Run(t, func(t *testing.T) physical.Backend { return inmem.New() })
}
