package agent

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeSink writes the token to the sink's file atomically (a temporary
// file in the same directory, then rename), so a reader never sees a
// partial token, and with the sink's mode whatever the umask.
func writeSink(s FileSink, token string) error {
	dir := filepath.Dir(s.Path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(s.Path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("sink %s: %w", s.Path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(os.FileMode(s.Mode)); err != nil {
		f.Close()
		return fmt.Errorf("sink %s: %w", s.Path, err)
	}
	if _, err := f.WriteString(token); err != nil {
		f.Close()
		return fmt.Errorf("sink %s: %w", s.Path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sink %s: %w", s.Path, err)
	}
	if err := os.Rename(tmp, s.Path); err != nil {
		return fmt.Errorf("sink %s: %w", s.Path, err)
	}
	return nil
}
