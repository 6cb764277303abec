package snapshot

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/physical/raft"
)

// FormatVersion is the version of the archive layout Write produces.
const FormatVersion = 1

// Names of the files in the archive.
const (
	fileMeta   = "meta.json"
	fileState  = "state.bin"
	fileSums   = "SHA256SUMS"
	fileSealed = "SHA256SUMS.sealed"
)

// Bounds on the small files, so a hostile archive cannot make Read buffer
// much.
const (
	maxMetaSize   = 64 << 10
	maxSumsSize   = 4 << 10
	maxSealedSize = 4 << 10
)

var (
	// ErrInvalid: the snapshot is damaged (truncated, corrupted) or is not
	// a Strongbox snapshot at all.
	ErrInvalid = errors.New("invalid snapshot")
	// ErrKeyMismatch: the snapshot is intact but was not taken by the
	// cluster whose key verified it (another cluster, another keyring).
	ErrKeyMismatch = errors.New("snapshot was taken by another cluster")
)

// Meta describes a snapshot; it is the archive's meta.json.
type Meta struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	// Index and Term are the last raft log entry the data reflects.
	Index uint64 `json:"index"`
	Term  uint64 `json:"term"`
	// Size is the length of state.bin, the raft snapshot stream.
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"`
	ClusterID string    `json:"cluster_id,omitempty"`
	// KeyID names the snapshot Key that sealed the checksums.
	KeyID string `json:"key_id,omitempty"`
}

// Write streams a snapshot archive to w. produce writes the raft snapshot
// stream (raft.Backend.Snapshot) to the writer it is given; it runs in its
// own goroutine and Write returns only after it has. meta supplies the
// cluster ID; Write fills in the rest from the stream and returns it. key
// seals the checksums. Nothing is written to w before produce has written
// the stream's header, so an error from produce that comes first (not the
// leader, sealed) leaves w untouched.
func Write(ctx context.Context, w io.Writer, meta Meta, key *Key, produce func(io.Writer) error) (Meta, error) {
	if key == nil {
		return meta, errors.New("snapshot: write: no snapshot key")
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := produce(pw)
		_ = pw.CloseWithError(err)
		done <- err
	}()
	meta, err := writeArchive(ctx, w, pr, meta, key)
	// Unblock the producer if the archive stopped early, then take its
	// error: it says why the stream ended, which is the better message.
	_ = pr.CloseWithError(errWriteAborted)
	if perr := <-done; perr != nil && !errors.Is(perr, errWriteAborted) {
		return meta, fmt.Errorf("snapshot: %w", perr)
	}
	if err != nil {
		return meta, fmt.Errorf("snapshot: write: %w", err)
	}
	return meta, nil
}

var errWriteAborted = errors.New("snapshot archive aborted")

func writeArchive(ctx context.Context, w io.Writer, stream io.Reader, meta Meta, key *Key) (Meta, error) {
	head := make([]byte, raft.SnapshotHeaderSize)
	if _, err := io.ReadFull(stream, head); err != nil {
		return meta, fmt.Errorf("read raft snapshot header: %w", err)
	}
	info, err := raft.ReadSnapshotInfo(bytes.NewReader(head))
	if err != nil {
		return meta, err
	}
	if meta.CreatedAt.IsZero() {
		meta.CreatedAt = time.Now().UTC()
	}
	meta.Version = FormatVersion
	meta.Index, meta.Term, meta.Size = info.Index, info.Term, info.StreamSize()
	meta.ID = fmt.Sprintf("%d-%d-%d", info.Term, info.Index, meta.CreatedAt.UnixMilli())
	meta.KeyID = key.ID
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return meta, err
	}

	gz, err := gzip.NewWriterLevel(ctxWriter{ctx, w}, gzip.BestSpeed)
	if err != nil {
		return meta, err
	}
	tw := tar.NewWriter(gz)
	sums := newHashList()
	if err := writeTarFile(tw, fileMeta, meta.CreatedAt, bytes.NewReader(metaJSON), int64(len(metaJSON)), sums.add(fileMeta)); err != nil {
		return meta, err
	}
	body := io.MultiReader(bytes.NewReader(head), stream)
	if err := writeTarFile(tw, fileState, meta.CreatedAt, body, meta.Size, sums.add(fileState)); err != nil {
		return meta, err
	}
	// The producer must have ended exactly at the stream's end.
	var extra [1]byte
	if n, _ := io.ReadFull(stream, extra[:]); n != 0 {
		return meta, errors.New("raft snapshot stream longer than its header says")
	}
	sumsText := sums.encode()
	if err := writeTarFile(tw, fileSums, meta.CreatedAt, bytes.NewReader(sumsText), int64(len(sumsText)), nil); err != nil {
		return meta, err
	}
	sealed := key.seal(sumsText)
	if err := writeTarFile(tw, fileSealed, meta.CreatedAt, bytes.NewReader(sealed), int64(len(sealed)), nil); err != nil {
		return meta, err
	}
	if err := tw.Close(); err != nil {
		return meta, err
	}
	return meta, gz.Close()
}

func writeTarFile(tw *tar.Writer, name string, mod time.Time, r io.Reader, size int64, h hash.Hash) error {
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: mod, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	dst := io.Writer(tw)
	if h != nil {
		dst = io.MultiWriter(tw, h)
	}
	n, err := io.CopyN(dst, r, size)
	if err != nil {
		return fmt.Errorf("%s: wrote %d of %d bytes: %w", name, n, size, err)
	}
	return nil
}

