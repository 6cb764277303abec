//go:build cgo

package pkcs11

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

// modules is the one piece of process-wide state here, forced by PKCS#11
// itself: C_Initialize and C_Finalize act on the whole process, so a second
// C_Initialize fails with CKR_CRYPTOKI_ALREADY_INITIALIZED and one
// C_Finalize kills every other caller's sessions. Wrappers on the same
// module therefore share one initialized context, counted, and only the
// last Close finalizes it.
var modules = registry{open: map[string]*module{}}

type registry struct {
	mu   sync.Mutex
	open map[string]*module
}

// module is a loaded, initialized PKCS#11 library.
type module struct {
	path string
	ctx  *p11.Ctx
	refs int
	// owned is false when something else in the process had already
	// initialized the library; then it is not ours to finalize.
	owned bool
}

// acquireModule loads and initializes the library at path, or shares the
// copy already loaded.
func acquireModule(path string) (*module, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("pkcs11 seal: library %q: %w", path, err)
	}
	modules.mu.Lock()
	defer modules.mu.Unlock()
	if m, ok := modules.open[real]; ok {
		m.refs++
		return m, nil
	}
	ctx := p11.New(real)
	if ctx == nil {
		return nil, fmt.Errorf("pkcs11 seal: cannot load library %q: not a PKCS#11 module, or a library it needs is missing", path)
	}
	m := &module{path: real, ctx: ctx, refs: 1, owned: true}
	if err := ctx.Initialize(); err != nil {
		if !errors.Is(err, p11.Error(p11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
			ctx.Destroy()
			return nil, fmt.Errorf("pkcs11 seal: initialize library %q: %w", path, err)
		}
		m.owned = false
	}
	modules.open[real] = m
	return m, nil
}

// release drops one reference; the last one finalizes and unloads.
func (m *module) release() {
	modules.mu.Lock()
	defer modules.mu.Unlock()
	m.refs--
	if m.refs > 0 {
		return
	}
	delete(modules.open, m.path)
	if m.owned {
		_ = m.ctx.Finalize()
	}
	m.ctx.Destroy()
}

// reinitialize runs C_Initialize again after something finalized the
// library under us (CKR_CRYPTOKI_NOT_INITIALIZED).
func (m *module) reinitialize() error {
	modules.mu.Lock()
	defer modules.mu.Unlock()
	err := m.ctx.Initialize()
	if err != nil && !errors.Is(err, p11.Error(p11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		return fmt.Errorf("pkcs11 seal: reinitialize library %q: %w", m.path, err)
	}
	return nil
}
