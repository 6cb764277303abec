package audit

import (
	"slices"
	"strconv"
)

// objWriter writes one JSON object field by field, with encoding/json's
// omitempty rules for the field kinds the entry types use.
type objWriter struct {
	b []byte
	n int // fields written so far
}

func openObject(b []byte) objWriter { return objWriter{b: append(b, '{')} }

func (w *objWriter) close() []byte { return append(w.b, '}') }

// field writes the separator and the (plain ASCII, unescaped) name.
func (w *objWriter) field(name string) {
	if w.n > 0 {
		w.b = append(w.b, ',')
	}
	w.n++
	w.b = append(w.b, '"')
	w.b = append(w.b, name...)
	w.b = append(w.b, '"', ':')
}

func (w *objWriter) str(name, v string) {
	if v != "" {
		w.field(name)
		w.b = appendString(w.b, v)
	}
}

func (w *objWriter) int(name string, v int64) {
	if v != 0 {
		w.field(name)
		w.b = appendInt(w.b, v)
	}
}

func (w *objWriter) strs(name string, v []string) {
	if len(v) == 0 {
		return
	}
	w.field(name)
	w.b = append(w.b, '[')
	for i, s := range v {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendString(w.b, s)
	}
	w.b = append(w.b, ']')
}

func (w *objWriter) strMap(name string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	w.field(name)
	var arr [16]string
	w.b = append(w.b, '{')
	for i, k := range sortedStringKeysInto(arr[:0], m) {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendString(w.b, k)
		w.b = append(w.b, ':')
		w.b = appendString(w.b, m[k])
	}
	w.b = append(w.b, '}')
}

func (w *objWriter) headers(name string, h map[string][]string) {
	if len(h) == 0 {
		return
	}
	w.field(name)
	var arr [16]string
	keys := arr[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.b = append(w.b, '{')
	for i, k := range keys {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendString(w.b, k)
		w.b = append(w.b, ':')
		if v := h[k]; v == nil {
			w.b = append(w.b, "null"...)
		} else {
			w.b = append(w.b, '[')
			for j, s := range v {
				if j > 0 {
					w.b = append(w.b, ',')
				}
				w.b = appendString(w.b, s)
			}
			w.b = append(w.b, ']')
		}
	}
	w.b = append(w.b, '}')
}

// data writes a data map through enc (omitted when empty).
func (w *objWriter) data(name string, m map[string]any, enc *dataEncoder) error {
	if len(m) == 0 {
		return nil
	}
	w.field(name)
	var err error
	w.b, err = enc.object(w.b, m)
	return err
}

func appendInt(b []byte, v int64) []byte {
	if v >= 0 && v < 10 {
		return append(b, byte('0'+v))
	}
	return strconv.AppendInt(b, v, 10)
}

// appendEntry writes e as one JSON object. reqData and respData encode the
// request and response data maps (hashing them unless raw).
func appendEntry(b []byte, e *entry, reqData, respData *dataEncoder) ([]byte, error) {
	w := openObject(b)
	w.str("time", e.Time)
	w.field("type")
	w.b = appendString(w.b, e.Type)
	if e.Auth != nil {
		w.field("auth")
		w.b = appendAuth(w.b, e.Auth)
	}
	if r := e.Request; r != nil {
		w.field("request")
		rw := openObject(w.b)
		rw.str("id", r.ID)
		rw.str("client_token", r.ClientToken)
		rw.str("client_token_accessor", r.ClientTokenAccessor)
		rw.str("operation", string(r.Operation))
		rw.str("mount_point", r.MountPoint)
		rw.str("mount_type", r.MountType)
		if ns := r.Namespace; ns != nil {
			rw.field("namespace")
			nw := openObject(rw.b)
			nw.str("id", ns.ID)
			nw.str("path", ns.Path)
			rw.b = nw.close()
		}
		rw.str("path", r.Path)
		if err := rw.data("data", r.Data, reqData); err != nil {
			return nil, err
		}
		rw.str("remote_address", r.RemoteAddr)
		rw.int("remote_port", int64(r.RemotePort))
		rw.headers("headers", r.Headers)
		w.b = rw.close()
	}
	if r := e.Response; r != nil {
		w.field("response")
		rw := openObject(w.b)
		rw.str("mount_point", r.MountPoint)
		rw.str("mount_type", r.MountType)
		if r.Auth != nil {
			rw.field("auth")
			rw.b = appendAuth(rw.b, r.Auth)
		}
		if r.Secret != nil {
			rw.field("secret")
			sw := openObject(rw.b)
			sw.str("lease_id", r.Secret.LeaseID)
			rw.b = sw.close()
		}
		if err := rw.data("data", r.Data, respData); err != nil {
			return nil, err
		}
		rw.strs("warnings", r.Warnings)
		if wi := r.WrapInfo; wi != nil {
			rw.field("wrap_info")
			ww := openObject(rw.b)
			ww.int("ttl", int64(wi.TTL))
			ww.str("token", wi.Token)
			ww.str("accessor", wi.Accessor)
			ww.str("creation_time", wi.CreationTime)
			ww.str("creation_path", wi.CreationPath)
			ww.str("wrapped_accessor", wi.WrappedAccessor)
			rw.b = ww.close()
		}
		rw.headers("headers", r.Headers)
		w.b = rw.close()
	}
	w.str("error", e.Error)
	return w.close(), nil
}

func appendAuth(b []byte, a *entryAuth) []byte {
	w := openObject(b)
	w.str("client_token", a.ClientToken)
	w.str("accessor", a.Accessor)
	w.str("display_name", a.DisplayName)
	w.strs("policies", a.Policies)
	w.strs("token_policies", a.TokenPolicies)
	w.strs("identity_policies", a.IdentityPolicies)
	w.strMap("metadata", a.Metadata)
	w.int("num_uses", int64(a.NumUses))
	w.str("entity_id", a.EntityID)
	w.str("token_type", a.TokenType)
	w.int("token_ttl", a.TokenTTL)
	return w.close()
}
