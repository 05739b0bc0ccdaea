package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// memoryReporter is what storeMemoryCollector reads: the embedded store's memory by tag and its spilled bytes.
type memoryReporter interface {
	MemoryUsage(ctx context.Context) (byTag map[string]int64, spilled int64, err error)
}

// storeMemoryCollector exports the embedded store's memory at scrape time: what its buffer manager holds, by
// DuckDB's tag (table data, hash tables, sorts, …), bounded by --duckdb-memory-limit, and what it spilled to disk.
type storeMemoryCollector struct {
	store   memoryReporter
	memory  *prometheus.Desc
	spilled *prometheus.Desc
}

func newStoreMemoryCollector(st memoryReporter) *storeMemoryCollector {
	return &storeMemoryCollector{store: st,
		memory: prometheus.NewDesc("campaignstats_store_memory_bytes",
			"Memory held by the embedded store's buffer manager, by DuckDB tag.", []string{"tag"}, nil),
		spilled: prometheus.NewDesc("campaignstats_store_spilled_bytes",
			"Bytes the embedded store has spilled to temporary files.", nil, nil)}
}

// Describe implements prometheus.Collector.
func (c *storeMemoryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.memory
	ch <- c.spilled
}

// Collect implements prometheus.Collector; a store that cannot answer within a second reports nothing.
func (c *storeMemoryCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	byTag, spilled, err := c.store.MemoryUsage(ctx)
	if err != nil {
		return
	}
	for tag, n := range byTag {
		ch <- prometheus.MustNewConstMetric(c.memory, prometheus.GaugeValue, float64(n), tag)
	}
	ch <- prometheus.MustNewConstMetric(c.spilled, prometheus.GaugeValue, float64(spilled))
}
