package duckdb

import (
	"slices"
	"testing"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// TestSortedCatalogWith checks the cached catalog's copy-on-write update: records replace those of their ids, new
// ids are inserted in id order, the last record of an id given twice wins, and the catalog it was made from is left
// as it was.
func TestSortedCatalogWith(t *testing.T) {
	rec := func(id, name string) domain.Campaign {
		return domain.Campaign{ID: id, Explicit: domain.CampaignFields{Name: &name}, Inferred: domain.CampaignInferred{Platforms: []string{name}}}
	}
	names := func(c sortedCatalog) []string {
		var out []string
		for _, x := range c {
			out = append(out, x.ID+"="+*x.Explicit.Name)
		}
		return out
	}
	base := sortedCatalog{rec("b", "1"), rec("d", "1")}
	next := base.with([]domain.Campaign{rec("e", "2"), rec("a", "2"), rec("d", "2"), rec("c", "2"), rec("a", "3")})
	if got, want := names(next), []string{"a=3", "b=1", "c=2", "d=2", "e=2"}; !slices.Equal(got, want) {
		t.Fatalf("updated catalog %v, want %v", got, want)
	}
	// Existing ids after new ones in one write: each replaces its record (no second record of the id).
	next = next.with([]domain.Campaign{rec("f", "4"), rec("g", "4"), rec("a", "4"), rec("e", "4"), rec("b", "4")})
	if got, want := names(next), []string{"a=4", "b=4", "c=2", "d=2", "e=4", "f=4", "g=4"}; !slices.Equal(got, want) {
		t.Fatalf("catalog after new and existing ids %v, want %v", got, want)
	}
	one := sortedCatalog{rec("m", "1")}.with([]domain.Campaign{rec("a", "2"), rec("b", "2"), rec("c", "2"), rec("m", "2")})
	if got, want := names(one), []string{"a=2", "b=2", "c=2", "m=2"}; !slices.Equal(got, want) {
		t.Fatalf("catalog after new ids sorting before an existing one %v, want %v", got, want)
	}
	if got, want := names(base), []string{"b=1", "d=1"}; !slices.Equal(got, want) {
		t.Fatalf("the catalog updated from changed: %v, want %v", got, want)
	}
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if i, ok := next.find(id); !ok || next[i].ID != id {
			t.Fatalf("find(%q) = %d, %v", id, i, ok)
		}
	}
	if _, ok := next.find("bb"); ok {
		t.Fatal("find found an id the catalog does not hold")
	}
	// Records are the cache's own copies: changing a caller's record afterwards changes nothing cached.
	in := rec("h", "5")
	next = next.with([]domain.Campaign{in})
	in.Inferred.Platforms[0] = "changed"
	if i, _ := next.find("h"); next[i].Inferred.Platforms[0] != "5" {
		t.Fatal("the cache shares a record's platforms with the caller")
	}
}
