package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/user"
	"strconv"

	proxyproto "github.com/pires/go-proxyproto"

	"github.com/strongbox/strongbox/internal/config"
	apihttp "github.com/strongbox/strongbox/internal/http"
)

// openSocket binds a tcp address or a unix socket path.
func openSocket(l *config.Listener) (net.Listener, error) {
	if l.Type != "unix" {
		ln, err := net.Listen("tcp", l.Address)
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", l.Address, err)
		}
		return ln, nil
	}
	// A socket left by a process that died is in the way; anything else at
	// that path is not ours to remove.
	if fi, err := os.Lstat(l.Address); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("listener unix %s: the path exists and is not a socket", l.Address)
		}
		if err := os.Remove(l.Address); err != nil {
			return nil, fmt.Errorf("listener unix %s: remove stale socket: %w", l.Address, err)
		}
	}
	ln, err := net.Listen("unix", l.Address)
	if err != nil {
		return nil, fmt.Errorf("listener unix %s: %w", l.Address, err)
	}
	if err := setSocketOwner(l); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listener unix %s: %w", l.Address, err)
	}
	return ln, nil
}

// setSocketOwner applies socket_mode, socket_user and socket_group.
func setSocketOwner(l *config.Listener) error {
	if l.SocketMode != "" {
		mode, err := strconv.ParseUint(l.SocketMode, 8, 32)
		if err != nil {
			return fmt.Errorf("socket_mode %q: %w", l.SocketMode, err)
		}
		if err := os.Chmod(l.Address, fs.FileMode(mode)); err != nil {
			return fmt.Errorf("socket_mode: %w", err)
		}
	}
	if l.SocketUser == "" && l.SocketGroup == "" {
		return nil
	}
	uid, gid := -1, -1
	if l.SocketUser != "" {
		id, err := lookupID(l.SocketUser, func(n string) (string, error) {
			u, err := user.Lookup(n)
			if err != nil {
				return "", err
			}
			return u.Uid, nil
		})
		if err != nil {
			return fmt.Errorf("socket_user %q: %w", l.SocketUser, err)
		}
		uid = id
	}
	if l.SocketGroup != "" {
		id, err := lookupID(l.SocketGroup, func(n string) (string, error) {
			g, err := user.LookupGroup(n)
			if err != nil {
				return "", err
			}
			return g.Gid, nil
		})
		if err != nil {
			return fmt.Errorf("socket_group %q: %w", l.SocketGroup, err)
		}
		gid = id
	}
	if err := os.Chown(l.Address, uid, gid); err != nil {
		return fmt.Errorf("socket_user/socket_group: %w", err)
	}
	return nil
}

// lookupID takes a numeric id as it is, or looks a name up.
func lookupID(s string, byName func(string) (string, error)) (int, error) {
	if id, err := strconv.Atoi(s); err == nil {
		return id, nil
	}
	idStr, err := byName(s)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(idStr)
}

// errUnauthorizedUpstream drops a connection deny_unauthorized refuses.
var errUnauthorizedUpstream = proxyproto.ErrInvalidUpstream

// wrapProxyProto reads PROXY protocol v1/v2 headers as the listener's
// proxy_protocol_behavior says, as Vault does:
//   - use_always: the header's address is used from any peer (the header
//     stays optional);
//   - allow_authorized: used from proxy_protocol_authorized_addrs, ignored
//     from anyone else;
//   - deny_unauthorized: used from authorized peers; any other peer's
//     connection is closed at once (the listener keeps accepting).
func wrapProxyProto(ln net.Listener, l *config.Listener) (net.Listener, error) {
	if l.ProxyProtocolBehavior == "" {
		return ln, nil
	}
	authorized, err := apihttp.ParsePrefixes(l.ProxyProtocolAuthorizedAddrs)
	if err != nil {
		return nil, fmt.Errorf("proxy_protocol_authorized_addrs: %w", err)
	}
	behavior := l.ProxyProtocolBehavior
	policy := func(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
		if behavior == "use_always" {
			return proxyproto.USE, nil
		}
		if tcp, ok := o.Upstream.(*net.TCPAddr); ok {
			if ip, ok := netipFrom(tcp); ok && containsPrefix(authorized, ip) {
				return proxyproto.USE, nil
			}
		}
		if behavior == "deny_unauthorized" {
			return proxyproto.IGNORE, errUnauthorizedUpstream
		}
		return proxyproto.IGNORE, nil
	}
	switch behavior {
	case "use_always", "allow_authorized", "deny_unauthorized":
	default:
		return nil, errors.New("unknown proxy_protocol_behavior " + behavior)
	}
	return &proxyproto.Listener{Listener: ln, ConnPolicy: policy}, nil
}

func netipFrom(a *net.TCPAddr) (netip.Addr, bool) {
	ip, ok := netip.AddrFromSlice(a.IP)
	return ip.Unmap(), ok
}

func containsPrefix(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
