package attribution

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
)

func ptr[T any](v T) *T { return &v }

// camp builds a campaign with explicit channel, parent ("" for none) and goal details (nil for none).
func camp(id string, ch domain.Channel, parent string, gd *domain.GoalDetails) domain.Campaign {
	c := domain.Campaign{ID: id, HasExplicit: true}
	c.Explicit.Channel = &ch
	if parent != "" {
		c.Explicit.ParentID = ptr(parent)
	}
	c.Explicit.Goals = gd
	return c
}

// goals builds conversion_goal_details; hours 0 means "absent".
func goals(hours int, gs ...domain.Goal) *domain.GoalDetails {
	gd := &domain.GoalDetails{Goals: gs}
	if hours != 0 {
		gd.AttributionWindowHours = ptr(hours)
	}
	return gd
}

func purchase() domain.Goal {
	return domain.Goal{Name: "Purchase", EventName: "Purchase", IsPrimary: true, RevenueAttribute: "amount", RevenueCurrency: "USD"}
}

func catalogOf(cs ...domain.Campaign) *Catalog { return NewCatalog(domain.NewCatalogView(cs)) }

// at parses an RFC 3339 instant into Unix milliseconds.
func at(t *testing.T, s string) int64 {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return v.UnixMilli()
}

func purchaseEvent(uuid string, ms int64, amount string) GoalEvent {
	return GoalEvent{UUID: uuid, TimeMS: ms, Names: []string{"Purchase"}, Attributes: json.RawMessage(`{"amount":` + amount + `}`)}
}

func fmtCredits(cs []Credit) string {
	if len(cs) == 0 {
		return "  (none)\n"
	}
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %+v\n", c)
	}
	return b.String()
}

func assertCredits(t *testing.T, name string, got, want []Credit) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\ngot\n%swant\n%s", name, fmtCredits(got), fmtCredits(want))
	}
}
