// Package postgres implements the metadata half of the storage contract (store.MetaStore) on PostgreSQL
// (github.com/jackc/pgx/v5), so that several campaignstats processes can share workspaces, the catalog, quarantine,
// idempotency keys, profiles, reports and runs. Every multi-statement write is one transaction; what the contract
// makes atomic across processes is made so by PostgreSQL's locks: a transaction-scoped advisory lock per workspace
// for catalog and report-definition writes, row locks taken with FOR UPDATE SKIP LOCKED for schedule and run claims.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Advisory lock keys. The migration lock is session-scoped and single-keyed; the others are transaction-scoped
// and two-keyed (class, hashtext(workspace id)), a separate key space.
const (
	// migrationLock serialises schema migrations of processes opening the same database.
	migrationLock int64 = 0x63616d7073746174 // "campstat"
	// catalogLockClass serialises UpdateCampaigns of one workspace.
	catalogLockClass int32 = 1
	// reportsLockClass serialises report-definition writes of one workspace (name uniqueness, the report limit).
	reportsLockClass int32 = 2
)

// uniqueViolation is PostgreSQL's SQLSTATE for a unique constraint violation.
const uniqueViolation = "23505"

// Store is the PostgreSQL-backed MetaStore.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.MetaStore = (*Store)(nil)

// Open connects to the database named by dsn (a PostgreSQL URL or key=value string) and applies pending migrations
// (see Migrate). now stamps the migrations it applies.
func Open(ctx context.Context, dsn string, now func() time.Time) (*Store, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	err = migrate(ctx, conn.Conn(), now)
	conn.Release()
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// Migrate applies the pending migrations of the schema to the database named by dsn and returns. Migrations are
// numbered .sql files embedded in the binary, each applied once in its own transaction and recorded in
// schema_migrations; a session advisory lock makes processes that migrate the same database at once take turns.
func Migrate(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return migrate(ctx, conn, time.Now)
}

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
}

// migrations lists the embedded migrations in version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("postgres: list migrations: %w", err)
	}
	out := make([]migration, 0, len(names))
	for _, name := range names {
		base := path.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("postgres: migration %s: bad version prefix", base)
		}
		out = append(out, migration{version: v, name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies the pending migrations on conn under the migration lock.
func migrate(ctx context.Context, conn *pgx.Conn, now func() time.Time) (err error) {
	list, err := migrations()
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("postgres: take the migration lock: %w", err)
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock); uerr != nil && err == nil {
			err = fmt.Errorf("postgres: release the migration lock: %w", uerr)
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("postgres: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("postgres: read schema version: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("postgres: read schema version: %w", err)
	}
	for _, v := range versions {
		applied[int(v)] = true
	}
	for _, m := range list {
		if applied[m.version] {
			continue
		}
		body, err := migrationFS.ReadFile(m.name)
		if err != nil {
			return fmt.Errorf("postgres: read migration %s: %w", m.name, err)
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("apply: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.version, now().UnixMilli()); err != nil {
				return fmt.Errorf("record: %w", err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", path.Base(m.name), err)
		}
	}
	return nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping reports whether the database answers and every embedded migration is applied.
func (s *Store) Ping(ctx context.Context) error {
	list, err := migrations()
	if err != nil {
		return err
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("%w: postgres: %v", domain.ErrUnavailable, err)
	}
	if n < len(list) {
		return fmt.Errorf("%w: postgres: migrations pending", domain.ErrUnavailable)
	}
	return nil
}

// querier runs statements: the pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// inTx runs fn in a transaction, committed when fn returns nil and rolled back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// lockWorkspace takes the transaction-scoped advisory lock of (class, workspace): writers holding it take turns,
// whichever process they run in; it is released at commit or rollback.
func lockWorkspace(ctx context.Context, tx pgx.Tx, class int32, workspaceID string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, class, workspaceID); err != nil {
		return fmt.Errorf("lock workspace %s: %w", workspaceID, err)
	}
	return nil
}

// isUniqueViolation reports whether err is a unique constraint violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == uniqueViolation
}

// ms is the stored form of a time: Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// nullableMS is the stored form of an optional time (nil: NULL).
func nullableMS(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	v := t.UnixMilli()
	return &v
}

// fromMS reads a stored time.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// fromNullableMS reads a stored optional time.
func fromNullableMS(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := fromMS(*v)
	return &t
}
