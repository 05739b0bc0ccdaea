package domain

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"
)

// InferCampaigns applies SPEC §3.14 to the catalog entries in cs for newly stored events: it registers unknown
// campaigns and parents and offers every inferred value. Entries are created with CreatedAt = now. It returns the
// ids of the entries it created or changed, sorted.
func InferCampaigns(cs map[string]*Campaign, events []Event, now time.Time) []string {
	changed := map[string]bool{}
	get := func(id string) *Campaign {
		c, ok := cs[id]
		if !ok {
			c = &Campaign{ID: id, CreatedAt: now, UpdatedAt: now}
			cs[id] = c
			changed[id] = true
		}
		return c
	}
	for i := range events {
		e := &events[i]
		if !e.Campaign || e.CampaignID == "" {
			continue
		}
		c := get(e.CampaignID)
		inf := &c.Inferred
		before := *inf
		platforms := len(inf.Platforms)
		inf.HasEvents = true
		inf.Name.Offer(e.CampaignName, e.TimeMS, e.UUID)
		inf.Channel.Offer(string(e.InferredChannel), e.TimeMS, e.UUID)
		inf.DeliveryType.Offer(string(e.DeliveryType), e.TimeMS, e.UUID)
		inf.Parent.Offer(e.ParentCampaignID, e.TimeMS, e.UUID)
		if e.HasTags {
			tags, _ := json.Marshal(e.Tags)
			inf.Tags.Offer(string(tags), e.TimeMS, e.UUID)
		}
		if inf.StartTimeMS == 0 || e.TimeMS < inf.StartTimeMS {
			inf.StartTimeMS = e.TimeMS
		}
		if e.Class == ClassSend && (inf.FirstSendMS == 0 || e.TimeMS < inf.FirstSendMS) {
			inf.FirstSendMS = e.TimeMS
		}
		if e.Channels == ChannelSetOf(ChannelPush) {
			p := ResolvePlatform(ChannelPush, e.Platform, e.PlatformDefault)
			if p == PlatformAndroid || p == PlatformIOS || p == PlatformWeb {
				inf.Platforms = addSorted(inf.Platforms, p)
			}
		}
		if before.Name != inf.Name || before.Channel != inf.Channel || before.DeliveryType != inf.DeliveryType ||
			before.Parent != inf.Parent || before.Tags != inf.Tags || before.StartTimeMS != inf.StartTimeMS ||
			before.FirstSendMS != inf.FirstSendMS || before.HasEvents != inf.HasEvents || platforms != len(inf.Platforms) {
			c.UpdatedAt = now
			changed[c.ID] = true
		}
		if e.ParentCampaignID != "" {
			get(e.ParentCampaignID) // registers the parent; its placeholder values come from its children
		}
	}
	ids := make([]string, 0, len(changed))
	for id := range changed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func addSorted(list []string, v string) []string {
	i := sort.SearchStrings(list, v)
	if i < len(list) && list[i] == v {
		return list
	}
	list = append(list, "")
	copy(list[i+1:], list[i:])
	list[i] = v
	return list
}

// CatalogView answers hierarchy and inheritance questions over one workspace's campaigns (SPEC §2.3).
type CatalogView struct {
	byID     map[string]*Campaign
	all      []*Campaign // sorted by id
	parent   map[string]string
	children map[string][]string
}

// NewCatalogView indexes cs. A campaign is a child when its declared parent is set and it has no declared
// children of its own (one-level hierarchy: a parent's own parent is ignored).
func NewCatalogView(cs []Campaign) *CatalogView {
	v := &CatalogView{byID: make(map[string]*Campaign, len(cs)), parent: map[string]string{}, children: map[string][]string{}}
	declared := map[string][]string{}
	for i := range cs {
		c := &cs[i]
		v.byID[c.ID] = c
	}
	v.all = make([]*Campaign, 0, len(v.byID))
	for i := range cs {
		if c := &cs[i]; v.byID[c.ID] == c { // the last record of an id wins
			v.all = append(v.all, c)
		}
	}
	// Catalogs are read sorted by id, so this is usually one pass: All used to sort every campaign at each call,
	// several times per catalog write.
	if !slices.IsSortedFunc(v.all, byCampaignID) {
		slices.SortFunc(v.all, byCampaignID)
	}
	for id, c := range v.byID {
		if p := c.DeclaredParent(); p != "" {
			declared[p] = append(declared[p], id)
		}
	}
	for id, c := range v.byID {
		p := c.DeclaredParent()
		if p == "" || len(declared[id]) > 0 {
			continue
		}
		v.parent[id] = p
		v.children[p] = append(v.children[p], id)
	}
	for p := range v.children {
		sort.Strings(v.children[p])
	}
	return v
}

// Get returns a campaign; ok is false when it does not exist in the workspace.
func (v *CatalogView) Get(id string) (*Campaign, bool) { c, ok := v.byID[id]; return c, ok }

// Parent returns the effective parent of id ("" when id is not a child).
func (v *CatalogView) Parent(id string) string { return v.parent[id] }

// fromChildren returns c's own value (explicit, else inferred from its own events) or, when it has none, the
// latest value inferred from its children's events (SPEC §3.14 "parent placeholder": the same rules over its
// children's events; a child's explicit value is not an event's).
func (v *CatalogView) fromChildren(c *Campaign, own, inferred func(*Campaign) Latest) string {
	if c == nil {
		return ""
	}
	if l := own(c); l.Value != "" {
		return l.Value
	}
	var best Latest
	for _, ch := range v.children[c.ID] {
		if l := inferred(v.byID[ch]); l.Value != "" && (best.Value == "" || l.TimeMS > best.TimeMS || (l.TimeMS == best.TimeMS && l.UUID > best.UUID)) {
			best = l
		}
	}
	return best.Value
}

// Name is the effective campaign_name of id.
func (v *CatalogView) Name(id string) string {
	return v.fromChildren(v.byID[id], (*Campaign).ownName, func(c *Campaign) Latest { return c.Inferred.Name })
}

// Channel is the effective channel of id; UNKNOWN when it cannot be determined.
func (v *CatalogView) Channel(id string) Channel { return v.ChannelOf(v.byID[id]) }

// ChannelOf is the effective channel of c, a campaign of the view's workspace as stored or as a write would leave
// it; UNKNOWN when it cannot be determined.
func (v *CatalogView) ChannelOf(c *Campaign) Channel {
	if ch := v.fromChildren(c, (*Campaign).ownChannel, func(c *Campaign) Latest { return c.Inferred.Channel }); ch != "" {
		return Channel(ch)
	}
	return ChannelUnknown
}

// DeliveryType is the effective delivery type of id; ONE_TIME when none is known (SPEC §2.10).
func (v *CatalogView) DeliveryType(id string) DeliveryType {
	if dt := v.fromChildren(v.byID[id], (*Campaign).ownDeliveryType, func(c *Campaign) Latest { return c.Inferred.DeliveryType }); dt != "" {
		return DeliveryType(dt)
	}
	return DeliveryOneTime
}

// Children returns the children of id, sorted by id.
func (v *CatalogView) Children(id string) []string { return v.children[id] }

// All returns every campaign, sorted by id (the view's own list: callers must not modify it).
func (v *CatalogView) All() []*Campaign { return v.all }

func byCampaignID(a, b *Campaign) int { return strings.Compare(a.ID, b.ID) }

// Units returns the ids whose events count for id: itself and its children.
func (v *CatalogView) Units(id string) []string {
	return append([]string{id}, v.children[id]...)
}

// Goals returns the effective conversion goal details of id: its own, else its parent's (nil when none).
func (v *CatalogView) Goals(id string) *GoalDetails {
	if c, ok := v.byID[id]; ok && c.Explicit.Goals != nil {
		return c.Explicit.Goals
	}
	if p, ok := v.byID[v.parent[id]]; ok && p.Explicit.Goals != nil {
		return p.Explicit.Goals
	}
	return nil
}

// EffectiveGoals returns the conversion goal details in force for id, as catalog PUT and GET show them (SPEC
// §3.12.1, §3.12.2): Goals(id) with attribution_window_in_hours filled in — the explicit window (its own, else the
// parent's it inherits), else the maximum of id's effective channel, and the first goal primary when none is marked.
// Attribution uses the same window
// (attribution.NewCatalog). nil when id has no goal details; otherwise a copy the caller may keep.
func (v *CatalogView) EffectiveGoals(id string) *GoalDetails {
	gd := v.Goals(id)
	if gd == nil {
		return nil
	}
	out := *gd
	if out.AttributionWindowHours == nil || *out.AttributionWindowHours <= 0 {
		hours := v.Channel(id).MaxAttributionWindowHours()
		out.AttributionWindowHours = &hours
	}
	if out.Goals == nil {
		out.Goals = []Goal{}
	}
	// When no goal is marked primary, the first one is (SPEC §2.4).
	if len(out.Goals) > 0 && !slices.ContainsFunc(out.Goals, func(g Goal) bool { return g.IsPrimary }) {
		out.Goals = slices.Clone(out.Goals)
		out.Goals[0].IsPrimary = true
	}
	return &out
}

// ControlGroup returns the effective control-group settings of id: its own, else its parent's (nil when none).
func (v *CatalogView) ControlGroup(id string) *ControlGroupDetails {
	if c, ok := v.byID[id]; ok && c.Explicit.ControlGroup != nil {
		return c.Explicit.ControlGroup
	}
	if p, ok := v.byID[v.parent[id]]; ok && p.Explicit.ControlGroup != nil {
		return p.Explicit.ControlGroup
	}
	return nil
}

// OrderByStart sorts ids by effective campaign_start_time descending (unknown last), then id ascending (SPEC §5.5).
func (v *CatalogView) OrderByStart(ids []string) {
	sort.SliceStable(ids, func(i, j int) bool {
		a, b := ids[i], ids[j]
		ta, oka := v.startOf(a)
		tb, okb := v.startOf(b)
		if oka != okb {
			return oka
		}
		if oka && ta != tb {
			return ta > tb
		}
		return a < b
	})
}

func (v *CatalogView) startOf(id string) (int64, bool) {
	if c, ok := v.byID[id]; ok {
		return c.StartTimeMS()
	}
	return 0, false
}
