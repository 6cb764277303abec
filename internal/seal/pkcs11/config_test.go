package pkcs11

import (
	"errors"
	"strings"
	"testing"
)

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func baseConf() map[string]string {
	return map[string]string{"lib": "/lib/p11.so", "slot": "7", "pin": "1234", "key_label": "k"}
}

func TestParseConfig(t *testing.T) {
	with := func(kv ...string) map[string]string {
		c := baseConf()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(c, kv[i])
			} else {
				c[kv[i]] = kv[i+1]
			}
		}
		return c
	}
	tests := []struct {
		name    string
		conf    map[string]string
		env     map[string]string
		wantErr string // substring; "" means success
		check   func(t *testing.T, c *config)
	}{
		{name: "defaults", conf: baseConf(), check: func(t *testing.T, c *config) {
			if c.mechanism != 0 || c.generateKey || c.maxParallel != defaultMaxParallel || c.oaepHash.name != "sha256" || *c.slot != 7 {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{name: "no lib", conf: with("lib", ""), wantErr: "lib is required"},
		{name: "no slot nor token", conf: with("slot", ""), wantErr: "slot or token_label"},
		{name: "token label only", conf: with("slot", "", "token_label", "tok"), check: func(t *testing.T, c *config) {
			if c.slot != nil || c.tokenLabel != "tok" {
				t.Errorf("slot %v label %q", c.slot, c.tokenLabel)
			}
		}},
		{name: "bad slot", conf: with("slot", "0x2"), wantErr: "decimal slot"},
		{name: "no pin", conf: with("pin", ""), wantErr: "pin is required"},
		{name: "no key label", conf: with("key_label", ""), wantErr: "key_label is required"},
		{name: "mechanism hex", conf: with("mechanism", "0x1087"), check: func(t *testing.T, c *config) {
			if c.mechanism != MechanismAESGCM {
				t.Errorf("mechanism %#x", c.mechanism)
			}
		}},
		{name: "mechanism decimal", conf: with("mechanism", "9"), check: func(t *testing.T, c *config) {
			if c.mechanism != MechanismRSAOAEP {
				t.Errorf("mechanism %#x", c.mechanism)
			}
		}},
		{name: "mechanism name", conf: with("mechanism", "ckm_rsa_pkcs_oaep"), check: func(t *testing.T, c *config) {
			if c.mechanism != MechanismRSAOAEP {
				t.Errorf("mechanism %#x", c.mechanism)
			}
		}},
		{name: "mechanism unsupported", conf: with("mechanism", "0x1085"), wantErr: "0x1085 is not supported"},
		{name: "mechanism garbage", conf: with("mechanism", "aes"), wantErr: "not a number"},
		{name: "key id", conf: with("key_id", "0x3334"), check: func(t *testing.T, c *config) {
			if string(c.keyID) != "34" {
				t.Errorf("key id %x", c.keyID)
			}
		}},
		{name: "key id bad", conf: with("key_id", "0xzz"), wantErr: "not a hexadecimal"},
		{name: "generate key", conf: with("generate_key", "true"), check: func(t *testing.T, c *config) {
			if !c.generateKey {
				t.Error("generate_key not set")
			}
		}},
		{name: "generate key bad", conf: with("generate_key", "yes please"), wantErr: "not a boolean"},
		{name: "oaep hash", conf: with("rsa_oaep_hash", "SHA1"), check: func(t *testing.T, c *config) {
			if c.oaepHash.name != "sha1" {
				t.Errorf("hash %q", c.oaepHash.name)
			}
		}},
		{name: "oaep hash bad", conf: with("rsa_oaep_hash", "md5"), wantErr: "rsa_oaep_hash"},
		{name: "max parallel bad", conf: with("max_parallel", "0"), wantErr: "max_parallel"},
		{name: "unknown and ignored keys", conf: with("hmac_key_label", "h", "colour", "blue"), check: func(t *testing.T, c *config) {
			if len(c.unknown) != 1 || c.unknown[0] != "colour" {
				t.Errorf("unknown = %v", c.unknown)
			}
		}},
		{
			name: "env wins",
			conf: with("generate_key", "false", "mechanism", "0x1087"),
			env: map[string]string{
				"VAULT_HSM_LIB": "/env/lib.so", "VAULT_HSM_SLOT": "9", "VAULT_HSM_TOKEN_LABEL": "envtok",
				"VAULT_HSM_PIN": "envpin", "VAULT_HSM_KEY_LABEL": "envkey", "VAULT_HSM_MECHANISM": "0x0009",
				"VAULT_HSM_GENERATE_KEY": "true", "VAULT_HSM_KEY_ID": "01", "VAULT_HSM_DEFAULT_KEY_LABEL": "old",
				"VAULT_HSM_RSA_OAEP_HASH": "sha512",
			},
			check: func(t *testing.T, c *config) {
				if c.lib != "/env/lib.so" || *c.slot != 9 || c.tokenLabel != "envtok" || c.pin != "envpin" ||
					c.keyLabel != "envkey" || c.mechanism != MechanismRSAOAEP || !c.generateKey ||
					string(c.keyID) != "\x01" || c.defaultKeyLabel != "old" || c.oaepHash.name != "sha512" {
					t.Errorf("env did not override: %+v", c)
				}
			},
		},
		{name: "env alone", conf: map[string]string{}, env: map[string]string{
			"VAULT_HSM_LIB": "/l.so", "VAULT_HSM_TOKEN_LABEL": "t", "VAULT_HSM_PIN": "p", "VAULT_HSM_KEY_LABEL": "k",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(tc.conf, envFrom(tc.env))
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrConfig containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestParseConfigNilGetenv(t *testing.T) {
	if _, err := parseConfig(baseConf(), nil); err != nil {
		t.Fatalf("parseConfig with nil getenv: %v", err)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add("/lib.so", "0", "", "1234", "key", "", "", "")
	f.Add("/lib.so", "", "tok", "pin", "key", "0x1087", "0x3132", "true")
	f.Add("x", "18446744073709551615", "t", "p", "k", "9", "zz", "maybe")
	f.Add("", "-1", "", "", "", "0x", "0x", "")
	f.Fuzz(func(t *testing.T, lib, slot, token, pin, label, mech, keyID, gen string) {
		conf := map[string]string{"lib": lib, "slot": slot, "token_label": token, "pin": pin,
			"key_label": label, "mechanism": mech, "key_id": keyID, "generate_key": gen}
		c, err := parseConfig(conf, nil)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
			return
		}
		if c.lib == "" || c.pin == "" || c.keyLabel == "" || (c.slot == nil && c.tokenLabel == "") {
			t.Fatalf("accepted an incomplete config: %+v", c)
		}
		if c.mechanism != 0 && c.mechanism != MechanismAESGCM && c.mechanism != MechanismRSAOAEP {
			t.Fatalf("accepted mechanism %#x", c.mechanism)
		}
	})
}
