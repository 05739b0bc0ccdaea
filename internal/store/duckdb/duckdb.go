// Package duckdb implements the store contract on an embedded DuckDB database (github.com/duckdb/duckdb-go/v2).
package duckdb

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options tune the embedded database.
type Options struct {
	// MemoryLimit is DuckDB's memory_limit (e.g. "4GB"); "" means an eighth of the memory available to the
	// process (the machine's RAM or its cgroup's limit, whichever is smaller) within 64 MB and 320 MB, and 320 MB
	// when neither can be read (memoryLimitFor). DuckDB's own default, 80% of the machine, would let the service's
	// memory grow with the data it holds. DuckDB spills larger sorts and aggregations to a temporary directory
	// beside the database file.
	MemoryLimit string
	// Threads is DuckDB's thread count; 0 means one per CPU.
	Threads int
	// CheckpointThreshold is DuckDB's checkpoint_threshold, the write-ahead log's size that makes a commit write
	// the database file (e.g. "256MB"); "" means DefaultCheckpointThreshold.
	CheckpointThreshold string
	// Logger receives a line per maintenance step (what Maintain compacted or moved, and how long it took); nil
	// discards them.
	Logger *slog.Logger
}

// DefaultCheckpointThreshold is the write-ahead log's size at which a commit checkpoints when
// Options.CheckpointThreshold is empty. DuckDB's default (16 MB) made the appends of a sustained ingest checkpoint
// every few tens of thousands of events, at a cost that grows with the tables (at 10M events, commits were three
// quarters of the append path); maintenance checkpoints once appends pause (Maintain), so a restart replays little.
const DefaultCheckpointThreshold = "256MB"

