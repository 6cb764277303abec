//go:build cgo

package pkcs11

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"

	p11 "github.com/miekg/pkcs11"

	"github.com/strongbox/strongbox/internal/seal"
)

const (
	gcmIVSize  = 12
	gcmTagBits = 128
)

// encrypt runs one encryption on s. For AES-GCM it draws the IV (96 bits)
// and returns the one the HSM used: some choose their own and write it back.
func (w *Wrapper) encrypt(s *session, mech uint, kh keyHandles, plaintext []byte) (ct, iv []byte, err error) {
	m := w.oaepMechanism()
	var params *p11.GCMParams
	if mech == MechanismAESGCM {
		iv = make([]byte, gcmIVSize)
		if _, err := rand.Read(iv); err != nil {
			return nil, nil, fmt.Errorf("pkcs11 seal: IV: %w", err)
		}
		params = p11.NewGCMParams(iv, nil, gcmTagBits)
		defer params.Free()
		m = p11.NewMechanism(p11.CKM_AES_GCM, params)
	}
	if err := w.mod.ctx.EncryptInit(s.h, []*p11.Mechanism{m}, kh.enc); err != nil {
		return nil, nil, fmt.Errorf("pkcs11 seal: encrypt init: %w", err)
	}
	if ct, err = w.mod.ctx.Encrypt(s.h, plaintext); err != nil {
		return nil, nil, fmt.Errorf("pkcs11 seal: encrypt: %w", err)
	}
	if used := params.IV(); len(used) > 0 {
		iv = used
	}
	return ct, iv, nil
}

// decrypt runs one decryption on s and sorts its failures: input the key
// did not produce is seal.ErrInvalidKey, anything else is HSM trouble the
// caller may retry.
func (w *Wrapper) decrypt(s *session, ref keyRef, kh keyHandles, iv, ct []byte) ([]byte, error) {
	pt, err := w.decryptRaw(s, ref.mech, kh, iv, ct)
	if err == nil {
		return pt, nil
	}
	var e p11.Error
	switch {
	case errors.Is(err, errWrongKeyType), badCiphertext(err):
		return nil, fmt.Errorf("%w: %w", seal.ErrInvalidKey, err)
	case errors.As(err, &e) && e == p11.CKR_GENERAL_ERROR && errors.Is(err, errDecryptFailed):
		// SoftHSM2 and others report a failed GCM tag or OAEP padding
		// check as CKR_GENERAL_ERROR, which a failing HSM reports too.
		// If the key still round-trips a fresh value, the HSM is fine and
		// the fault is the blob's.
		if w.probe(s, ref.mech, kh) == nil {
			return nil, fmt.Errorf("%w: %w", seal.ErrInvalidKey, err)
		}
	}
	return nil, err
}

var (
	errWrongKeyType  = errors.New("the key cannot decrypt with this mechanism")
	errDecryptFailed = errors.New("decrypt")
)

func (w *Wrapper) decryptRaw(s *session, mech uint, kh keyHandles, iv, ct []byte) ([]byte, error) {
	m := w.oaepMechanism()
	if mech == MechanismAESGCM {
		params := p11.NewGCMParams(iv, nil, gcmTagBits)
		defer params.Free()
		m = p11.NewMechanism(p11.CKM_AES_GCM, params)
	}
	if err := w.mod.ctx.DecryptInit(s.h, []*p11.Mechanism{m}, kh.dec); err != nil {
		if wrongKey(err) {
			return nil, fmt.Errorf("pkcs11 seal: decrypt init: %w: %w", errWrongKeyType, err)
		}
		return nil, fmt.Errorf("pkcs11 seal: decrypt init: %w", err)
	}
	pt, err := w.mod.ctx.Decrypt(s.h, ct)
	if err != nil {
		return nil, fmt.Errorf("pkcs11 seal: %w: %w", errDecryptFailed, err)
	}
	return pt, nil
}

// probe checks that the key still encrypts and decrypts a fresh value on s.
func (w *Wrapper) probe(s *session, mech uint, kh keyHandles) error {
	want := make([]byte, 32)
	if _, err := rand.Read(want); err != nil {
		return err
	}
	ct, iv, err := w.encrypt(s, mech, kh, want)
	if err != nil {
		return err
	}
	got, err := w.decryptRaw(s, mech, kh, iv, ct)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return errors.New("pkcs11 seal: probe decrypted to other bytes")
	}
	return nil
}

func (w *Wrapper) oaepMechanism() *p11.Mechanism {
	h := w.cfg.oaepHash
	return p11.NewMechanism(p11.CKM_RSA_PKCS_OAEP, p11.NewOAEPParams(h.hash, h.mgf, p11.CKZ_DATA_SPECIFIED, nil))
}
