package intake

import (
	"math/rand/v2"
	"testing"
)

func TestUUIDSetMergesExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var initial []uint64
	for i := 0; i < 1000; i++ {
		initial = append(initial, rng.Uint64())
	}
	s := newUUIDSet()
	s.load(initial[:600])
	s.load(append(initial[600:], initial[:10]...)) // loaded twice: kept once
	s.finishLoad()
	added := map[uint64]bool{}
	for round := 0; round < 5; round++ {
		batch := make([]uint64, 30000)
		for i := range batch {
			batch[i] = rng.Uint64()
			added[batch[i]] = true
		}
		s.add(batch)
	}
	for _, h := range initial {
		if !s.has(h) {
			t.Fatalf("initial hash %x lost", h)
		}
	}
	for h := range added {
		if !s.has(h) {
			t.Fatalf("added hash %x lost", h)
		}
	}
	if s.size < 1000+uuidSetMinMerge || len(s.delta) >= uuidSetMinMerge {
		t.Fatalf("merge did not happen: runs %d delta %d", s.size, len(s.delta))
	}
	total := 0
	for ri, r := range s.runs {
		total += len(r)
		for i := range r {
			if run(r[i]) != ri || (i > 0 && r[i-1] >= r[i]) {
				t.Fatalf("run %d not strictly sorted hashes of its own top byte at %d", ri, i)
			}
		}
	}
	if total != s.size || total+len(s.delta) != len(initial)+len(added) {
		t.Fatalf("runs hold %d (size %d) + delta %d, want %d distinct", total, s.size, len(s.delta), len(initial)+len(added))
	}
	misses := 0
	for i := 0; i < 10000; i++ {
		if s.has(rng.Uint64()) {
			misses++
		}
	}
	if misses > 0 {
		t.Fatalf("%d random hashes reported present", misses)
	}
}
