package config

import "sort"

// Key is one setting the parser accepts: its section and name.
type Key struct {
	// Section is "" for the top level, or "listener", "listener.telemetry",
	// "telemetry", "seal", "retry_join", "storage.<type>".
	Section string
	Name    string
}

func (k Key) String() string {
	if k.Section == "" {
		return k.Name
	}
	return k.Section + "." + k.Name
}

// AcceptedKeys lists every key the parser accepts, read from the decoder's
// own tables, so a key added to a table shows up here. Storage stanzas
// accept any key at parse time; Validate refuses those outside
// StorageKeys, so storage keys are listed from StorageKeys. A seal's other
// keys belong to its type and are checked by the seal package.
func AcceptedKeys() []Key {
	var out []Key
	add := func(section string, names ...string) {
		for _, n := range names {
			out = append(out, Key{Section: section, Name: n})
		}
	}
	for k := range topFields {
		add("", k)
	}
	for k := range topIgnored {
		add("", k)
	}
	add("", stanzas...)
	for k := range listenerFields {
		add("listener", k)
	}
	for k := range listenerIgnored {
		add("listener", k)
	}
	for k := range listenerMatching {
		add("listener", k)
	}
	for k, sb := range listenerSubBlocks {
		add("listener", k)
		add("listener."+k, sb.key)
	}
	add("listener", "type", "custom_response_headers")
	for k := range telemetryFields {
		add("telemetry", k)
	}
	add("telemetry", "circonus_*", "stackdriver_*", "opentelemetry_disable")
	for k := range retryJoinFields {
		add("retry_join", k)
	}
	for typ, keys := range StorageKeys {
		add("storage."+typ, keys...)
	}
	add("storage.raft", "retry_join")
	// Taken out of any storage stanza as stand-ins for top-level settings.
	add("storage.*", "redirect_addr", "advertise_addr", "cluster_addr", "disable_clustering")
	add("seal", "disabled", "name", "priority", "purpose")
	add("audit", "description", "local", "options")
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
