package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// result is one measurement.
type result struct {
	ops    int64
	errs   int64
	dur    time.Duration
	p50    time.Duration
	p99    time.Duration
	sample string
}

func (r result) rate() float64 { return float64(r.ops) / r.dur.Seconds() }

// op performs one request; it returns an error for a failed one.
type op func(ctx context.Context, client *http.Client, worker int, i int64) error

// load runs conc workers doing op for dur and returns the throughput.
func load(ctx context.Context, conc int, dur time.Duration, fn op) result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2, MaxIdleConns: conc * 2}}
	defer client.CloseIdleConnections()
	var ops, errs atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, conc)
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := int64(0); time.Now().Before(deadline); i++ {
				t0 := time.Now()
				if err := fn(ctx, client, w, i); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
				ops.Add(1)
			}
		}(w)
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r := result{ops: ops.Load(), errs: errs.Load(), dur: time.Since(start)}
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	if s, ok := firstErr.Load().(string); ok {
		r.sample = s
	}
	return r
}

func do(ctx context.Context, client *http.Client, method, url, token string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	return nil
}

func getter(url, token string) op {
	return func(ctx context.Context, c *http.Client, _ int, _ int64) error {
		return do(ctx, c, http.MethodGet, url, token, nil)
	}
}

// startTrivial serves a fixed JSON body the size of a KV read response.
func startTrivial() (*httptest.Server, error) {
	body := []byte(`{"request_id":"00000000-0000-0000-0000-000000000000","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":{"password":"value"},"metadata":{"version":1}},"wrap_info":null,"warnings":null,"auth":null,"mount_type":"kv"}`)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})), nil
}

// fsyncLoop writes 512 bytes and fsyncs, in a loop, in dir's file system.
func fsyncLoop(dir string, dur time.Duration) (result, error) {
	f, err := os.Create(filepath.Join(dir, "fsync-loop"))
	if err != nil {
		return result{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := bytes.Repeat([]byte("x"), 512)
	start := time.Now()
	var n int64
	for time.Since(start) < dur {
		if _, err := f.Write(buf); err != nil {
			return result{}, err
		}
		if err := f.Sync(); err != nil {
			return result{}, err
		}
		n++
	}
	return result{ops: n, dur: time.Since(start)}, nil
}

type report struct {
	rows  []string
	vals  map[string]result
	notes []string
}

func (r *report) add(name string, res result) {
	if r.vals == nil {
		r.vals = map[string]result{}
	}
	r.vals[name] = res
	r.rows = append(r.rows, name)
	fmt.Fprintf(os.Stderr, "%-45s %10.0f ops/s  errors %d\n", name, res.rate(), res.errs)
}

func (r *report) note(s string) { r.notes = append(r.notes, s) }

func (r *report) ratio(a, b string) string {
	x, y := r.vals[a], r.vals[b]
	if y.rate() == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", x.rate()/y.rate())
}

func (r *report) print(w io.Writer) {
	r.printRows(w)
	r.printKV(w)
}

// printRows writes the table of scenarios.
func (r *report) printRows(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tops/s\tp50\tp99\terrors")
	for _, name := range r.rows {
		v := r.vals[name]
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%d\n", name, v.rate(), v.p50.Round(time.Microsecond), v.p99.Round(time.Microsecond), v.errs)
		if v.sample != "" {
			fmt.Fprintf(tw, "  first error: %s\t\t\t\t\n", v.sample)
		}
	}
	tw.Flush()
}

// printKV writes the KV scenarios' ratios to their ceilings, and the notes.
func (r *report) printKV(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "kv-v2 read c=32 / trivial handler c=32:        %s (target >= 0.50)\n", r.ratio("kv-v2 read c=32", "ceiling: trivial JSON handler c=32"))
	fmt.Fprintf(w, "kv-v2 write c=32 / fsync loop:                 %s (target >= 5)\n", r.ratio("kv-v2 write (file) c=32", "ceiling: fsync-per-write loop c=1"))
	fmt.Fprintf(w, "kv-v2 read c=32 audit on / audit off:          %s (target >= 0.70)\n", r.ratio("kv-v2 read, file audit on c=32", "kv-v2 read c=32"))
	for _, n := range r.notes {
		fmt.Fprintln(w, n)
	}
}

func peakRSS() string {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}
