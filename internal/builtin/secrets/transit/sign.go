package transit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // sha1 is one of Vault's hash_algorithm choices
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"hash"
	"math/big"
	"strconv"
)

// hashes are Vault's hash_algorithm names.
var hashes = map[string]crypto.Hash{
	"sha1": crypto.SHA1, "sha2-224": crypto.SHA224, "sha2-256": crypto.SHA256,
	"sha2-384": crypto.SHA384, "sha2-512": crypto.SHA512,
	"sha3-224": crypto.SHA3_224, "sha3-256": crypto.SHA3_256, "sha3-384": crypto.SHA3_384, "sha3-512": crypto.SHA3_512,
}

func newHash(h crypto.Hash) func() hash.Hash {
	switch h {
	case crypto.SHA1:
		return sha1.New
	case crypto.SHA224:
		return sha256.New224
	case crypto.SHA256:
		return sha256.New
	case crypto.SHA384:
		return sha512.New384
	case crypto.SHA512:
		return sha512.New
	case crypto.SHA3_224:
		return func() hash.Hash { return sha3.New224() }
	case crypto.SHA3_256:
		return func() hash.Hash { return sha3.New256() }
	case crypto.SHA3_384:
		return func() hash.Hash { return sha3.New384() }
	case crypto.SHA3_512:
		return func() hash.Hash { return sha3.New512() }
	}
	return nil
}

// hashAlgorithm resolves a hash_algorithm name ("none": 0).
func hashAlgorithm(name string) (crypto.Hash, error) {
	if name == "" {
		return crypto.SHA256, nil
	}
	if name == "none" {
		return 0, nil
	}
	h, ok := hashes[name]
	if !ok {
		return 0, errBadInput("unsupported hash algorithm %q", name)
	}
	return h, nil
}

// signOpts are a sign or verify request's choices.
type signOpts struct {
	hash       crypto.Hash
	prehashed  bool
	pss        bool // signature_algorithm pss (RSA); else pkcs1v15
	jws        bool // marshaling_algorithm jws (ECDSA); else asn1
	saltLength int
	context    []byte
}

// digest is what is signed: the input's hash, or the input itself when
// prehashed or for ed25519.
func (p *policy) digest(input []byte, o signOpts) ([]byte, error) {
	if p.Type == typeEd25519 || o.prehashed || o.hash == 0 {
		if p.Type != typeEd25519 && o.hash != 0 && len(input) != o.hash.Size() {
			return nil, errBadInput("prehashed input is %d bytes, want %d for the hash algorithm", len(input), o.hash.Size())
		}
		return input, nil
	}
	h := newHash(o.hash)()
	h.Write(input)
	return h.Sum(nil), nil
}

