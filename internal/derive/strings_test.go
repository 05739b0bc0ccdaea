package derive

import (
	"fmt"
	"testing"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// TestIndexStringsSurviveReopen writes interactions whose strings partly fit the dictionary and partly overflow it
// (written inline), reopens the index, and reads every field back.
func TestIndexStringsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	x, err := openIndex(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	x.dict.max = 5
	user := domain.UserID{Hi: 7, Lo: 9}
	var want []interaction
	b := x.db.NewBatch()
	for i := range 20 {
		e := store.StoredEvent{WorkspaceID: "ws", Event: domain.Event{UUID: fmt.Sprintf("u-%02d", i), User: user,
			TimeMS: int64(1000 + i), Campaign: true, CampaignID: fmt.Sprintf("c%d", i%3), Class: domain.ClassClick,
			Counter: domain.Counter(i % 4), Channels: domain.ChannelSet(1 << (i % 3)), Platform: "ANDROID",
			PlatformDefault: domain.PlatformDefault(i % 2), Locale: "", Variation: fmt.Sprintf("variation_%d", i)}}
		if _, err := x.put(b, &e, func(string) bool { return false }); err != nil {
			t.Fatal(err)
		}
		want = append(want, interaction{unit: e.CampaignID, uuid: e.UUID, timeMS: e.TimeMS, class: e.Class,
			counter: e.Counter, channels: e.Channels, platform: e.Platform, pdef: e.PlatformDefault, locale: e.Locale,
			variation: e.Variation})
	}
	if err := x.commit(b, 20); err != nil {
		t.Fatal(err)
	}
	if n := len(x.dict.snapshot()); n != 5 {
		t.Fatalf("dictionary holds %d strings, want its bound 5", n)
	}
	if err := x.close(); err != nil {
		t.Fatal(err)
	}
	if x, err = openIndex(dir, 1<<20); err != nil {
		t.Fatal(err)
	}
	defer x.close()
	c, err := x.cursor(x.db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	got, err := c.interactions("ws", user, 0, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d interactions, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("interaction %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	// A range inside the user's entries, and another user's (none).
	if got, _ := c.interactions("ws", user, 1005, 1007); len(got) != 3 || got[0].uuid != "u-05" {
		t.Errorf("1005..1007: got %+v", got)
	}
	if got, _ := c.interactions("ws", domain.UserID{Hi: 7, Lo: 10}, 0, 1<<62); len(got) != 0 {
		t.Errorf("another user: got %+v", got)
	}
}
