package clickhouse

import (
	"errors"
	"fmt"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// Server error codes that mean a shard could not be reached (sent by the server the query went to, which could not
// reach another shard of a Distributed table): 209 SOCKET_TIMEOUT, 210 NETWORK_ERROR, 279
// ALL_CONNECTION_TRIES_FAILED, 285 TOO_FEW_LIVE_REPLICAS. A query failing so may be retried.
var unreachableCodes = map[int32]bool{209: true, 210: true, 279: true, 285: true}

// errorf is fmt.Errorf that also marks the error domain.ErrUnavailable when it says a shard could not be reached,
// so that the API answers 503 "retry later" (store.Unavailable recognises refused and broken connections to this
// node's shards itself).
func errorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	var ex *ch.Exception
	if errors.As(err, &ex) && unreachableCodes[ex.Code] {
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	}
	return err
}
