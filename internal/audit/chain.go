package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// Tamper evidence. Every JSON entry a device writes carries, as one extra
// field, the sequence number of the entry on that device and the SHA-256
// of the line before it:
//
//	{"time":...,"type":"request",...,"chain":{"seq":42,"prev":"<hex>"}}
//
// (the hash covers the line from its first "{", so a prefix or a syslog
// header is not part of it) so editing, removing, inserting or reordering lines breaks the links
// (VerifyChain). Every CheckpointEvery entries the field also carries
// "checkpoint": the HMAC, under the device's salt key, of
// "<seq>:<prev>" — what sys/audit-hash/<device> returns for that input —
// so a chain rebuilt by someone without the key is caught by comparing
// checkpoints with the server. Lines stay Vault-shaped entries: tools that
// parse Vault audit logs ignore the extra field.

// ChainField is the name of the extra field.
const ChainField = "chain"

// CheckpointEvery is how many entries separate two checkpoints.
const CheckpointEvery = 100

// Option of every device: "false" turns the chain field off.
const optTamperEvident = "tamper_evident"

// chain is one device's link state. Callers serialize seal with the
// writing of its output, so the order of links is the order of lines.
type chain struct {
	seq  uint64
	prev [sha256.Size]byte
	// first is true until an entry is sealed: a new chain's first prev is
	// empty.
	first bool
	// sign returns the checkpoint for input; nil when no key is available.
	sign func(input string) string
}

func newChain(sign func(string) string) *chain { return &chain{first: true, sign: sign} }

// ChainLink is the chain field of one entry.
type ChainLink struct {
	Seq        uint64 `json:"seq"`
	Prev       string `json:"prev"`
	Checkpoint string `json:"checkpoint,omitempty"`
}

// CheckpointInput is the string whose HMAC is a link's checkpoint.
func CheckpointInput(seq uint64, prev string) string {
	return strconv.FormatUint(seq, 10) + ":" + prev
}

// seal appends the chain field to line (a JSON object, optionally after a
// prefix, ending in "}\n") into dst and advances the chain. A line that is
// not such an object is returned as it is.
func (c *chain) seal(dst, line []byte) []byte {
	body := bytes.TrimRight(line, "\n")
	if len(body) == 0 || body[len(body)-1] != '}' {
		return append(dst, line...)
	}
	c.seq++
	prev := ""
	if !c.first {
		prev = hex.EncodeToString(c.prev[:])
	}
	start := len(dst)
	dst = append(dst, body[:len(body)-1]...)
	dst = append(dst, `,"`+ChainField+`":{"seq":`...)
	dst = strconv.AppendUint(dst, c.seq, 10)
	dst = append(dst, `,"prev":"`...)
	dst = append(dst, prev...)
	dst = append(dst, '"')
	if c.sign != nil && c.seq%CheckpointEvery == 0 {
		dst = append(dst, `,"checkpoint":"`...)
		dst = append(dst, c.sign(CheckpointInput(c.seq, prev))...)
		dst = append(dst, '"')
	}
	dst = append(dst, "}}"...)
	c.prev = linkHash(dst[start:])
	c.first = false
	return append(dst, '\n')
}

// resume continues the chain of the last line of an existing file, so a
// restarted server extends the file's chain rather than starting one.
func (c *chain) resume(path string) {
	last, err := lastLine(path)
	if err != nil || len(last) == 0 {
		return
	}
	link, ok := parseLink(last)
	if !ok {
		return
	}
	c.seq, c.prev, c.first = link.Seq, linkHash(last), false
}

// lastLine returns the last complete line of the file (without "\n"),
// reading at most 4 MiB from its end.
func lastLine(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, err
	}
	size := fi.Size()
	n := min(size, 4<<20)
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	buf = bytes.TrimRight(buf, "\n")
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		return buf[i+1:], nil
	}
	if n < size {
		return nil, nil // the last line is longer than we read
	}
	return buf, nil
}

