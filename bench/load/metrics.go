package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// runMetrics measures the hot-path cost of telemetry: kv-v2 reads/s on
// file storage with go-metrics filtering every metric out (the nearest to
// "off": go-metrics, like Vault, always has a sink), with the default
// in-memory sink (no telemetry stanza), and with the Prometheus sink as
// well (prometheus_retention_time set, as Vault's dashboards need).
func runMetrics(dur time.Duration, dir string) error {
	ctx := context.Background()
	if dir == "" {
		tmp, err := os.MkdirTemp("", "strongbox-load-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	r := &report{}
	scenarios := []struct{ name, conf string }{
		{"metrics filtered out", "telemetry {\n  filter_default = false\n  prometheus_retention_time = \"0s\"\n}\n"},
		{"default (in-memory sink)", ""},
		{"in-memory + Prometheus sinks", "telemetry {\n  prometheus_retention_time = \"24h\"\n  disable_hostname = true\n}\n"},
	}
	for i, sc := range scenarios {
		d := filepath.Join(dir, fmt.Sprint(i))
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		nodeExtraConfig = sc.conf
		node, err := startNode(ctx, d)
		if err != nil {
			return err
		}
		if err := node.seed(ctx); err != nil {
			node.stop()
			return err
		}
		for _, c := range []int{1, 32} {
			r.add(fmt.Sprintf("kv-v2 read, %s c=%d", sc.name, c), load(ctx, c, dur, getter(node.url+"/v1/secret/data/bench/0", node.token)))
		}
		node.stop()
	}
	nodeExtraConfig = ""
	r.printRows(os.Stdout)
	fmt.Println()
	for _, c := range []int{1, 32} {
		base := fmt.Sprintf("kv-v2 read, metrics filtered out c=%d", c)
		fmt.Printf("c=%d default / filtered out:     %s\n", c, r.ratio(fmt.Sprintf("kv-v2 read, default (in-memory sink) c=%d", c), base))
		fmt.Printf("c=%d prometheus / filtered out:  %s\n", c, r.ratio(fmt.Sprintf("kv-v2 read, in-memory + Prometheus sinks c=%d", c), base))
	}
	return nil
}
