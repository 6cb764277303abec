//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"strings"

	p11 "github.com/miekg/pkcs11"
)

// session is one open, logged-in PKCS#11 session, used by one goroutine at
// a time. Object handles are cached per session: a handle is only
// guaranteed valid in the session that found it.
type session struct {
	h    p11.SessionHandle
	keys map[keyRef]keyHandles
}

// keyRef names a key as a blob does: its label and mechanism.
type keyRef struct {
	label string
	mech  uint
}

// keyHandles are the objects an operation uses: the AES key for both, or
// the RSA public key to encrypt and the private key to decrypt.
type keyHandles struct {
	enc, dec p11.ObjectHandle
}

// sessionLost reports errors after which the session (or the login, or the
// library) is gone and reopening it may succeed.
func sessionLost(err error) bool {
	var e p11.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e {
	case p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_CLOSED, p11.CKR_USER_NOT_LOGGED_IN,
		p11.CKR_DEVICE_REMOVED, p11.CKR_DEVICE_ERROR, p11.CKR_TOKEN_NOT_PRESENT,
		p11.CKR_TOKEN_NOT_RECOGNIZED, p11.CKR_OBJECT_HANDLE_INVALID, p11.CKR_KEY_HANDLE_INVALID,
		p11.CKR_CRYPTOKI_NOT_INITIALIZED, p11.CKR_OPERATION_ACTIVE:
		return true
	}
	return false
}

// badCiphertext reports the errors C_Decrypt gives for input the key did
// not produce (tampered, truncated, another key's).
func badCiphertext(err error) bool {
	var e p11.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e {
	case p11.CKR_ENCRYPTED_DATA_INVALID, p11.CKR_ENCRYPTED_DATA_LEN_RANGE,
		p11.CKR_DATA_INVALID, p11.CKR_DATA_LEN_RANGE:
		return true
	}
	return false
}

// wrongKey reports the errors C_DecryptInit gives when the key found cannot
// decrypt with the blob's mechanism. Other init errors (unsupported
// parameters) are configuration or HSM trouble, not a bad blob.
func wrongKey(err error) bool {
	var e p11.Error
	if !errors.As(err, &e) {
		return false
	}
	return e == p11.CKR_KEY_TYPE_INCONSISTENT || e == p11.CKR_KEY_FUNCTION_NOT_PERMITTED
}

// get takes an idle session or opens one, waiting while maxParallel are in
// use.
func (w *Wrapper) get(ctx context.Context) (*session, error) {
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("pkcs11 seal: waiting for a session: %w", ctx.Err())
	case <-w.done:
		return nil, errClosed
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.sem
		return nil, errClosed
	}
	if n := len(w.idle); n > 0 {
		s := w.idle[n-1]
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		return s, nil
	}
	w.mu.Unlock()
	s, err := w.open()
	if err != nil {
		<-w.sem
		return nil, err
	}
	return s, nil
}

// put returns a session to the pool, or closes it when it is broken.
func (w *Wrapper) put(s *session, broken bool) {
	w.mu.Lock()
	if broken || w.closed {
		w.mu.Unlock()
		_ = w.mod.ctx.CloseSession(s.h)
	} else {
		w.idle = append(w.idle, s)
		w.mu.Unlock()
	}
	<-w.sem
}

// withSession runs fn on a session. When the session turns out lost (the
// HSM restarted, dropped it, or logged us out) it reopens one, logging in
// again, and runs fn once more.
func (w *Wrapper) withSession(ctx context.Context, fn func(*session) error) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		s, err := w.get(ctx)
		if err != nil {
			if attempt == 0 && sessionLost(err) {
				w.logger.Warn("pkcs11 session could not be opened; retrying", "error", err)
				w.recover(err)
				continue
			}
			return err
		}
		err = fn(s)
		lost := sessionLost(err)
		w.put(s, lost)
		if !lost || attempt > 0 {
			return err
		}
		w.logger.Warn("pkcs11 session lost; reopening", "error", err)
		w.recover(err)
	}
}

