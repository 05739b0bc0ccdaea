package derive

import (
	"hash/fnv"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// userFilter is a Bloom filter of the (workspace, user) pairs that have an indexed goal event. A new interaction of
// a user it does not contain can change no credit, so the worker skips the index lookup; a false positive only
// costs a lookup that finds nothing. Its size is fixed (bits), so memory does not grow with the data; the false
// positive rate does, slowly (about 1% at bits/10 users).
type userFilter struct {
	bits []uint64
	mask uint64
}

const filterHashes = 7

func newUserFilter(bits int) *userFilter {
	n := uint64(1)
	for n < uint64(bits) {
		n <<= 1
	}
	return &userFilter{bits: make([]uint64, max(n/64, 1)), mask: n - 1}
}

func (f *userFilter) hashes(ws string, u domain.UserID) (uint64, uint64) {
	h := fnv.New64a()
	h.Write([]byte(ws))
	return u.Hi ^ h.Sum64(), u.Lo | 1
}

func (f *userFilter) add(ws string, u domain.UserID) {
	h1, h2 := f.hashes(ws, u)
	for i := uint64(0); i < filterHashes; i++ {
		b := (h1 + i*h2) & f.mask
		f.bits[b/64] |= 1 << (b % 64)
	}
}

func (f *userFilter) mayContain(ws string, u domain.UserID) bool {
	h1, h2 := f.hashes(ws, u)
	for i := uint64(0); i < filterHashes; i++ {
		b := (h1 + i*h2) & f.mask
		if f.bits[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}
