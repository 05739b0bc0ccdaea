package intake

import (
	"slices"
)

// uuidSet holds the 64-bit hashes of every stored (workspace, event_uuid): 8 bytes per stored event, in sorted runs
// by the hash's top byte, plus a small unsorted delta merged into them now and then. Merging rewrites one run at a
// time, so a merge holds one run's copy (1/256 of the set) beside the set, not a second copy of it. A hit is a
// candidate only — the caller confirms it against the stored uuid text, so hash collisions never drop an event.
type uuidSet struct {
	runs  [uuidSetRuns][]uint64
	size  int // hashes in runs
	delta map[uint64]struct{}
}

const uuidSetRuns = 256

// uuidSetMinMerge is the smallest delta that is merged; larger sets merge less often (delta up to 1/32 of the set),
// so merging costs O(1) amortised per insert and the delta stays small beside the runs.
const uuidSetMinMerge = 1 << 16

func newUUIDSet() *uuidSet { return &uuidSet{delta: map[uint64]struct{}{}} }

func run(h uint64) int { return int(h >> 56) }

// load adds stored hashes in bulk, before the first has or add; finishLoad must follow.
func (s *uuidSet) load(hs []uint64) {
	for _, h := range hs {
		s.runs[run(h)] = append(s.runs[run(h)], h)
	}
}

// finishLoad sorts the runs and trims them to their length.
func (s *uuidSet) finishLoad() {
	s.size = 0
	for i, r := range s.runs {
		slices.Sort(r)
		r = slices.Compact(r)
		s.runs[i] = append(make([]uint64, 0, len(r)), r...)
		s.size += len(r)
	}
}

// has reports whether h may be stored.
func (s *uuidSet) has(h uint64) bool {
	if _, ok := s.delta[h]; ok {
		return true
	}
	_, found := slices.BinarySearch(s.runs[run(h)], h)
	return found
}

// add records newly stored hashes.
func (s *uuidSet) add(hs []uint64) {
	for _, h := range hs {
		s.delta[h] = struct{}{}
	}
	if len(s.delta) < max(uuidSetMinMerge, s.size/32) {
		return
	}
	d := make([]uint64, 0, len(s.delta))
	for h := range s.delta {
		d = append(d, h)
	}
	slices.Sort(d)
	for len(d) > 0 {
		ri := run(d[0])
		n := 1
		for n < len(d) && run(d[n]) == ri {
			n++
		}
		s.runs[ri] = mergeSorted(s.runs[ri], d[:n])
		d = d[n:]
	}
	s.size = 0
	for _, r := range s.runs {
		s.size += len(r)
	}
	s.delta = map[uint64]struct{}{}
}

// mergeSorted returns the union of two sorted, duplicate-free slices in a new slice of its exact length.
func mergeSorted(a, b []uint64) []uint64 {
	out := make([]uint64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, b[j])
			i++
			j++
		}
	}
	out = append(append(out, a[i:]...), b[j:]...)
	return slices.Clip(out)
}
