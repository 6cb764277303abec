package server

import "testing"

// BenchmarkWrappedRead: a KV read answered in the clear, wrapped (a token
// and two cubbyhole writes more), and wrapped then unwrapped by a third
// party, through the official client and the HTTP API.
func BenchmarkWrappedRead(b *testing.B) {
	s := startWrapServer(b)
	plain, wrapped := s.root, wrapping(b, s.root, "5m")
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			if _, err := plain.Logical().Read("secret/foo"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wrapped", func(b *testing.B) {
		for b.Loop() {
			if _, err := wrapped.Logical().Read("secret/foo"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wrap+unwrap", func(b *testing.B) {
		for b.Loop() {
			sec, err := wrapped.Logical().Read("secret/foo")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := plain.Logical().Unwrap(sec.WrapInfo.Token); err != nil {
				b.Fatal(err)
			}
		}
	})
}
