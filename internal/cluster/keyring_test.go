package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func verifyNode(k *Keyring, cert tls.Certificate) error {
	p, err := k.CertPool()
	if err != nil {
		return err
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		_, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: p, DNSName: KeyringServerName, KeyUsages: []x509.ExtKeyUsage{usage}})
		if err != nil {
			return err
		}
	}
	return nil
}

func TestKeyringJSONRoundTrip(t *testing.T) {
	k := newTestKeyring(t)
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"term":2`, `"current"`, `"previous"`, `"cert_pem"`, `"key_pem"`} {
		if !strings.Contains(string(data), field) {
			t.Errorf("JSON lacks %s: %s", field, data)
		}
	}
	back, err := ParseKeyring(data)
	if err != nil {
		t.Fatalf("ParseKeyring: %v", err)
	}
	if back.Term != 2 || back.Current.ID != k.Current.ID || back.Previous.ID != k.Previous.ID {
		t.Fatalf("round trip changed the keyring: %+v", back)
	}
	// A certificate issued from the decoded keyring is trusted by the original.
	if err := verifyNode(k, issue(t, back, "n1")); err != nil {
		t.Fatalf("cert from decoded keyring: %v", err)
	}
}

func TestKeyringRotation(t *testing.T) {
	k := newTestKeyring(t)
	if k.Term != 1 || k.Previous != nil {
		t.Fatalf("new keyring: term %d previous %v", k.Term, k.Previous)
	}
	first := issue(t, k, "n1")
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	second := issue(t, k, "n2")
	if k.Term != 2 {
		t.Fatalf("term after rotation = %d", k.Term)
	}
	// Mid-rollout: certificates from both CAs are trusted.
	for name, c := range map[string]tls.Certificate{"first": first, "second": second} {
		if err := verifyNode(k, c); err != nil {
			t.Errorf("%s cert after one rotation: %v", name, err)
		}
	}
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := verifyNode(k, first); err == nil {
		t.Error("cert from the CA two rotations back is still trusted")
	}
	if err := verifyNode(k, second); err != nil {
		t.Errorf("cert from the previous CA after second rotation: %v", err)
	}
}

func TestKeyringRotationOverTLS(t *testing.T) {
	k := newTestKeyring(t)
	oldNode := keyringConfigs(t, k, "old", ProtoRaft)
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	newNode := keyringConfigs(t, k, "new", ProtoRaft)
	// Mid-rollout: a node still presenting a certificate from the previous CA
	// and one with a certificate from the current CA authenticate each other,
	// both trusting the rotated keyring's pool.
	l := newTestListener(t, newNode)
	l.Register(ProtoRaft, writeAndClose("ok"))
	conf, err := oldNode.ClientConfig(ProtoRaft, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	conf.RootCAs = pool(t, k)
	got, err := exchange(testContext(t), l.Addr().String(), conf, ProtoRaft)
	if err != nil || got != "ok" {
		t.Fatalf("old-CA client to new-CA server: %q, %v", got, err)
	}
}

func TestParseKeyringInvalid(t *testing.T) {
	a, b := newTestKeyring(t), newTestKeyring(t)
	mismatch := *a.Current
	mismatch.KeyPEM = b.Current.KeyPEM
	nodeCert := func() string {
		c := issue(t, a, "n")
		return string(encodeCert(c.Certificate[0]))
	}()
	notCA := *a.Current
	notCA.CertPEM = nodeCert
	enc := func(k Keyring) string {
		data, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	for _, tc := range []struct{ name, in string }{
		{"not json", "{"},
		{"empty", "{}"},
		{"term zero", enc(Keyring{Term: 0, Current: a.Current})},
		{"key mismatch", enc(Keyring{Term: 1, Current: &mismatch})},
		{"garbage pem", `{"term":1,"current":{"id":"x","cert_pem":"nope","key_pem":"nope"}}`},
		{"bad previous", enc(Keyring{Term: 2, Current: a.Current, Previous: &mismatch})},
		{"leaf as CA", enc(Keyring{Term: 1, Current: &notCA})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseKeyring([]byte(tc.in)); !errors.Is(err, ErrInvalidKeyring) {
				t.Fatalf("err = %v, want ErrInvalidKeyring", err)
			}
		})
	}
	var empty Keyring
	if _, err := empty.IssueNodeCert("n", nil); !errors.Is(err, ErrInvalidKeyring) {
		t.Fatalf("IssueNodeCert on empty keyring: %v", err)
	}
}

func FuzzParseKeyring(f *testing.F) {
	k, err := NewKeyring()
	if err != nil {
		f.Fatal(err)
	}
	valid, err := json.Marshal(k)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"term":1,"current":{"cert_pem":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKeyring(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidKeyring) {
				t.Fatalf("error not wrapped: %v", err)
			}
			return
		}
		if _, err := k.CertPool(); err != nil {
			t.Fatalf("valid keyring has no pool: %v", err)
		}
	})
}

// TestStagedRotation: during a staged rotation every node trusts every
// certificate any node can present, whichever keyring version it holds.
func TestStagedRotation(t *testing.T) {
	k0 := newTestKeyring(t)
	raw, _ := json.Marshal(k0)
	k1, _ := ParseKeyring(raw)
	if err := k1.Stage(); err != nil {
		t.Fatal(err)
	}
	raw, _ = json.Marshal(k1)
	k2, _ := ParseKeyring(raw)
	if !k2.Promote() || k2.Next != nil || k2.Term != k0.Term+2 {
		t.Fatalf("promote: %+v", k2)
	}
	if k2.Promote() {
		t.Fatal("promote without a staged CA changed the keyring")
	}
	// Nodes move from one version to the next one at a time: adjacent
	// versions must trust each other's certificates.
	for _, pair := range [][2]*Keyring{{k0, k1}, {k1, k2}} {
		for _, dir := range [][2]*Keyring{{pair[0], pair[1]}, {pair[1], pair[0]}} {
			cert, err := dir[0].IssueNodeCert("n", nil)
			if err != nil {
				t.Fatal(err)
			}
			pool, err := dir[1].CertPool()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: KeyringServerName, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Fatalf("term %d cert not trusted by term %d: %v", dir[0].Term, dir[1].Term, err)
			}
		}
	}
}
