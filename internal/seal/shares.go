package seal

import (
	"crypto/subtle"
	"errors"
	"strings"
)

// ContainsShare reports, in constant time per share, whether key is one of
// shares (a share entered twice during unseal or rekey counts once).
func ContainsShare(shares [][]byte, key []byte) bool {
	for _, s := range shares {
		if subtle.ConstantTimeCompare(s, key) == 1 {
			return true
		}
	}
	return false
}

// WipeShares zeroes every share in memory once it has served.
func WipeShares(shares [][]byte) {
	for _, s := range shares {
		clear(s)
	}
}

// ConfigMessage is err's message without the ErrInvalidConfig prefix, for
// a 400 that names only what the operator got wrong.
func ConfigMessage(err error) string {
	msg := err.Error()
	if errors.Is(err, ErrInvalidConfig) {
		msg = strings.TrimPrefix(msg, ErrInvalidConfig.Error()+": ")
	}
	return msg
}