// linkHash is the hash a line's successor records: SHA-256 of the line
// from its first "{" on, so a prefix or a syslog header (added by the
// syslog daemon, not by us) does not change it.
func linkHash(line []byte) [sha256.Size]byte {
	if i := bytes.IndexByte(line, '{'); i > 0 {
		line = line[i:]
	}
	return sha256.Sum256(line)
}

// parseLink extracts the chain field of a line (after any prefix).
func parseLink(line []byte) (ChainLink, bool) {
	i := bytes.IndexByte(line, '{')
	if i < 0 {
		return ChainLink{}, false
	}
	var e struct {
		Chain *ChainLink `json:"chain"`
	}
	if err := json.Unmarshal(line[i:], &e); err != nil || e.Chain == nil {
		return ChainLink{}, false
	}
	return *e.Chain, true
}

// ErrChainBroken is returned by VerifyChain for a log whose links do not
// hold.
var ErrChainBroken = errors.New("audit log chain broken")

// ChainReport is what VerifyChain found.
type ChainReport struct {
	// Entries is the number of lines checked; Checkpoints the links
	// carrying a checkpoint.
	Entries, Checkpoints int
	// Restarts lists the lines where a new chain begins (a device
	// re-enabled, or a file whose last line could not be read).
	Restarts []int
	// Line is the first bad line (1-based), 0 when the chain holds.
	Line int
	// Problem says what is wrong at Line.
	Problem string
}

// CheckpointFunc checks a checkpoint found on a line, e.g. against
// sys/audit-hash; it returns an error when it does not match.
type CheckpointFunc func(link ChainLink) error

// VerifyChain reads a device's log and checks every link. It stops at the
// first problem and returns the report with an error wrapping
// ErrChainBroken. check, when not nil, is called for every checkpoint.
// The first line's prev is taken on trust (the log may start after a
// rotation); removing lines at the very end is seen only by checkpoints.
func VerifyChain(r io.Reader, check CheckpointFunc) (ChainReport, error) {
	var rep ChainReport
	lines, err := readLines(r)
	if err != nil {
		return rep, err
	}
	fail := func(line int, format string, args ...any) (ChainReport, error) {
		rep.Line, rep.Problem = line, fmt.Sprintf(format, args...)
		return rep, fmt.Errorf("%w: line %d: %s", ErrChainBroken, line, rep.Problem)
	}
	links := make([]ChainLink, len(lines))
	for i, l := range lines {
		link, ok := parseLink(l)
		if !ok {
			return fail(i+1, "inserted: the line carries no chain link")
		}
		links[i] = link
	}
	for i := range lines {
		rep.Entries++
		n, link := i+1, links[i]
		if i > 0 {
			prevLink := links[i-1]
			want := prevLink.Seq + 1
			switch {
			case link.Seq == 1 && link.Prev == "":
				rep.Restarts = append(rep.Restarts, n)
			case link.Seq == want:
				h := linkHash(lines[i-1])
				if link.Prev != hex.EncodeToString(h[:]) {
					return fail(n-1, "edited: the line's hash is not the one line %d records", n)
				}
			case link.Seq > want && i+1 < len(links) && links[i+1].Seq == want:
				return fail(n, "reordered: entry %d comes before entry %d", link.Seq, want)
			case link.Seq > want:
				return fail(n, "removed: entries %d to %d are missing before this line", want, link.Seq-1)
			default:
				return fail(n, "inserted or reordered: entry %d follows entry %d", link.Seq, prevLink.Seq)
			}
		}
		if link.Checkpoint != "" {
			rep.Checkpoints++
			if check != nil {
				if err := check(link); err != nil {
					return fail(n, "checkpoint does not match: %v", err)
				}
			}
		}
	}
	return rep, nil
}

// readLines splits r into lines without their "\n", keeping long lines.
func readLines(r io.Reader) ([][]byte, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("audit: read log: %w", err)
	}
	data = bytes.TrimRight(data, "\n")
	if len(data) == 0 {
		return nil, nil
	}
	return bytes.Split(data, []byte("\n")), nil
}