// signingKey returns version v's signer (derived for a derived ed25519
// key).
func (p *policy) signingKey(v int, context []byte) (crypto.Signer, error) {
	s, err := p.signer(v)
	if err != nil {
		return nil, err
	}
	if !p.Derived {
		return s, nil
	}
	if len(context) == 0 {
		return nil, errBadInput("missing 'context' for key derivation")
	}
	seed, err := deriveKey(s.(ed25519.PrivateKey).Seed(), context, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// sign signs input with version v (0: latest).
func (p *policy) sign(v int, input []byte, o signOpts) (string, int, error) {
	if !asymmetric(p.Type) {
		return "", 0, errBadInput("key type %s does not support signing", p.Type)
	}
	if v == 0 {
		v = p.LatestVersion
	} else if err := p.decryptionVersionOK(v); err != nil {
		return "", 0, err
	}
	if v < p.MinEncryptionVersion {
		return "", 0, errBadInput("requested version for signing is less than the minimum encryption key version")
	}
	s, err := p.signingKey(v, o.context)
	if err != nil {
		return "", 0, err
	}
	d, err := p.digest(input, o)
	if err != nil {
		return "", 0, err
	}
	var sig []byte
	switch k := s.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, d)
	case *ecdsa.PrivateKey:
		if sig, err = ecdsa.SignASN1(rand.Reader, k, d); err != nil {
			return "", 0, err
		}
		if o.jws {
			if sig, err = asn1ToJWS(sig, k.Curve.Params().BitSize); err != nil {
				return "", 0, err
			}
		}
	case *rsa.PrivateKey:
		if o.pss {
			if o.hash == 0 {
				return "", 0, errBadInput("hash_algorithm none needs signature_algorithm pkcs1v15")
			}
			sig, err = rsa.SignPSS(rand.Reader, k, o.hash, d, &rsa.PSSOptions{SaltLength: o.saltLength, Hash: o.hash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, o.hash, d)
		}
		if err != nil {
			return "", 0, errBadInput("sign: %v", err)
		}
	}
	enc := base64.StdEncoding.EncodeToString(sig)
	if o.jws {
		enc = base64.RawURLEncoding.EncodeToString(sig)
	}
	return prefix + strconv.Itoa(v) + ":" + enc, v, nil
}

// verify checks a signature; false with no error is a signature that does
// not match.
func (p *policy) verify(signature string, input []byte, o signOpts) (bool, error) {
	if !asymmetric(p.Type) {
		return false, errBadInput("key type %s does not support verification", p.Type)
	}
	v, body, err := splitVersioned(signature, "signature")
	if err != nil {
		return false, err
	}
	if err := p.decryptionVersionOK(v); err != nil {
		return false, err
	}
	var sig []byte
	if o.jws {
		sig, err = base64.RawURLEncoding.DecodeString(body)
	} else {
		sig, err = base64.StdEncoding.DecodeString(body)
	}
	if err != nil {
		return false, errBadInput("invalid signature: could not decode base64")
	}
	s, err := p.signingKey(v, o.context)
	if err != nil {
		return false, err
	}
	d, err := p.digest(input, o)
	if err != nil {
		return false, err
	}
	switch k := s.Public().(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(k, d, sig), nil
	case *ecdsa.PublicKey:
		if o.jws {
			size := (k.Curve.Params().BitSize + 7) / 8
			if len(sig) != 2*size {
				return false, nil
			}
			r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
			return ecdsa.Verify(k, d, r, s), nil
		}
		return ecdsa.VerifyASN1(k, d, sig), nil
	case *rsa.PublicKey:
		if o.pss {
			if o.hash == 0 {
				return false, errBadInput("hash_algorithm none needs signature_algorithm pkcs1v15")
			}
			return rsa.VerifyPSS(k, o.hash, d, sig, &rsa.PSSOptions{SaltLength: verifySalt(o.saltLength), Hash: o.hash}) == nil, nil
		}
		return rsa.VerifyPKCS1v15(k, o.hash, d, sig) == nil, nil
	}
	return false, fmt.Errorf("unexpected key %T", s)
}

func verifySalt(n int) int {
	if n == rsa.PSSSaltLengthEqualsHash {
		return n
	}
	if n > 0 {
		return n
	}
	return rsa.PSSSaltLengthAuto
}

// asn1ToJWS turns an ASN.1 ECDSA signature into JWS's r||s.
func asn1ToJWS(der []byte, bits int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return nil, err
	}
	size := (bits + 7) / 8
	out := make([]byte, 2*size)
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return out, nil
}

// publicKey renders version v's public key as Vault does: base64 for
// ed25519, PEM (PKIX) for ECDSA and RSA.
func (p *policy) publicKey(v int) (string, error) {
	s, err := p.signer(v)
	if err != nil {
		return "", err
	}
	if pub, ok := s.Public().(ed25519.PublicKey); ok {
		return base64.StdEncoding.EncodeToString(pub), nil
	}
	der, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// mac computes the hmac endpoint's MAC with version v (0: latest).
func (p *policy) mac(v int, algo crypto.Hash, input []byte) (string, int, error) {
	if v == 0 {
		v = p.LatestVersion
	} else if err := p.decryptionVersionOK(v); err != nil {
		return "", 0, err
	}
	e := p.entry(v)
	key := e.HMACKey
	if p.Type == typeHMAC {
		key = e.Key
	}
	m := hmac.New(newHash(algo), key)
	m.Write(input)
	return prefix + strconv.Itoa(v) + ":" + base64.StdEncoding.EncodeToString(m.Sum(nil)), v, nil
}

// verifyMAC checks a "vault:v<N>:" HMAC.
func (p *policy) verifyMAC(mac string, algo crypto.Hash, input []byte) (bool, error) {
	v, _, err := splitVersioned(mac, "hmac")
	if err != nil {
		return false, err
	}
	if err := p.decryptionVersionOK(v); err != nil {
		return false, err
	}
	want, _, err := p.mac(v, algo, input)
	if err != nil {
		return false, err
	}
	return hmac.Equal([]byte(want), []byte(mac)), nil
}
