package intake

import (
	"slices"
)

// uuidSet holds the 64-bit hashes of every stored (workspace, event_uuid): a sorted base plus a small unsorted delta
// merged into it now and then. 8 bytes per stored event. A hit is a candidate only — the caller confirms it
// against the stored uuid text, so hash collisions never drop an event.
type uuidSet struct {
	base  []uint64
	delta map[uint64]struct{}
}

// uuidSetMinMerge is the smallest delta that is merged; larger bases merge less often (delta up to an eighth of
// the base), so merging costs O(1) amortised per insert.
const uuidSetMinMerge = 1 << 16

func newUUIDSet(hashes []uint64) *uuidSet {
	slices.Sort(hashes)
	return &uuidSet{base: slices.Compact(hashes), delta: map[uint64]struct{}{}}
}

// has reports whether h may be stored.
func (s *uuidSet) has(h uint64) bool {
	if _, ok := s.delta[h]; ok {
		return true
	}
	_, found := slices.BinarySearch(s.base, h)
	return found
}

// add records newly stored hashes.
func (s *uuidSet) add(hs []uint64) {
	for _, h := range hs {
		s.delta[h] = struct{}{}
	}
	if len(s.delta) < max(uuidSetMinMerge, len(s.base)/8) {
		return
	}
	d := make([]uint64, 0, len(s.delta))
	for h := range s.delta {
		d = append(d, h)
	}
	slices.Sort(d)
	merged := make([]uint64, 0, len(s.base)+len(d))
	i, j := 0, 0
	for i < len(s.base) && j < len(d) {
		switch {
		case s.base[i] < d[j]:
			merged = append(merged, s.base[i])
			i++
		case s.base[i] > d[j]:
			merged = append(merged, d[j])
			j++
		default:
			merged = append(merged, d[j])
			i++
			j++
		}
	}
	merged = append(append(merged, s.base[i:]...), d[j:]...)
	s.base = merged
	s.delta = map[uint64]struct{}{}
}
