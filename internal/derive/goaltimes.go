package derive

import (
	"hash/fnv"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// goalTimes records, for every (workspace, user), the quarter-days in which it has indexed goal events. A new
// interaction at s can change only the credits of the user's goal events in [s, s + its unit's window]; when none
// of the quarter-days that range touches holds one there are none, and the worker skips the index lookup. That is
// the common case: a live stream (interactions arrive after the goal events they could explain), a user without
// goal events, and a user whose few goal events are days away from the interaction — most users of a store, whose
// lookups would otherwise read the index's blocks of their goal events only to find none in the window.
//
// It is a Bloom filter of fixed size over (workspace, user, quarter-day): never a false "none", and a false "some"
// only costs a lookup. Memory does not grow with the data; false answers grow, slowly, as more quarter-days are
// recorded (at 8 MiB and a million of them, about one quarter-day checked in 90,000).
type goalTimes struct {
	bits []uint64
	mask uint64 // of bit positions
}

const (
	goalTimeHashes   = 4
	goalTimeBucketMS = 6 * 3_600_000
	// goalTimeMaxBuckets bounds the quarter-days one check reads; a longer range is answered "some" (windows are
	// at most 30 days: 121 quarter-days).
	goalTimeMaxBuckets = 1024
)

// newGoalTimes returns a filter of about bytes bytes (a power of two of 8-byte words).
func newGoalTimes(bytes int) *goalTimes {
	n := uint64(1)
	for n*8 < uint64(bytes) {
		n <<= 1
	}
	return &goalTimes{bits: make([]uint64, n), mask: n*64 - 1}
}

// userHash digests the (workspace, user) part of the filter's keys.
func userHash(ws string, u domain.UserID) uint64 {
	h := fnv.New64a()
	h.Write([]byte(ws))
	return mix64(h.Sum64() ^ u.Hi ^ mix64(u.Lo))
}

// mix64 is SplitMix64's finalizer: every input bit affects every output bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// bucketOf returns the quarter-day of ms (rounded towards the past, also before 1970).
func bucketOf(ms int64) int64 {
	b := ms / goalTimeBucketMS
	if ms%goalTimeBucketMS < 0 {
		b--
	}
	return b
}

// positions returns the double-hashing pair of one (user, quarter-day) key.
func positions(user uint64, bucket int64) (uint64, uint64) {
	h := mix64(user ^ uint64(bucket)*0x9e3779b97f4a7c15)
	return h, mix64(h) | 1
}

// add records a goal event of the user at ms.
func (g *goalTimes) add(ws string, u domain.UserID, ms int64) {
	h1, h2 := positions(userHash(ws, u), bucketOf(ms))
	for i := uint64(0); i < goalTimeHashes; i++ {
		p := (h1 + i*h2) & g.mask
		g.bits[p>>6] |= 1 << (p & 63)
	}
}

// mayHaveIn reports whether the user may have a goal event at a time in [from, to] (false: it certainly has none).
func (g *goalTimes) mayHaveIn(ws string, u domain.UserID, from, to int64) bool {
	if to < from {
		return false
	}
	first, last := bucketOf(from), bucketOf(to)
	if last-first >= goalTimeMaxBuckets || last-first < 0 {
		return true
	}
	user := userHash(ws, u)
	for b := first; b <= last; b++ {
		h1, h2 := positions(user, b)
		all := true
		for i := uint64(0); i < goalTimeHashes && all; i++ {
			p := (h1 + i*h2) & g.mask
			all = g.bits[p>>6]&(1<<(p&63)) != 0
		}
		if all {
			return true
		}
	}
	return false
}
