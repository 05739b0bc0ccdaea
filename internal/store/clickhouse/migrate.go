package clickhouse

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// createSchemaVersions creates the table recording the migrations applied on a shard.
const createSchemaVersions = `CREATE TABLE IF NOT EXISTS schema_versions (version UInt32, applied_at DateTime)
ENGINE = MergeTree ORDER BY version`

// migration is one numbered file of migrations/.
type migration struct {
	version uint32
	name    string
}

// migrations lists migrations/ in version order (file names start with the version: 0001_init.sql).
func migrations() []migration {
	entries, err := fs.ReadDir(schemaFS, "migrations")
	if err != nil {
		panic(err) // embedded at build time
	}
	var out []migration
	for _, e := range entries {
		prefix, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseUint(prefix, 10, 32)
		if err != nil {
			panic(fmt.Sprintf("migration %s: no version prefix", e.Name()))
		}
		out = append(out, migration{uint32(v), e.Name()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out
}

// latestVersion is the schema version this code needs.
func latestVersion() uint32 {
	m := migrations()
	return m[len(m)-1].version
}

// Migrate creates the database and the schema on every shard, applying the migrations a shard has not recorded
// in its schema_versions table, and (with several shards) the Distributed tables over opts.Cluster. Every
// statement is idempotent, so Migrate can be run again, also after an interrupted run or by two processes at once.
func Migrate(ctx context.Context, opts Options) error {
	s, err := connect(ctx, opts, true)
	if err != nil {
		return err
	}
	defer s.Close()
	cluster := opts.Cluster
	if cluster == "" {
		cluster = DefaultCluster
	}
	if !validIdentifier(cluster) {
		return errorf("clickhouse: migrate: cluster name %q: use letters, digits and _", cluster)
	}
	distributed, err := fs.ReadFile(schemaFS, "distributed.sql")
	if err != nil {
		return errorf("clickhouse: migrate: %w", err)
	}
	for i, conn := range s.shards {
		if err := conn.Exec(ctx, createSchemaVersions); err != nil {
			return errorf("clickhouse: migrate: shard %d: %w", i, err)
		}
		var applied uint32
		if err := conn.QueryRow(ctx, `SELECT max(version) FROM schema_versions`).Scan(&applied); err != nil {
			return errorf("clickhouse: migrate: shard %d: %w", i, err)
		}
		for _, m := range migrations() {
			if m.version <= applied {
				continue
			}
			body, err := fs.ReadFile(schemaFS, "migrations/"+m.name)
			if err != nil {
				return errorf("clickhouse: migrate: %w", err)
			}
			for _, st := range statements(string(body)) {
				if err := conn.Exec(ctx, st); err != nil {
					return errorf("clickhouse: migrate: shard %d: %s: %w", i, m.name, err)
				}
			}
			if err := insertRow(ctx, conn, `INSERT INTO schema_versions (version, applied_at)`, m.version, time.Now().UTC()); err != nil {
				return errorf("clickhouse: migrate: shard %d: record %s: %w", i, m.name, err)
			}
		}
		if len(s.shards) == 1 {
			continue
		}
		sql := strings.NewReplacer("{cluster}", cluster, "{database}", s.database).Replace(string(distributed))
		for _, st := range statements(sql) {
			if err := conn.Exec(ctx, st); err != nil {
				return errorf("clickhouse: migrate: shard %d: distributed tables: %w", i, err)
			}
		}
	}
	return nil
}
