package pkcs11

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	p11 "github.com/miekg/pkcs11"
)

// ErrConfig marks a configuration the seal cannot start with.
var ErrConfig = errors.New("pkcs11 seal: invalid configuration")

// ErrLogin marks a login the token refused for its PIN (wrong, locked,
// expired): retrying with the same PIN cannot succeed, and an HSM locks a
// PIN after a few wrong tries, so callers must not retry.
var ErrLogin = errors.New("pkcs11 seal: the token refused the login")

// Mechanisms supported, as PKCS#11 numbers them.
const (
	MechanismAESGCM  uint = p11.CKM_AES_GCM       // 0x1087
	MechanismRSAOAEP uint = p11.CKM_RSA_PKCS_OAEP // 0x0009
)

// defaultMaxParallel is how many sessions a Wrapper opens at most.
const defaultMaxParallel = 4

// Each setting is read from the environment first and from the stanza
// second: Vault lets the environment override the configuration file.
var envNames = map[string]string{
	"lib":               "VAULT_HSM_LIB",
	"slot":              "VAULT_HSM_SLOT",
	"token_label":       "VAULT_HSM_TOKEN_LABEL",
	"pin":               "VAULT_HSM_PIN",
	"key_label":         "VAULT_HSM_KEY_LABEL",
	"default_key_label": "VAULT_HSM_DEFAULT_KEY_LABEL",
	"key_id":            "VAULT_HSM_KEY_ID",
	"mechanism":         "VAULT_HSM_MECHANISM",
	"rsa_oaep_hash":     "VAULT_HSM_RSA_OAEP_HASH",
	"generate_key":      "VAULT_HSM_GENERATE_KEY",
	"max_parallel":      "VAULT_HSM_MAX_PARALLEL",
}

// Stanza keys accepted without effect: the HMAC key pairs with the
// CBC mechanisms, which this seal does not implement.
var ignoredKeys = map[string]bool{
	"hmac_key_label": true, "hmac_default_key_label": true, "hmac_mechanism": true,
	"hmac_key_id": true, "disabled": true, "rsa_encrypt_local": true,
	"disable_auto_reinit_on_error": true, "name": true, "priority": true,
}

// config is the parsed seal stanza.
type config struct {
	lib             string
	slot            *uint
	tokenLabel      string
	pin             string
	keyLabel        string
	defaultKeyLabel string
	keyID           []byte
	// mechanism is 0 when not configured: the key found decides.
	mechanism   uint
	oaepHash    oaepHash
	generateKey bool
	maxParallel int
	// unknown lists stanza keys this seal does not know.
	unknown []string
}

type oaepHash struct {
	name string
	hash uint // CKM_SHA*
	mgf  uint // CKG_MGF1_SHA*
}

var oaepHashes = map[string]oaepHash{
	"sha1":   {"sha1", p11.CKM_SHA_1, p11.CKG_MGF1_SHA1},
	"sha224": {"sha224", p11.CKM_SHA224, p11.CKG_MGF1_SHA224},
	"sha256": {"sha256", p11.CKM_SHA256, p11.CKG_MGF1_SHA256},
	"sha384": {"sha384", p11.CKM_SHA384, p11.CKG_MGF1_SHA384},
	"sha512": {"sha512", p11.CKM_SHA512, p11.CKG_MGF1_SHA512},
}

// parseConfig reads the stanza, with getenv's values overriding it.
func parseConfig(conf map[string]string, getenv func(string) string) (*config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	get := func(key string) string {
		if v := getenv(envNames[key]); v != "" {
			return strings.TrimSpace(v)
		}
		return strings.TrimSpace(conf[key])
	}
	c := &config{
		lib:             get("lib"),
		tokenLabel:      get("token_label"),
		pin:             get("pin"),
		keyLabel:        get("key_label"),
		defaultKeyLabel: get("default_key_label"),
		oaepHash:        oaepHashes["sha256"],
		maxParallel:     defaultMaxParallel,
	}
	for k := range conf {
		if _, ok := envNames[k]; !ok && !ignoredKeys[k] {
			c.unknown = append(c.unknown, k)
		}
	}
	if c.lib == "" {
		return nil, fmt.Errorf("%w: lib is required (or VAULT_HSM_LIB)", ErrConfig)
	}
	if s := get("slot"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || uint64(uint(n)) != n {
			return nil, fmt.Errorf("%w: slot %q is not a decimal slot number", ErrConfig, s)
		}
		slot := uint(n)
		c.slot = &slot
	}
	if c.slot == nil && c.tokenLabel == "" {
		return nil, fmt.Errorf("%w: slot or token_label is required", ErrConfig)
	}
	if c.pin == "" {
		return nil, fmt.Errorf("%w: pin is required (or VAULT_HSM_PIN)", ErrConfig)
	}
	if c.keyLabel == "" {
		return nil, fmt.Errorf("%w: key_label is required (or VAULT_HSM_KEY_LABEL)", ErrConfig)
	}
	if s := get("key_id"); s != "" {
		id, err := parseKeyID(s)
		if err != nil {
			return nil, err
		}
		c.keyID = id
	}
	if s := get("mechanism"); s != "" {
		m, err := parseMechanism(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		c.mechanism = m
	}
	if s := get("rsa_oaep_hash"); s != "" {
		h, ok := oaepHashes[strings.ToLower(s)]
		if !ok {
			return nil, fmt.Errorf("%w: rsa_oaep_hash %q is not one of sha1, sha224, sha256, sha384, sha512", ErrConfig, s)
		}
		c.oaepHash = h
	}
	if s := get("generate_key"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%w: generate_key %q is not a boolean", ErrConfig, s)
		}
		c.generateKey = b
	}
	if s := get("max_parallel"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("%w: max_parallel %q must be an integer from 1 to 1024", ErrConfig, s)
		}
		c.maxParallel = n
	}
	return c, nil
}

// parseKeyID reads key_id, hexadecimal with or without a 0x prefix.
func parseKeyID(s string) ([]byte, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	id, err := hex.DecodeString(h)
	if err != nil || len(id) == 0 {
		return nil, fmt.Errorf("%w: key_id %q is not a hexadecimal string such as 0x33343536", ErrConfig, s)
	}
	return id, nil
}

// parseMechanism reads a mechanism as Vault takes it, decimal or 0x-hex,
// and also by its PKCS#11 name.
func parseMechanism(s string) (uint, error) {
	var m uint64
	switch up := strings.ToUpper(strings.TrimSpace(s)); {
	case up == "CKM_AES_GCM":
		m = uint64(MechanismAESGCM)
	case up == "CKM_RSA_PKCS_OAEP":
		m = uint64(MechanismRSAOAEP)
	case strings.HasPrefix(up, "0X"):
		n, err := strconv.ParseUint(up[2:], 16, 64)
		if err != nil {
			return 0, fmt.Errorf("mechanism %q is not a number", s)
		}
		m = n
	default:
		n, err := strconv.ParseUint(up, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("mechanism %q is not a number", s)
		}
		m = n
	}
	switch uint(m) {
	case MechanismAESGCM, MechanismRSAOAEP:
		return uint(m), nil
	}
	return 0, fmt.Errorf("mechanism %s is not supported (0x1087 CKM_AES_GCM or 0x0009 CKM_RSA_PKCS_OAEP)", mechanismString(uint(m)))
}

// mechanismString is how a blob records its mechanism.
func mechanismString(m uint) string { return fmt.Sprintf("0x%04x", m) }
