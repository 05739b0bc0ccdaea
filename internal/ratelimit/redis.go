package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix starts the name of every Redis key the shared limiter writes.
const DefaultRedisPrefix = "campaignstats:ratelimit:"

// allowScript is the whole rolling-window check for one key, run atomically by Redis: it drops the instants that have
// left the window, counts the rest, admits the request when fewer than the limit remain, and returns the outcome
// with the count and the oldest instant still in the window. Timestamps are whole microseconds passed as decimal
// strings: Lua's numbers are doubles, exact for integers below 2^53 (≈285 years of microseconds), and the script does
// no arithmetic on them, so nothing is rounded on the way.
//
// KEYS[1]: the sorted set of admitted instants (score: microseconds since the Unix epoch; member: unique per request)
// ARGV[1]: now in microseconds            ARGV[2]: the cut-off (now − window): instants at or before it are dropped
// ARGV[3]: the limit                      ARGV[4]: the member to add      ARGV[5]: the key's TTL in milliseconds
// Returns {allowed (0|1), admitted in the window after this request, oldest instant or "" when none}.
const allowScript = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  count = count + 1
  allowed = 1
end
local oldest = ''
if count > 0 then
  oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
end
return {allowed, count, oldest}
`

// Redis is the rolling-window limiter of SPEC §5.4 with its counts kept in Redis, so every API node that uses the
// same server (and prefix) shares them. Its semantics are those of Limiter: exactly limit requests per key are admitted
// over any Window, with the same Remaining and Reset.
//
// Each key is a sorted set of the instants admitted in the last Window, checked and updated in one Lua script (run by
// EVALSHA, loaded again after a Redis restart), so concurrent requests from any number of nodes cannot overshoot the
// limit. The instants come from the clock given to NewRedis, not from Redis: the nodes' clocks must agree (NTP), since
// a node running ahead would see other nodes' requests leave the window early. Time is kept to the microsecond. A key
// expires one Window after the last request it admitted, when every instant in it has left the window anyway.
//
// Allow returns an error when Redis cannot be reached or fails; FailOpen turns that into the node's own count.
type Redis struct {
	client redis.Scripter
	now    func() time.Time
	prefix string
	script *redis.Script
	// node and sequence make each admitted member unique: several requests of one key may share a microsecond.
	node     string
	sequence atomic.Uint64
}

// NewRedis returns a shared limiter over client (a *redis.Client, a cluster or ring client), reading time from now and
// naming its keys prefix + key; an empty prefix is DefaultRedisPrefix. The caller owns and closes client.
func NewRedis(client redis.Scripter, now func() time.Time, prefix string) *Redis {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	var id [8]byte
	rand.Read(id[:]) // never fails (crypto/rand)
	return &Redis{client: client, now: now, prefix: prefix, script: redis.NewScript(allowScript), node: hex.EncodeToString(id[:])}
}

// RedisOptions parses a redis:// or rediss:// URL (as go-redis's ParseURL does, query options included) and shortens
// the defaults that matter while Redis is down, so a request waits for it at most a few hundred milliseconds: one dial
// attempt of 250 ms, no command retries, reads and writes of 250 ms. Values given in the URL's query are kept.
func RedisOptions(url string) (*redis.Options, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	if opt.DialTimeout == 0 {
		opt.DialTimeout = 250 * time.Millisecond
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = 250 * time.Millisecond
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = 250 * time.Millisecond
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = -1 // go-redis: -1 means none
	}
	if opt.DialerRetries == 0 {
		opt.DialerRetries = 1
	}
	return opt, nil
}

// Allow admits a request for key when fewer than limit requests were admitted for it, by any node, in the preceding
// Window. The error wraps Redis's; the Decision is then meaningless.
func (r *Redis) Allow(ctx context.Context, key string, limit int) (Decision, error) {
	nowMicros := r.now().UnixMicro()
	windowMicros := Window.Microseconds()
	member := strconv.FormatInt(nowMicros, 10) + "-" + r.node + "-" + strconv.FormatUint(r.sequence.Add(1), 10)
	reply, err := r.script.Run(ctx, r.client, []string{r.prefix + key},
		nowMicros, nowMicros-windowMicros, limit, member, Window.Milliseconds()).Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit %q in redis: %w", key, err)
	}
	allowed, count, oldestMicros, err := parseAllowReply(reply)
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit %q in redis: %w", key, err)
	}
	d := Decision{Allowed: allowed, Limit: limit, Remaining: max(limit-count, 0)}
	if count > 0 {
		left := time.Duration(oldestMicros+windowMicros-nowMicros) * time.Microsecond
		d.Reset = int((left + time.Second - 1) / time.Second)
	}
	return d, nil
}

// parseAllowReply reads allowScript's {allowed, count, oldest} reply.
func parseAllowReply(reply []any) (allowed bool, count int, oldestMicros int64, err error) {
	if len(reply) != 3 {
		return false, 0, 0, fmt.Errorf("script replied %d values, want 3", len(reply))
	}
	a, okA := reply[0].(int64)
	c, okC := reply[1].(int64)
	o, okO := reply[2].(string)
	if !okA || !okC || !okO {
		return false, 0, 0, fmt.Errorf("script replied %T, %T, %T; want integer, integer, string", reply[0], reply[1], reply[2])
	}
	if c > 0 {
		// Redis writes a score as a double ("1740787200000000" or, for some versions, "1.7407872e+15"); both are exact.
		f, perr := strconv.ParseFloat(o, 64)
		if perr != nil {
			return false, 0, 0, fmt.Errorf("oldest instant %q: %w", o, perr)
		}
		oldestMicros = int64(f)
	}
	return a == 1, int(c), oldestMicros, nil
}
