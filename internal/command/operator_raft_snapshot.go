package command

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
	"github.com/strongbox/strongbox/internal/snapshot"
)

func newOperatorRaftSnapshotCommand(a *app) *cobra.Command {
	return newGroup("snapshot", "Restores and saves snapshots from the Raft cluster",
		`Groups subcommands that save a snapshot of the Raft cluster's data to a file,
restore one, and inspect a snapshot file offline.`,
		newOperatorRaftSnapshotSaveCommand(a),
		newOperatorRaftSnapshotRestoreCommand(a),
		newOperatorRaftSnapshotInspectCommand(a),
	)
}

func newOperatorRaftSnapshotSaveCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "save [options] FILE",
		Short: "Saves a snapshot of the current state of the Raft cluster into a file",
		Long: `Saves a snapshot of the current state of the Raft cluster into FILE. The data
in it stays encrypted by the cluster's barrier. The file appears only once the
whole snapshot is written (it is written to a temporary file in the same
directory and renamed), so an interrupted save never leaves a partial FILE.`,
		Example: "$ strongbox operator raft snapshot save raft.snap",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			path := args[0]
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			dir, base := filepath.Split(path)
			if dir == "" {
				dir = "."
			}
			f, err := os.CreateTemp(dir, "."+base+".tmp-*")
			if err != nil {
				return localError(err, "Error creating snapshot file")
			}
			done := false
			defer func() {
				if !done {
					_ = f.Close()
					_ = os.Remove(f.Name())
				}
			}()
			if err := client.Sys().RaftSnapshotWithContext(a.ctx, f); err != nil {
				return apiError(err, "Error taking the snapshot")
			}
			if err := f.Sync(); err != nil {
				return localError(err, "Error writing snapshot file")
			}
			if err := f.Close(); err != nil {
				return localError(err, "Error writing snapshot file")
			}
			if err := os.Rename(f.Name(), path); err != nil {
				return localError(err, "Error writing snapshot file")
			}
			done = true
			// The rename is durable once the directory is.
			if d, err := os.Open(dir); err == nil {
				_ = d.Sync()
				_ = d.Close()
			}
			return nil
		},
	}
}

func newOperatorRaftSnapshotRestoreCommand(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "restore [options] FILE",
		Short: "Installs the provided snapshot, returning the cluster to the state defined in it",
		Long: `Installs the snapshot in FILE, returning the whole cluster (every node) to the
state it holds. The file is streamed to the server, which verifies it before
changing anything: a truncated or corrupted file is refused, and so is a
snapshot taken by another cluster unless -force is given. After a forced
restore of another cluster's snapshot the nodes seal themselves; unseal them
with that cluster's unseal keys.`,
		Example: `$ strongbox operator raft snapshot restore raft.snap
$ strongbox operator raft snapshot restore -force other-cluster.snap`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return localError(err, "Error opening snapshot file")
			}
			defer f.Close()
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if err := client.Sys().RaftSnapshotRestoreWithContext(a.ctx, f, force); err != nil {
				return apiError(err, "Error installing the snapshot")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "Install the snapshot even if it was taken by another cluster (other unseal keys).")
	return cmd
}

// inspectOutput is `inspect -format=json`, in the shape Vault prints.
type inspectOutput struct {
	Meta         inspectMeta    `json:"Meta"`
	StatsKV      []inspectStats `json:"StatsKV"`
	TotalCountKV int            `json:"TotalCountKV"`
	TotalSizeKV  int            `json:"TotalSizeKV"`
}

type inspectMeta struct {
	ID      string `json:"ID"`
	Size    int64  `json:"Size"`
	Index   uint64 `json:"Index"`
	Term    uint64 `json:"Term"`
	Version int    `json:"Version"`
}

type inspectStats struct {
	Name  string `json:"Name"`
	Count int    `json:"Count"`
	Size  int    `json:"Size"`
}

func newOperatorRaftSnapshotInspectCommand(a *app) *cobra.Command {
	var details bool
	var depth int
	var filter string
	cmd := &cobra.Command{
		Use:   "inspect [options] FILE",
		Short: "Inspects a snapshot file",
		Long: `Inspects a snapshot file offline: no server, token or key is needed, and
nothing is decrypted. It checks the file's integrity and prints its raft index
and term, its size, and how many keys the data holds under each key prefix.`,
		Example: `$ strongbox operator raft snapshot inspect raft.snap
$ strongbox operator raft snapshot inspect -depth=1 -format=json raft.snap`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			if depth < 0 {
				return usageErrorf("Depth must be equal to or greater than 0")
			}
			f, err := os.Open(args[0])
			if err != nil {
				return localError(err, "Error opening snapshot file")
			}
			defer f.Close()
			info, err := snapshot.Inspect(a.ctx, f, snapshot.InspectOptions{Depth: depth, Filter: filter})
			if err != nil {
				return localError(err, "Error reading snapshot")
			}
			out := inspectOutput{
				Meta: inspectMeta{ID: info.Meta.ID, Size: info.Meta.Size, Index: info.Meta.Index,
					Term: info.Meta.Term, Version: info.Meta.Version},
				StatsKV: []inspectStats{}, TotalCountKV: info.TotalCount, TotalSizeKV: info.TotalSize,
			}
			if details {
				for _, s := range info.Stats {
					out.StatsKV = append(out.StatsKV, inspectStats(s))
				}
			}
			if !a.isTable() {
				return a.outputData(out)
			}
			a.info("%s", inspectTable(out, details))
			return nil
		},
	}
	cmd.Flags().BoolVar(&details, "details", true, "Count the keys in the snapshot by prefix.")
	cmd.Flags().IntVar(&depth, "depth", 2, "With -details, how many key path segments group the counts (0: whole keys).")
	cmd.Flags().StringVar(&filter, "filter", "", "With -details, count only keys starting with this prefix.")
	return cmd
}

// inspectTable is inspect's table output, laid out as Vault's.
func inspectTable(out inspectOutput, details bool) string {
	var b strings.Builder
	b.WriteString(format.Columns([][]string{
		{"ID", out.Meta.ID},
		{"Size", strconv.FormatInt(out.Meta.Size, 10)},
		{"Index", strconv.FormatUint(out.Meta.Index, 10)},
		{"Term", strconv.FormatUint(out.Meta.Term, 10)},
		{"Version", strconv.Itoa(out.Meta.Version)},
	}))
	if !details {
		return b.String()
	}
	rows := [][]string{{"Key Name", "Count", "Size"}}
	for _, s := range out.StatsKV {
		rows = append(rows, []string{s.Name, strconv.Itoa(s.Count), byteSize(int64(s.Size))})
	}
	rows = append(rows, []string{"Total", strconv.Itoa(out.TotalCountKV), byteSize(int64(out.TotalSizeKV))})
	b.WriteString("\n\n")
	b.WriteString(format.Table(rows))
	return b.String()
}

// byteSize prints a size in binary units: 0, 512B, 1.5KB, 20MB.
func byteSize(n int64) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	if n == 0 {
		return "0"
	}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + units[i]
}
