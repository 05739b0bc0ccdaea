package duckdb

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestNumberTableFindsEveryUser checks the in-memory user numbers against the list they were built from: users
// sharing the high half of their hash, hashes at both ends of the directory, and users it does not hold.
func TestNumberTableFindsEveryUser(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	users := []numberedUser{{hi: 0, lo: 7, uid: 1}, {hi: math.MaxUint64, lo: 3, uid: 2}, {hi: math.MaxUint64, lo: 9, uid: 3}}
	for i := range 5000 {
		u := numberedUser{hi: rng.Uint64(), lo: rng.Uint64(), uid: uint32(len(users) + 1)}
		if i%10 == 0 {
			u.hi = users[len(users)-1].hi // the same high half as another user
		}
		users = append(users, u)
	}
	slices.SortFunc(users, func(a, b numberedUser) int { return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo)) })
	for _, n := range []int{0, 1, 3, len(users)} {
		table := newNumberTable(users[:n])
		for i, u := range users {
			uid, ok := table.find(u.hi, u.lo)
			if want := i < n; ok != want || (ok && uid != u.uid) {
				t.Fatalf("%d users: user %x/%x: number %d, found %t; want %d, %t", n, u.hi, u.lo, uid, ok, u.uid, want)
			}
			if _, ok := table.find(u.hi, u.lo+1); ok && !slices.ContainsFunc(users[:n], func(v numberedUser) bool { return v.hi == u.hi && v.lo == u.lo+1 }) {
				t.Fatalf("%d users: found %x/%x, which it does not hold", n, u.hi, u.lo+1)
			}
		}
	}
	// Users added to a table in two sorted lists find the same numbers.
	var even, odd []numberedUser
	for i, u := range users {
		if i%2 == 0 {
			even = append(even, u)
		} else {
			odd = append(odd, u)
		}
	}
	if merged := mergeNumbered(even, odd); !slices.Equal(merged, users) {
		t.Fatal("merging two sorted lists of users did not give the sorted whole")
	}
	var none *numberTable
	if _, ok := none.find(1, 2); ok {
		t.Fatal("a workspace without numbered users found a user")
	}
}
