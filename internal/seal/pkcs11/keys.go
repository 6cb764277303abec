//go:build cgo

package pkcs11

import (
	"crypto/rand"
	"errors"
	"fmt"

	p11 "github.com/miekg/pkcs11"
)

// ErrKeyNotFound means no key with the configured label (and key_id) and a
// type fitting the mechanism is on the token.
var ErrKeyNotFound = errors.New("pkcs11 seal: key not found")

// findKey returns the handles for ref in s, from the session's cache or
// the token.
func (w *Wrapper) findKey(s *session, ref keyRef) (keyHandles, error) {
	if kh, ok := s.keys[ref]; ok {
		return kh, nil
	}
	var kh keyHandles
	switch ref.mech {
	case MechanismAESGCM:
		h, err := w.findObject(s, w.keyTemplate(ref.label, p11.CKO_SECRET_KEY, p11.CKK_AES))
		if err != nil {
			return kh, err
		}
		kh = keyHandles{enc: h, dec: h}
	case MechanismRSAOAEP:
		priv, err := w.findObject(s, w.keyTemplate(ref.label, p11.CKO_PRIVATE_KEY, p11.CKK_RSA))
		if err != nil {
			return kh, err
		}
		pub, err := w.findObject(s, w.keyTemplate(ref.label, p11.CKO_PUBLIC_KEY, p11.CKK_RSA))
		if errors.Is(err, ErrKeyNotFound) {
			// Not ErrKeyNotFound: generating would add a second private key.
			return kh, fmt.Errorf("pkcs11 seal: RSA key %q has no public key object on the token, which encryption needs", ref.label)
		}
		if err != nil {
			return kh, err
		}
		kh = keyHandles{enc: pub, dec: priv}
	default:
		return kh, fmt.Errorf("pkcs11 seal: mechanism %s is not supported", mechanismString(ref.mech))
	}
	s.keys[ref] = kh
	return kh, nil
}

// keyTemplate matches a key by label, class and type, and by key_id when
// the label is the configured one.
func (w *Wrapper) keyTemplate(label string, class, keyType uint) []*p11.Attribute {
	t := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, class),
		p11.NewAttribute(p11.CKA_KEY_TYPE, keyType),
		p11.NewAttribute(p11.CKA_LABEL, label),
	}
	if len(w.cfg.keyID) > 0 && label == w.cfg.keyLabel {
		t = append(t, p11.NewAttribute(p11.CKA_ID, w.cfg.keyID))
	}
	return t
}

// findObject returns the one object matching template; ErrKeyNotFound when
// there is none.
func (w *Wrapper) findObject(s *session, template []*p11.Attribute) (p11.ObjectHandle, error) {
	ctx := w.mod.ctx
	if err := ctx.FindObjectsInit(s.h, template); err != nil {
		return 0, fmt.Errorf("pkcs11 seal: find key: %w", err)
	}
	found, _, err := ctx.FindObjects(s.h, 2)
	if ferr := ctx.FindObjectsFinal(s.h); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		return 0, fmt.Errorf("pkcs11 seal: find key: %w", err)
	}
	switch len(found) {
	case 0:
		return 0, ErrKeyNotFound
	case 1:
		return found[0], nil
	}
	return 0, fmt.Errorf("pkcs11 seal: several keys match; set key_id to choose one")
}

// resolveKey settles the mechanism and makes sure the key exists, creating
// it when generate_key is set. With no mechanism configured the key decides:
// an AES key with the label means AES-GCM, an RSA key pair RSA-OAEP, and a
// key to generate is AES.
func (w *Wrapper) resolveKey(s *session) error {
	mechs := []uint{w.cfg.mechanism}
	if w.cfg.mechanism == 0 {
		mechs = []uint{MechanismAESGCM, MechanismRSAOAEP}
	}
	for _, m := range mechs {
		_, err := w.findKey(s, keyRef{label: w.cfg.keyLabel, mech: m})
		if err == nil {
			w.mech = m
			return nil
		}
		if !errors.Is(err, ErrKeyNotFound) {
			return err
		}
	}
	if !w.cfg.generateKey {
		return fmt.Errorf("%w: no %s key labelled %q%s on the token (set generate_key = \"true\" to create one)",
			ErrKeyNotFound, keyKind(w.cfg.mechanism), w.cfg.keyLabel, w.keyIDNote())
	}
	w.mech = mechs[0]
	if err := w.generateKey(s); err != nil {
		return err
	}
	_, err := w.findKey(s, keyRef{label: w.cfg.keyLabel, mech: w.mech})
	return err
}

func keyKind(mech uint) string {
	switch mech {
	case MechanismAESGCM:
		return "AES"
	case MechanismRSAOAEP:
		return "RSA"
	}
	return "AES or RSA"
}

func (w *Wrapper) keyIDNote() string {
	if len(w.cfg.keyID) == 0 {
		return ""
	}
	return fmt.Sprintf(" with key_id 0x%x", w.cfg.keyID)
}

// generateKey creates the seal key as Vault does: a token object, private,
// sensitive and not extractable, for encrypt/decrypt and wrap/unwrap;
// AES-256 for AES-GCM, RSA-2048 (e = 65537) for RSA-OAEP.
func (w *Wrapper) generateKey(s *session) error {
	id := w.cfg.keyID
	if len(id) == 0 {
		id = make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return fmt.Errorf("pkcs11 seal: key id: %w", err)
		}
	}
	common := func(class, keyType uint) []*p11.Attribute {
		return []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, class),
			p11.NewAttribute(p11.CKA_KEY_TYPE, keyType),
			p11.NewAttribute(p11.CKA_LABEL, w.cfg.keyLabel),
			p11.NewAttribute(p11.CKA_ID, id),
			p11.NewAttribute(p11.CKA_TOKEN, true),
		}
	}
	secret := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
		p11.NewAttribute(p11.CKA_DECRYPT, true),
		p11.NewAttribute(p11.CKA_UNWRAP, true),
	}
	ctx := w.mod.ctx
	switch w.mech {
	case MechanismAESGCM:
		t := append(common(p11.CKO_SECRET_KEY, p11.CKK_AES), secret...)
		t = append(t,
			p11.NewAttribute(p11.CKA_VALUE_LEN, 32),
			p11.NewAttribute(p11.CKA_ENCRYPT, true),
			p11.NewAttribute(p11.CKA_WRAP, true),
		)
		if _, err := ctx.GenerateKey(s.h, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_KEY_GEN, nil)}, t); err != nil {
			return fmt.Errorf("pkcs11 seal: generate AES-256 key %q: %w", w.cfg.keyLabel, err)
		}
	case MechanismRSAOAEP:
		pub := append(common(p11.CKO_PUBLIC_KEY, p11.CKK_RSA),
			p11.NewAttribute(p11.CKA_MODULUS_BITS, 2048),
			p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
			p11.NewAttribute(p11.CKA_ENCRYPT, true),
			p11.NewAttribute(p11.CKA_WRAP, true),
		)
		priv := append(common(p11.CKO_PRIVATE_KEY, p11.CKK_RSA), secret...)
		if _, _, err := ctx.GenerateKeyPair(s.h, []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)}, pub, priv); err != nil {
			return fmt.Errorf("pkcs11 seal: generate RSA-2048 key pair %q: %w", w.cfg.keyLabel, err)
		}
	}
	w.logger.Info("pkcs11 seal generated its key", "key_label", w.cfg.keyLabel,
		"key_type", keyKind(w.mech), "key_id", fmt.Sprintf("0x%x", id))
	return nil
}
