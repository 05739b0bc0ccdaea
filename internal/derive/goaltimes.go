package derive

import (
	"hash/fnv"
	"math"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// goalTimes bounds, for every (workspace, user), the time of its latest indexed goal event. A new interaction at s
// can change only the credits of the user's goal events in [s, s + longest window]; when s is after the bound there
// are none, and the worker skips the index lookup. That is the common case of a live stream (interactions arrive
// after the goal events they could explain), and a user without goal events is skipped whatever the time.
//
// It is a max-sketch of fixed size: each user maps to goalTimeHashes slots, each slot keeps the latest goal time of
// the users mapped to it, and a user's bound is the earliest of its slots — never before its own latest goal event,
// usually equal to it. Times are kept in minutes, rounded up, so the bound stays an upper bound. Memory does not
// grow with the data; the bounds loosen, slowly, as more users share slots (a loose bound only costs a lookup).
type goalTimes struct {
	slots []uint32 // 0: no goal event; else 1 + minutes since the Unix epoch, rounded up (MaxUint32: later)
	mask  uint64
}

const goalTimeHashes = 3

// newGoalTimes returns a sketch of about bytes bytes (a power of two of 4-byte slots).
func newGoalTimes(bytes int) *goalTimes {
	n := uint64(1)
	for n*4 < uint64(bytes) {
		n <<= 1
	}
	return &goalTimes{slots: make([]uint32, n), mask: n - 1}
}

func (g *goalTimes) hashes(ws string, u domain.UserID) (uint64, uint64) {
	h := fnv.New64a()
	h.Write([]byte(ws))
	return u.Hi ^ h.Sum64(), u.Lo | 1
}

// minuteCeil encodes a time as a slot value at or after it.
func minuteCeil(ms int64) uint32 {
	if ms <= 0 {
		return 1
	}
	m := ms / 60_000
	if ms%60_000 != 0 {
		m++
	}
	if m >= math.MaxUint32-1 {
		return math.MaxUint32
	}
	return uint32(m) + 1
}

// add records a goal event of the user at ms.
func (g *goalTimes) add(ws string, u domain.UserID, ms int64) {
	v := minuteCeil(ms)
	h1, h2 := g.hashes(ws, u)
	for i := uint64(0); i < goalTimeHashes; i++ {
		s := &g.slots[(h1+i*h2)&g.mask]
		*s = max(*s, v)
	}
}

// mayHaveFrom reports whether the user may have a goal event at or after ms (false: it certainly has none).
func (g *goalTimes) mayHaveFrom(ws string, u domain.UserID, ms int64) bool {
	h1, h2 := g.hashes(ws, u)
	bound := uint32(math.MaxUint32)
	for i := uint64(0); i < goalTimeHashes; i++ {
		bound = min(bound, g.slots[(h1+i*h2)&g.mask])
	}
	switch {
	case bound == 0:
		return false
	case bound == math.MaxUint32:
		return true
	}
	return ms <= int64(bound-1)*60_000
}
