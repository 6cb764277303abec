package hostinfo

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Collect gathers the facts, as sys/host-info's data: cpu, cpu_times,
// disk, host, memory, timestamp. A fact that cannot be read is left out
// and its error returned beside what could be read, as Vault returns
// partial host info with warnings.
func Collect() (map[string]any, []error) {
	var errs []error
	out := map[string]any{"timestamp": time.Now().UTC().Format(time.RFC3339Nano)}
	if v, err := cpus(); err == nil {
		out["cpu"] = v
	} else {
		errs = append(errs, err)
	}
	if v, err := cpuTimes(); err == nil {
		out["cpu_times"] = v
	} else {
		errs = append(errs, err)
	}
	if v, err := disk("/"); err == nil {
		out["disk"] = []any{v}
	} else {
		errs = append(errs, err)
	}
	if v, err := host(); err == nil {
		out["host"] = v
	} else {
		errs = append(errs, err)
	}
	if v, err := memory(); err == nil {
		out["memory"] = v
	} else {
		errs = append(errs, err)
	}
	return out, errs
}

func cpus() ([]any, error) {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return nil, fmt.Errorf("cpu: %w", err)
	}
	defer f.Close()
	var out []any
	var cur map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			n, _ := strconv.Atoi(v)
			cur = map[string]any{"cpu": n, "cores": 1}
			out = append(out, cur)
		case "vendor_id":
			set(cur, "vendorId", v)
		case "cpu family":
			set(cur, "family", v)
		case "model":
			set(cur, "model", v)
		case "model name":
			set(cur, "modelName", v)
		case "stepping":
			set(cur, "stepping", atoi(v))
		case "physical id":
			set(cur, "physicalId", v)
		case "core id":
			set(cur, "coreId", v)
		case "cpu MHz":
			mhz, _ := strconv.ParseFloat(v, 64)
			set(cur, "mhz", mhz)
		case "cache size":
			set(cur, "cacheSize", atoi(strings.TrimSuffix(v, " KB")))
		case "flags":
			set(cur, "flags", strings.Fields(v))
		case "microcode":
			set(cur, "microcode", v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cpu: %w", err)
	}
	return out, nil
}

func set(m map[string]any, k string, v any) {
	if m != nil {
		m[k] = v
	}
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}

// cpuTimes reads the aggregate "cpu" line of /proc/stat, in seconds.
func cpuTimes() ([]any, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, fmt.Errorf("cpu_times: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || f[0] != "cpu" {
			continue
		}
		const hz = 100.0 // USER_HZ on Linux
		names := []string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guestNice"}
		t := map[string]any{"cpu": "cpu-total"}
		for i, n := range names {
			if i+1 < len(f) {
				v, _ := strconv.ParseFloat(f[i+1], 64)
				t[n] = v / hz
			}
		}
		return []any{t}, nil
	}
	return nil, fmt.Errorf("cpu_times: no cpu line in /proc/stat")
}

func disk(path string) (map[string]any, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	bs := uint64(st.Bsize)
	total, free := st.Blocks*bs, st.Bavail*bs
	used := total - st.Bfree*bs
	pct := 0.0
	if used+free > 0 {
		pct = float64(used) / float64(used+free) * 100
	}
	ipct := 0.0
	if st.Files > 0 {
		ipct = float64(st.Files-st.Ffree) / float64(st.Files) * 100
	}
	return map[string]any{
		"path": path, "total": total, "free": free, "used": used, "usedPercent": pct,
		"inodesTotal": st.Files, "inodesFree": st.Ffree, "inodesUsed": st.Files - st.Ffree, "inodesUsedPercent": ipct,
	}, nil
}

func host() (map[string]any, error) {
	name, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return nil, fmt.Errorf("host: empty /proc/uptime")
	}
	up, _ := strconv.ParseFloat(f[0], 64)
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	hostID, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	procs := 0
	if ents, err := os.ReadDir("/proc"); err == nil {
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err == nil {
				procs++
			}
		}
	}
	platform, version := osRelease()
	return map[string]any{
		"hostname":        name,
		"uptime":          uint64(up),
		"bootTime":        uint64(time.Now().Unix()) - uint64(up),
		"procs":           procs,
		"os":              runtime.GOOS,
		"platform":        platform,
		"platformVersion": version,
		"kernelVersion":   strings.TrimSpace(string(kernel)),
		"kernelArch":      runtime.GOARCH,
		"hostId":          strings.TrimSpace(string(hostID)),
	}, nil
}

// osRelease is /etc/os-release's ID and VERSION_ID.
func osRelease() (id, version string) {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "", ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"`)
		switch k {
		case "ID":
			id = v
		case "VERSION_ID":
			version = v
		}
	}
	return id, version
}

// memory reads /proc/meminfo, in bytes.
func memory() (map[string]any, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	kv := map[string]uint64{}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		kv[k] = n * 1024
	}
	total, avail := kv["MemTotal"], kv["MemAvailable"]
	if total == 0 {
		return nil, fmt.Errorf("memory: no MemTotal in /proc/meminfo")
	}
	used := total - kv["MemFree"] - kv["Buffers"] - kv["Cached"] - kv["SReclaimable"]
	return map[string]any{
		"total": total, "available": avail, "used": used, "free": kv["MemFree"],
		"usedPercent": float64(used) / float64(total) * 100,
		"buffers":     kv["Buffers"], "cached": kv["Cached"],
		"swapTotal": kv["SwapTotal"], "swapFree": kv["SwapFree"],
	}, nil
}