// recover prepares for reopening after err: idle sessions opened before
// are likely dead too, and a finalized library must be initialized again.
func (w *Wrapper) recover(err error) {
	w.mu.Lock()
	idle := w.idle
	w.idle = nil
	w.mu.Unlock()
	for _, s := range idle {
		_ = w.mod.ctx.CloseSession(s.h)
	}
	if errors.Is(err, p11.Error(p11.CKR_CRYPTOKI_NOT_INITIALIZED)) {
		if rerr := w.mod.reinitialize(); rerr != nil {
			w.logger.Error("pkcs11 library reinitialization failed", "error", rerr)
		}
	}
}

// open opens a read-write session on the token and logs in. Login state is
// per token for the whole process, so CKR_USER_ALREADY_LOGGED_IN is fine.
func (w *Wrapper) open() (*session, error) {
	slot, err := w.findSlot()
	if err != nil {
		return nil, err
	}
	h, err := w.mod.ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return nil, fmt.Errorf("pkcs11 seal: open session on slot %d: %w", slot, err)
	}
	if err := w.mod.ctx.Login(h, p11.CKU_USER, w.cfg.pin); err != nil &&
		!errors.Is(err, p11.Error(p11.CKR_USER_ALREADY_LOGGED_IN)) {
		_ = w.mod.ctx.CloseSession(h)
		var hint string
		switch {
		case errors.Is(err, p11.Error(p11.CKR_PIN_INCORRECT)):
			hint = " (the PIN is wrong)"
		case errors.Is(err, p11.Error(p11.CKR_PIN_LOCKED)):
			hint = " (the PIN is locked)"
		case errors.Is(err, p11.Error(p11.CKR_PIN_EXPIRED)):
			hint = " (the PIN has expired)"
		case errors.Is(err, p11.Error(p11.CKR_PIN_INVALID)), errors.Is(err, p11.Error(p11.CKR_PIN_LEN_RANGE)):
			hint = " (the PIN is not valid for this token)"
		}
		if hint != "" {
			return nil, fmt.Errorf("pkcs11 seal: login to the token in slot %d failed%s: %w: %w", slot, hint, ErrLogin, err)
		}
		return nil, fmt.Errorf("pkcs11 seal: login to the token in slot %d failed: %w", slot, err)
	}
	return &session{h: h, keys: map[keyRef]keyHandles{}}, nil
}

// findSlot returns the configured slot, checking that it holds a token (with
// the configured label, when both are set), or the slot whose token has the
// configured label.
func (w *Wrapper) findSlot() (uint, error) {
	slots, err := w.mod.ctx.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("pkcs11 seal: list slots: %w", err)
	}
	var labels []string
	for _, s := range slots {
		if w.cfg.slot != nil && s != *w.cfg.slot {
			continue
		}
		ti, err := w.mod.ctx.GetTokenInfo(s)
		if err != nil {
			return 0, fmt.Errorf("pkcs11 seal: token info of slot %d: %w", s, err)
		}
		label := strings.TrimRight(ti.Label, " \x00")
		if w.cfg.tokenLabel == "" || label == w.cfg.tokenLabel {
			return s, nil
		}
		labels = append(labels, fmt.Sprintf("%d=%q", s, label))
	}
	switch {
	case w.cfg.slot != nil && w.cfg.tokenLabel != "" && len(labels) > 0:
		return 0, fmt.Errorf("pkcs11 seal: the token in slot %d is labelled %s, not %q", *w.cfg.slot, labels[0], w.cfg.tokenLabel)
	case w.cfg.slot != nil:
		return 0, fmt.Errorf("pkcs11 seal: no token present in slot %d", *w.cfg.slot)
	}
	return 0, fmt.Errorf("pkcs11 seal: no token labelled %q (tokens: %s)", w.cfg.tokenLabel, strings.Join(labels, ", "))
}
