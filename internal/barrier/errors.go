package barrier

import "errors"

var (
	// ErrSealed is returned by every data method, and by Rotate, KeyStatus
	// and RootKey, while the barrier is sealed.
	ErrSealed = errors.New("barrier is sealed")
	// ErrNotInitialized is returned by Unseal when storage holds no keyring.
	ErrNotInitialized = errors.New("barrier is not initialized")
	// ErrAlreadyInitialized is returned by Initialize when a keyring exists.
	ErrAlreadyInitialized = errors.New("barrier is already initialized")
	// ErrInvalidKey is returned when a root key is not 32 bytes or does not
	// decrypt the stored keyring.
	ErrInvalidKey = errors.New("invalid root key")
	// ErrDecrypt is returned, wrapped with the reason, when a stored value
	// fails authentication: tampered, truncated, moved to another path, or
	// sealed under a term the keyring does not hold. No plaintext is ever
	// returned alongside it.
	ErrDecrypt = errors.New("decryption failed")
	// ErrReservedKey is returned for reads and writes of the keyring's own
	// path through the barrier, which would otherwise let a caller overwrite
	// the keyring and lock everyone out.
	ErrReservedKey = errors.New("storage key is reserved for the barrier")
)
