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
	s := newUUIDSet(append([]uint64(nil), initial...))
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
	if len(s.base) == 0 || len(s.delta) >= 1<<16 {
		t.Fatalf("merge did not happen: base %d delta %d", len(s.base), len(s.delta))
	}
	for i := 1; i < len(s.base); i++ {
		if s.base[i-1] >= s.base[i] {
			t.Fatalf("base not strictly sorted at %d", i)
		}
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
