package cert

import (
	"sync"
	"testing"

	"github.com/strongbox/strongbox/internal/builtin/credential/cert/certtest"
	"github.com/strongbox/strongbox/internal/logical"
)

// TestConcurrentLoginsAndCRLs runs logins while CRLs and entries change
// (run with -race). A certificate revoked once its CRL write returned is
// refused from then on; the other keeps logging in throughout.
func TestConcurrentLoginsAndCRLs(t *testing.T) {
	e := newEnv(t)
	ca := mustCA(t, "root")
	e.OK(logical.UpdateOperation, "certs/web", map[string]any{"certificate": ca.PEM})
	good := mustIssue(t, ca, certtest.Options{CommonName: "good"})
	bad := mustIssue(t, ca, certtest.Options{CommonName: "bad"})
	crl, _, err := ca.CRL(bad.Cert.SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if _, err := e.login(logical.UpdateOperation, nil, good.Cert); err != nil {
					errs <- err
					return
				}
				if w == 0 && i%10 == 0 {
					if _, err := e.Do(logical.UpdateOperation, "certs/web", map[string]any{"display_name": "web"}); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for i := range 20 {
		if _, err := e.Do(logical.UpdateOperation, "crls/c", map[string]any{"crl": crl}); err != nil {
			t.Fatal(err)
		}
		_, err := e.login(logical.UpdateOperation, nil, bad.Cert)
		status(t, err, 400, "no chain matching all constraints could be found for this login certificate")
		if i%2 == 0 {
			if _, err := e.Do(logical.DeleteOperation, "crls/c", nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
