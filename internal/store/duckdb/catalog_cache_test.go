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
	in := rec("f", "4")
	next = next.with([]domain.Campaign{in})
	in.Inferred.Platforms[0] = "changed"
	if i, _ := next.find("f"); next[i].Inferred.Platforms[0] != "4" {
		t.Fatal("the cache shares a record's platforms with the caller")
	}
}
