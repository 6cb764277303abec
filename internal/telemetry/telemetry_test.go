package telemetry

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"

	"github.com/strongbox/strongbox/internal/config"
)

func TestGatherFormats(t *testing.T) {
	tel, err := Setup(&config.Telemetry{PrometheusRetentionTime: time.Hour, DisableHostname: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close()
	metrics.IncrCounter([]string{"unit", "hits"}, 3)
	ct, body, err := tel.Gather("prometheus")
	if err != nil || !strings.HasPrefix(ct, "text/plain") || !strings.Contains(string(body), "vault_unit_hits 3") {
		t.Errorf("prometheus: %q %v\n%s", ct, err, body)
	}
	ct, body, err = tel.Gather("")
	var sum struct{ Counters []struct{ Name string } }
	if err != nil || ct != "application/json" || json.Unmarshal(body, &sum) != nil || len(sum.Counters) == 0 || sum.Counters[0].Name != "vault.unit.hits" {
		t.Errorf("json: %q %v\n%s", ct, err, body)
	}
	if _, _, err := tel.Gather("xml"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("xml: %v, want ErrUnknownFormat", err)
	}
	off, err := Setup(&config.Telemetry{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if _, _, err := off.Gather("prometheus"); !errors.Is(err, ErrPrometheusDisabled) {
		t.Errorf("retention 0: %v, want ErrPrometheusDisabled", err)
	}
	if _, err := Setup(&config.Telemetry{PrefixFilter: []string{"vault.core"}}, nil); err == nil {
		t.Error("prefix_filter without +/-: no error")
	}
}

// BenchmarkMeasureSince is the cost of one timer (a request records about
// three: handle_request, barrier get, and more for writes) with each sink
// set: everything filtered out, the in-memory sink alone, and with the
// Prometheus sink.
func BenchmarkMeasureSince(b *testing.B) {
	off := false
	for _, bc := range []struct {
		name string
		conf *config.Telemetry
	}{
		{"filtered", &config.Telemetry{FilterDefault: &off}},
		{"inmem", nil},
		{"inmem+prometheus", &config.Telemetry{PrometheusRetentionTime: time.Hour, DisableHostname: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tel, err := Setup(bc.conf, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer tel.Close()
			key := []string{"core", "handle_request"}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					metrics.MeasureSince(key, time.Now())
				}
			})
		})
	}
}
