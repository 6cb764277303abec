package raft

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// version is a semantic version as automated upgrades compare them:
// "1.11.0", "v1.11.0-release.2", "1.11.0+build" (build metadata is ignored,
// a pre-release sorts before its release, as semver.org says).
type version struct {
	nums [3]uint64
	pre  []string
}

var errBadVersion = errors.New("not a semantic version (want MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD])")

// parseVersion parses s; a missing minor or patch number is 0.
func parseVersion(s string) (*version, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		if i == len(s)-1 {
			return nil, errBadVersion
		}
		s = s[:i]
	}
	core, pre, hasPre := strings.Cut(s, "-")
	parts := strings.Split(core, ".")
	if core == "" || len(parts) > 3 {
		return nil, errBadVersion
	}
	v := &version{}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: %q", errBadVersion, p)
		}
		v.nums[i] = n
	}
	if hasPre {
		if pre == "" {
			return nil, errBadVersion
		}
		v.pre = strings.Split(pre, ".")
		for _, id := range v.pre {
			if id == "" {
				return nil, errBadVersion
			}
		}
	}
	return v, nil
}

// compare returns -1, 0 or 1 as v is older than, equal to or newer than w.
func (v *version) compare(w *version) int {
	for i := range v.nums {
		switch {
		case v.nums[i] < w.nums[i]:
			return -1
		case v.nums[i] > w.nums[i]:
			return 1
		}
	}
	switch {
	case len(v.pre) == 0 && len(w.pre) == 0:
		return 0
	case len(v.pre) == 0:
		return 1 // a release is newer than its pre-releases
	case len(w.pre) == 0:
		return -1
	}
	for i := 0; i < len(v.pre) && i < len(w.pre); i++ {
		if c := comparePreID(v.pre[i], w.pre[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(v.pre) < len(w.pre):
		return -1
	case len(v.pre) > len(w.pre):
		return 1
	}
	return 0
}

// comparePreID orders pre-release identifiers: numbers numerically and
// before words, words by their bytes.
func comparePreID(a, b string) int {
	na, errA := strconv.ParseUint(a, 10, 64)
	nb, errB := strconv.ParseUint(b, 10, 64)
	switch {
	case errA == nil && errB == nil:
		switch {
		case na < nb:
			return -1
		case na > nb:
			return 1
		}
		return 0
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}
