package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
)

const migrateUsage = `usage: campaignstats migrate [--store clickhouse://…] [--meta postgres://…] [--data-dir DIR]

Creates or upgrades the schema of the configured stores and exits: every ClickHouse shard of --store (tables on each
shard, a Distributed table over them) and the PostgreSQL database of --meta; with the embedded store, the database in
--data-dir. Safe to run again and from several machines at once. serve applies migrations itself too.`

// runMigrate is `campaignstats migrate`.
func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg := config.Default()
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, migrateUsage) }
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "embedded store directory")
	fs.StringVar(&cfg.Store, "store", cfg.Store, "events: embedded or clickhouse://… (comma-separated, one per shard)")
	fs.StringVar(&cfg.Meta, "meta", cfg.Meta, "metadata: postgres://… (empty = the embedded store)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "campaignstats migrate: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if err := config.ApplyEnv(fs, getenv); err != nil {
		fmt.Fprintf(stderr, "campaignstats migrate: %v\n", err)
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "campaignstats migrate: %v\n", err)
		return exitUsage
	}
	done, err := app.Migrate(ctx, cfg, time.Now)
	if err != nil {
		fmt.Fprintf(stderr, "campaignstats migrate: %v\n", err)
		return exitRuntime
	}
	for _, d := range done {
		fmt.Fprintln(stdout, "migrated", d)
	}
	return exitOK
}