// Store is the DuckDB-backed store.
type Store struct {
	// reader answers the metric engine's queries on the live database.
	reader
	db  *sql.DB
	now func() time.Time
	log *slog.Logger

	// journalMu serialises appends to the journal (nil for an in-memory store); logMu guards ls, the loader's
	// queue (loader.go).
	journalMu sync.Mutex
	journal   *journal
	record    []byte // the journal record being written, under journalMu
	logMu     sync.Mutex
	ls        loaderState
	loadWake  chan struct{}
	// loaderStop and loaderDone stop the loader and tell that it has stopped.
	loaderStop, loaderDone chan struct{}
	// writeMu serialises the loads of the events table and the small metadata writes, and guards seq and the
	// state of the log's tail below. DuckDB runs transactions on different tables side by side (they conflict
	// only on the same rows), so the writers of other tables have locks of their own: creditsMu (credit updates;
	// guards creditGen), catalogWriteMu (catalog writes) and cellsMu (new cells; guards nextCell). The derivation
	// worker's writes thus never wait for a load or a compaction's swap.
	writeMu sync.Mutex
	// seq is the events table's watermark: the highest Seq in it.
	seq store.Seq
	// cells maps every (platform, default, locale, variation) stored to its id, copied on write (new cells are
	// rare); nextCell is the next id. The map grows with the distinct dimension values, not with events or users.
	cells          atomic.Pointer[map[cellKey]int32]
	cellsMu        sync.Mutex
	nextCell       int32
	creditsMu      sync.Mutex
	catalogWriteMu sync.Mutex
	dict           *cellDict // the same, by id, for readers
	// lastAppend is when the latest event in the events table was acknowledged (compaction waits for a quiet
	// moment).
	lastAppend time.Time
	// afterBurst is set by the compaction at the end of a burst of appends (Maintain), until the store has settled
	// or appends resume; guarded by writeMu.
	afterBurst bool
	// unsettled counts the events appended since the store last settled, and factsSeen the rows of facts the last
	// Maintain counted (burstEnded); guarded by writeMu.
	unsettled, factsSeen int64
	// creditGen is the generation of the latest credit update: every stored credit and void records the
	// generation that wrote it (credit_voids).
	creditGen int64
	// onCreditsSorted, when set, runs between the copy of a credit move and its commit (tests).
	onCreditsSorted func()
	// onTailSets, when set, is told whether a compaction built its tail's user sets from the tail index (tests).
	onTailSets func(indexed bool)
	// compactMu serialises compactions.
	compactMu sync.Mutex
	// checkpointed is the log's watermark at the last checkpoint maintenance made once appends paused (-1: none
	// since the store opened); guarded by compactMu.
	checkpointed store.Seq
	// queries notes node queries (reader.queries), which maintenance yields to (yield.go); each kind of work that
	// waits for a pause in them has its deferral.
	queries queryPause
	// tail is the log's tail in memory for UNIQUE node queries (tailindex.go).
	tail                               tailIndex
	settleWait, factsWait, creditsWait deferral
	// stepYield is how long one maintenance step may pause for node queries in all, and sleep how it waits
	// (maintenanceStep.pause).
	stepYield time.Duration
	sleep     func(context.Context, time.Duration)
	// compactChunk is the rows one statement of a compaction sorts (compactChunkRows; smaller in tests).
	compactChunk int64
	// minTail is the tail that makes a compaction due whatever the facts' size (compactMinTail; smaller in tests).
	minTail int64
	// catalog caches every workspace's campaigns once loaded; all catalog writes go through this store under
	// catalogWriteMu, so the cache is exact. Guarded by catalogMu for readers.
	catalogMu sync.RWMutex
	catalog   map[string]sortedCatalog
	// workspaces caches workspaces by id as read (every authenticated request asks); the writers below replace
	// an entry after their write, and the database file's lock makes this process its only writer, so a key
	// rotation or suspension is seen by the next request. Workspaces are created by administrators, so the map
	// grows with them, not with traffic; unknown ids are not cached.
	// workspacesGen counts those writes, so a read that raced one does not cache what it read.
	workspacesMu  sync.RWMutex
	workspaces    map[string]domain.Workspace
	workspacesGen uint64
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file dbPath and applies pending migrations. An empty dbPath opens an
// in-memory database (tests).
func Open(ctx context.Context, dbPath string, opts Options, now func() time.Time) (*Store, error) {
	if dbPath != "" {
		if err := os.MkdirAll(filepath.Dir(dbPath), 0o755); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	limit := opts.MemoryLimit
	if limit == "" {
		limit = defaultMemoryLimit()
	}
	// The settings apply to every pooled connection, opened at any time: they must not depend on ctx, which may be
	// a request's or the process's signal context.
	connector, err := duckdb.NewConnector(dbPath, func(ex driver.ExecerContext) error {
		threads := opts.Threads
		if threads <= 0 {
			threads = runtime.NumCPU()
		}
		checkpoint := cmp.Or(opts.CheckpointThreshold, DefaultCheckpointThreshold)
		stmts := []string{"SET memory_limit = '" + strings.ReplaceAll(limit, "'", "") + "'", "SET threads = " + strconv.Itoa(threads),
			"SET checkpoint_threshold = '" + strings.ReplaceAll(checkpoint, "'", "") + "'",
			// DuckDB's bundled jemalloc: background threads return freed memory to the system instead of the
			// threads running statements (appends, compactions, queries) doing it as they allocate, and a statement
			// that allocated 32 MB or more flushes its thread's caches when it ends (DuckDB's default, 128 MB, is
			// over a third of the default memory limit's 320 MB cap). docs/benchmarks.md has the runs that chose them.
			"SET allocator_background_threads = true", "SET allocator_flush_threshold = '32MB'"}
		for _, s := range stmts {
			if _, err := ex.ExecContext(context.Background(), s, nil); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open duckdb %q: %w", dbPath, err)
	}
	db := sql.OpenDB(connector)
	// Writers, the derivation worker, compaction and the concurrent queries of each Stats call hold connections at
	// once; database/sql keeps only 2 idle ones by default, so the others were closed and opened again (each
	// opening runs the settings above) under load. An idle DuckDB connection costs little.
	db.SetMaxIdleConns(16)
	dict := &cellDict{byID: map[int32]cellKey{}}
	s := &Store{reader: reader{q: db, cells: dict, numbers: &userNumbers{}}, db: db, now: now, log: cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)), catalog: map[string]sortedCatalog{}, dict: dict,
		compactChunk: compactChunkRows, minTail: compactMinTail, checkpointed: -1, stepYield: stepYield, sleep: sleepFor}
	s.queries.now = func() time.Time { return s.now() }
	s.reader.queries = &s.queries
	s.reader.tail = &s.tail
	s.reader.await = s.awaitLog
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	var seq int64
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&seq); err != nil {
		db.Close()
		return nil, fmt.Errorf("read the event log's watermark: %w", err)
	}
	s.seq = store.Seq(seq)
	// The latest generation is the largest of the log, the chunks, the voids and the watermark (the log's moved
	// rows are deleted by a rewrite).
	if err := db.QueryRowContext(ctx, `SELECT greatest((SELECT coalesce(max(gen), 0) FROM credits), (SELECT coalesce(max(gen), 0) FROM credits_sorted),
		(SELECT coalesce(max(gen), 0) FROM credit_voids), (SELECT gen FROM credits_watermark WHERE id = 1))`).Scan(&s.creditGen); err != nil {
		db.Close()
		return nil, fmt.Errorf("read the credits' generation: %w", err)
	}
	if err := s.loadCells(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if dbPath != "" {
		j, records, err := openJournal(dbPath + ".journal")
		if err == nil {
			s.journal = j
			err = s.replayJournal(ctx, records)
		}
		if err != nil {
			db.Close()
			return nil, err
		}
	}
	s.startLoader(s.seq)
	return s, nil
}

// closeWait bounds how long Close waits for connections still in use.
const closeWait = 30 * time.Second

// Close closes the database. A connection still in use — a statement that outlived the wait of its caller —
// keeps the database file open until it is released, and opening the file again in this process waits for that
// (DuckDB's instance cache spins until the old instance is gone). So Close waits, up to closeWait on the wall
// clock, until every connection has been released, and reports those still in use after it.
func (s *Store) Close() error {
	s.stopLoader()
	var err error
	if s.journal != nil {
		s.journalMu.Lock()
		s.logMu.Lock()
		drained := s.ls.loaded == s.ls.logged
		s.logMu.Unlock()
		if drained { // else the journal keeps what the table lacks, for the next Open
			err = s.journal.reset()
		} else {
			err = s.journal.close()
		}
		s.journalMu.Unlock()
	}
	err = errors.Join(err, s.db.Close())
	for deadline := time.Now().Add(closeWait); ; {
		open := s.db.Stats().OpenConnections
		if open == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return errors.Join(err, fmt.Errorf("close the store: %d connections still in use after %s", open, closeWait))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: bad version prefix", base)
		}
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if n > 0 {
			continue
		}
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("apply migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?)`, v, s.now().UnixMilli()); err != nil {
			tx.Rollback()
			return fmt.Errorf("record migration %s: %w", base, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit migration %s: %w", base, err)
		}
	}
	return nil
}

// loadCells reads the cell dictionary.
func (s *Store) loadCells(ctx context.Context) error {
	cells := map[cellKey]int32{}
	s.cells.Store(&cells)
	s.nextCell = 1
	rows, err := s.db.QueryContext(ctx, `SELECT id, platform, pdef, locale, variation FROM cells`)
	if err != nil {
		return fmt.Errorf("load cells: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int32
		var k cellKey
		if err := rows.Scan(&id, &k.platform, &k.pdef, &k.locale, &k.variation); err != nil {
			return fmt.Errorf("load cells: %w", err)
		}
		cells[k] = id
		s.dict.add(id, k)
		s.nextCell = max(s.nextCell, id+1)
	}
	return rows.Err()
}

// Ping reports whether the database answers and the schema is current.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("%w: %v", domain.ErrUnavailable, err)
	}
	names, _ := fs.Glob(migrationFS, "migrations/*.sql")
	if n < len(names) {
		return fmt.Errorf("%w: migrations pending", domain.ErrUnavailable)
	}
	return nil
}

// ---- workspaces ----

const workspaceCols = `id, name, timezone, status, rate_limit, created_at, disabled_at, report_key, data_key`

func scanWorkspace(sc interface{ Scan(...any) error }) (domain.Workspace, error) {
	var w domain.Workspace
	var created int64
	var disabled sql.NullInt64
	if err := sc.Scan(&w.ID, &w.Name, &w.Timezone, &w.Status, &w.RateLimitPerMinute, &created, &disabled, &w.ReportKey, &w.DataKey); err != nil {
		return w, err
	}
	w.CreatedAt = time.UnixMilli(created).UTC()
	if disabled.Valid {
		t := time.UnixMilli(disabled.Int64).UTC()
		w.DisabledAt = &t
	}
	return w, nil
}

func nullableMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// CreateWorkspace stores a new workspace.
func (s *Store) CreateWorkspace(ctx context.Context, w domain.Workspace) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM workspaces WHERE id = ?`, w.ID).Scan(&n); err != nil {
		return fmt.Errorf("check workspace: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("workspace %s: %w", w.ID, domain.ErrAlreadyExists)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO workspaces (`+workspaceCols+`, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM workspaces))`,
		w.ID, w.Name, w.Timezone, w.Status, w.RateLimitPerMinute, w.CreatedAt.UnixMilli(), nullableMS(w.DisabledAt), w.ReportKey, w.DataKey)
	if err != nil {
		return fmt.Errorf("insert workspace: %w", err)
	}
	s.forgetWorkspace(w.ID)
	return nil
}