// Archive is a snapshot read by Read: its description and its checksums.
type Archive struct {
	Meta Meta
	// sums is SHA256SUMS as read; sealed is SHA256SUMS.sealed.
	sums, sealed []byte
}

// Read reads a snapshot archive from r, copying its raft stream (state.bin)
// to state as it goes, and checks its integrity: gzip and tar framing,
// every file present exactly once, SHA256SUMS matching what was read. Any
// damage returns an error wrapping ErrInvalid. It does not check who took
// the snapshot: Verify does, with a cluster's Key. state may have received
// bytes even when Read fails; the caller discards them.
func Read(r io.Reader, state io.Writer) (*Archive, error) {
	a, err := readArchive(r, state)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return a, nil
}

func readArchive(r io.Reader, state io.Writer) (*Archive, error) {
	gz, err := gzip.NewReader(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("not a gzip stream: %w", err)
	}
	defer func() { _ = gz.Close() }()
	tr := tar.NewReader(gz)
	a := &Archive{}
	sums := newHashList()
	seen := map[string]bool{}
	var metaJSON []byte
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading archive: %w", err)
		}
		if seen[hdr.Name] {
			return nil, fmt.Errorf("file %q appears twice", hdr.Name)
		}
		seen[hdr.Name] = true
		switch hdr.Name {
		case fileMeta:
			if metaJSON, err = readSmall(tr, hdr, maxMetaSize, sums.add(fileMeta)); err != nil {
				return nil, err
			}
		case fileState:
			n, err := io.Copy(io.MultiWriter(state, sums.add(fileState)), tr)
			if err != nil {
				return nil, fmt.Errorf("%s: truncated after %d of %d bytes: %w", fileState, n, hdr.Size, err)
			}
		case fileSums:
			if a.sums, err = readSmall(tr, hdr, maxSumsSize, nil); err != nil {
				return nil, err
			}
		case fileSealed:
			if a.sealed, err = readSmall(tr, hdr, maxSealedSize, nil); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unexpected file %q", hdr.Name)
		}
	}
	// The gzip trailer (CRC, length) is checked only at its EOF.
	if n, err := io.Copy(io.Discard, gz); err != nil || n != 0 {
		return nil, fmt.Errorf("gzip stream: %d stray bytes after the archive: %v", n, err)
	}
	for _, name := range []string{fileMeta, fileState, fileSums, fileSealed} {
		if !seen[name] {
			return nil, fmt.Errorf("file %s missing (truncated archive?)", name)
		}
	}
	if err := sums.verify(a.sums); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(metaJSON, &a.Meta); err != nil {
		return nil, fmt.Errorf("%s: %w", fileMeta, err)
	}
	if a.Meta.Version != FormatVersion {
		return nil, fmt.Errorf("unsupported snapshot format version %d", a.Meta.Version)
	}
	if a.Meta.Size != sums.size(fileState) {
		return nil, fmt.Errorf("%s is %d bytes, %s says %d", fileState, sums.size(fileState), fileMeta, a.Meta.Size)
	}
	return a, nil
}

func readSmall(r io.Reader, hdr *tar.Header, limit int64, h hash.Hash) ([]byte, error) {
	if hdr.Size > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed", hdr.Name, hdr.Size, limit)
	}
	b, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", hdr.Name, err)
	}
	if h != nil {
		h.Write(b)
	}
	return b, nil
}

// hashList is the SHA-256 of each file, as SHA256SUMS lists them.
type hashList struct {
	names  []string
	hashes map[string]*countingHash
}

type countingHash struct {
	hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.Hash.Write(p)
}

func newHashList() *hashList { return &hashList{hashes: map[string]*countingHash{}} }

func (l *hashList) add(name string) hash.Hash {
	h := &countingHash{Hash: sha256.New()}
	l.names = append(l.names, name)
	l.hashes[name] = h
	return h
}

func (l *hashList) size(name string) int64 {
	if h := l.hashes[name]; h != nil {
		return h.n
	}
	return -1
}

func (l *hashList) encode() []byte {
	var b bytes.Buffer
	for _, name := range l.names {
		fmt.Fprintf(&b, "%x  %s\n", l.hashes[name].Sum(nil), name)
	}
	return b.Bytes()
}

// verify checks a SHA256SUMS text against the hashes computed: every file
// listed once, every computed file listed, every sum equal.
func (l *hashList) verify(text []byte) error {
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimRight(string(text), "\n"), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		want, err := hex.DecodeString(sum)
		if !ok || err != nil || len(want) != sha256.Size {
			return fmt.Errorf("%s: malformed line %q", fileSums, line)
		}
		h := l.hashes[name]
		if h == nil || listed[name] {
			return fmt.Errorf("%s: unexpected entry %q", fileSums, name)
		}
		listed[name] = true
		if !bytes.Equal(h.Sum(nil), want) {
			return fmt.Errorf("checksum mismatch for %s (corrupted or truncated file)", name)
		}
	}
	for _, name := range l.names {
		if !listed[name] {
			return fmt.Errorf("%s: no checksum for %s", fileSums, name)
		}
	}
	return nil
}

// ctxWriter fails writes once ctx is done, so a long stream stops early.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
