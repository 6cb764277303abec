// Package hostinfo reads the host's facts sys/host-info reports (CPU,
// memory, the root disk, the kernel and uptime) from Linux's /proc and
// statfs, in the field names Vault's answer carries. Core serves it.
package hostinfo