// forgetWorkspace drops id from the workspace cache after a write.
func (s *Store) forgetWorkspace(id string) {
	s.workspacesMu.Lock()
	delete(s.workspaces, id)
	s.workspacesGen++
	s.workspacesMu.Unlock()
}

// Workspace returns one workspace.
func (s *Store) Workspace(ctx context.Context, id string) (domain.Workspace, error) {
	s.workspacesMu.RLock()
	w, ok := s.workspaces[id]
	gen := s.workspacesGen
	s.workspacesMu.RUnlock()
	if ok {
		return w, nil
	}
	w, err := scanWorkspace(s.db.QueryRowContext(ctx, `SELECT `+workspaceCols+` FROM workspaces WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return w, fmt.Errorf("workspace %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return w, fmt.Errorf("read workspace: %w", err)
	}
	s.workspacesMu.Lock()
	if s.workspacesGen == gen {
		if s.workspaces == nil {
			s.workspaces = map[string]domain.Workspace{}
		}
		s.workspaces[id] = w
	}
	s.workspacesMu.Unlock()
	return w, nil
}

// ListWorkspaces returns workspaces ordered by creation.
func (s *Store) ListWorkspaces(ctx context.Context, status string) ([]domain.Workspace, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+workspaceCols+` FROM workspaces WHERE ? = '' OR status = ? ORDER BY created_at, seq`, status, status)
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	defer rows.Close()
	out := []domain.Workspace{}
	for rows.Next() {
		w, err := scanWorkspace(rows)
		if err != nil {
			return nil, fmt.Errorf("list workspaces: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// UpdateWorkspace replaces the mutable fields.
func (s *Store) UpdateWorkspace(ctx context.Context, w domain.Workspace) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE workspaces SET name = ?, status = ?, rate_limit = ?, disabled_at = ?, report_key = ?, data_key = ? WHERE id = ?`,
		w.Name, w.Status, w.RateLimitPerMinute, nullableMS(w.DisabledAt), w.ReportKey, w.DataKey, w.ID)
	if err != nil {
		return fmt.Errorf("update workspace: %w", err)
	}
	s.forgetWorkspace(w.ID)
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("workspace %s: %w", w.ID, domain.ErrNotFound)
	}
	return nil
}

// MemoryUsage returns the memory DuckDB's buffer manager holds, in bytes by DuckDB's tag (BASE_TABLE, HASH_TABLE,
// ORDER_BY, …), and the bytes it has spilled to temporary files.
func (s *Store) MemoryUsage(ctx context.Context) (byTag map[string]int64, spilled int64, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tag, memory_usage_bytes, temporary_storage_bytes FROM duckdb_memory()`)
	if err != nil {
		return nil, 0, fmt.Errorf("memory usage: %w", err)
	}
	defer rows.Close()
	byTag = map[string]int64{}
	for rows.Next() {
		var tag string
		var mem, tmp int64
		if err := rows.Scan(&tag, &mem, &tmp); err != nil {
			return nil, 0, fmt.Errorf("memory usage: %w", err)
		}
		byTag[tag] = mem
		spilled += tmp
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("memory usage: %w", err)
	}
	return byTag, spilled, nil
}
