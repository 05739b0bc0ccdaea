//go:build !benchnaive

// The default build leaves out the naive DuckDB baseline of `campaignstats bench --naive` (cli_bench_naive.go, build
// tag benchnaive): it is a measuring aid, not part of the service.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// naiveAvailable: this build does not include the naive baseline.
const naiveAvailable = false

// runNaive is not available in this build; runBench refuses --naive before calling it.
func runNaive(context.Context, string, []string, []string, time.Time, int, int) (*naiveResult, error) {
	return nil, errors.New(naiveUnavailable)
}

// runBenchNaive is the child side of the naive baseline, not available in this build.
func runBenchNaive(_ context.Context, _ io.Reader, _, stderr io.Writer) int {
	fmt.Fprintf(stderr, "campaignstats bench-naive: %s\n", naiveUnavailable)
	return exitUsage
}
