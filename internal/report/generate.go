package report

import (
	"archive/zip"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/blob"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/stats"
	"github.com/campaignstats/campaignstats/internal/store"
)

// Report file generation (SPEC §8.5–§8.8). Every number comes from the metric engine (stats.Engine.Nodes for
// aggregate rows, NodesDaily for daily rows, all-platform for rows without a platform split); this file only
// selects campaigns, picks nodes, lays out CSV rows and writes the archive. Rows stream to the blob store: at most CampaignsPerQuery campaigns' rows are
// held at a time (for daily reports, those campaigns' node trees of every date).
//
// Choices beyond the SPEC text: campaigns whose channel is UNKNOWN get a zip entry <stem>_UNKNOWN.csv after
// GOOGLE_ADS (identity and conversion columns only); the gzip union includes the channels of the selected
// campaigns and the listed channels.
//
// Snapshot (SPEC §8.4): a file is computed from one store snapshot. The service opens it (FileGenerator.Snapshot)
// before it claims the run and sets its started_at, so events, credits, catalog changes and funnel posts committed
// after started_at are not in the file, and every row sees the same data. GenerateFile called directly opens its
// own snapshot.

// DefaultCampaignsPerQuery is the number of campaigns computed per engine call when GeneratorConfig leaves it 0.
const DefaultCampaignsPerQuery = 100

// GeneratorConfig configures NewFileGenerator.
type GeneratorConfig struct {
	Engine *stats.Engine
	Files  blob.Store
	// CampaignsPerQuery bounds memory and sets the batch size of engine calls; 0 means DefaultCampaignsPerQuery.
	CampaignsPerQuery int
}

// FileGenerator writes report files from the metric engine into the blob store.
type FileGenerator struct {
	engine *stats.Engine
	files  blob.Store
	batch  int
	// pinned is true for a generator returned by Snapshot: its engine already reads a snapshot.
	pinned bool
}

var _ Snapshotter = (*FileGenerator)(nil)

// Snapshot implements Snapshotter: the returned generator reads a store snapshot taken now.
func (g *FileGenerator) Snapshot(ctx context.Context) (Generator, func() error, error) {
	if g.engine == nil {
		return g, func() error { return nil }, nil
	}
	engine, release, err := g.engine.Snapshot(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("report: %w", err)
	}
	return &FileGenerator{engine: engine, files: g.files, batch: g.batch, pinned: true}, release, nil
}

// NewFileGenerator returns a generator.
func NewFileGenerator(cfg GeneratorConfig) *FileGenerator {
	g := &FileGenerator{engine: cfg.Engine, files: cfg.Files, batch: cfg.CampaignsPerQuery}
	if g.batch <= 0 {
		g.batch = DefaultCampaignsPerQuery
	}
	return g
}

// GenerateJob is one file to generate: the workspace, the report definition, and from the run its created_at
// (the file date) and its range.
type GenerateJob struct {
	Workspace  domain.Workspace
	Definition Definition
	CreatedAt  time.Time
	// StartDate and EndDate are the run's range (YYYY-MM-DD, workspace timezone). When empty they are resolved
	// from Definition.Range and CreatedAt (SPEC §8.3 relative ranges).
	StartDate, EndDate string
}

// GeneratedFile describes a published report file.
type GeneratedFile struct {
	Filename string
	Size     int64
	SHA256   string // lowercase hex
	Rows     int64  // data rows over every CSV, header rows excluded
}

var _ Generator = (*FileGenerator)(nil)

// Generate implements Generator: it writes the run's file from the report's definition, the run's range and the
// run's created_at (file date). ExpiresAt is left zero: the service sets finished_at + --report-retention.
func (g *FileGenerator) Generate(ctx context.Context, ws domain.Workspace, rep Report, run Run) (Result, error) {
	f, err := g.GenerateFile(ctx, GenerateJob{Workspace: ws, Definition: rep.Definition, CreatedAt: run.CreatedAt,
		StartDate: run.RangeStart, EndDate: run.RangeEnd})
	if err != nil {
		return Result{}, err
	}
	return Result{Filename: f.Filename, Size: f.Size, SHA256: f.SHA256, Rows: f.Rows}, nil
}

// FileNameFor returns a run's file name (SPEC §8.5): file stem + "_" + YYYYMMDD of createdAt in loc + ".zip" or
// ".gz".
func FileNameFor(def Definition, createdAt time.Time, loc *time.Location) string {
	ext := ".zip"
	if strings.EqualFold(def.Compression, "gzip") {
		ext = ".gz"
	}
	return def.FileStem() + "_" + createdAt.In(loc).Format("20060102") + ext
}

// GenerateFile computes the report and publishes its file atomically (a later file of the same name replaces it).
// Nothing is published when it fails.
func (g *FileGenerator) GenerateFile(ctx context.Context, job GenerateJob) (GeneratedFile, error) {
	if g.engine == nil || g.files == nil {
		return GeneratedFile{}, errNoEngine
	}
	engine := g.engine
	if !g.pinned {
		snap, release, err := g.engine.Snapshot(ctx)
		if err != nil {
			return GeneratedFile{}, fmt.Errorf("report: %w", err)
		}
		defer release()
		engine = snap
	}
	p, err := g.plan(ctx, engine, job)
	if err != nil {
		return GeneratedFile{}, err
	}
	out := GeneratedFile{Filename: FileNameFor(job.Definition, job.CreatedAt, p.loc)}
	h := sha256.New()
	var rows int64
	info, err := g.files.Put(ctx, job.Workspace.ID, out.Filename, func(w io.Writer) error {
		bw := bufio.NewWriterSize(io.MultiWriter(w, h), 64<<10)
		var err error
		if p.gzip {
			rows, err = g.writeGzip(ctx, p, bw)
		} else {
			rows, err = g.writeZip(ctx, p, bw)
		}
		if err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return GeneratedFile{}, fmt.Errorf("report: generate %s: %w", out.Filename, err)
	}
	out.Size, out.SHA256, out.Rows = info.Size, hex.EncodeToString(h.Sum(nil)), rows
	return out, nil
}

// genPlan is everything decided before rows are computed.
type genPlan struct {
	engine                                     *stats.Engine // reads the run's snapshot
	job                                        GenerateJob
	def                                        Definition
	view                                       *domain.CatalogView
	loc                                        *time.Location
	start, end                                 time.Time // local dates (UTC midnight values)
	campaigns                                  []string  // output order (SPEC §8.7)
	listed                                     map[domain.Channel]bool
	splitPlatform, splitLocale, splitVariation bool
	daily, unique, gzip                        bool
	moengage                                   bool   // the moengage layout (SPEC §13.2), else rows
	fileDate                                   string // YYYYMMDD of the run's created_at in the workspace timezone
	attr                                       attribution.Type
	enc                                        csvEncoder
	stem                                       string
	goals                                      map[string]string // campaign → effective primary goal name ("" when none)
}

func (g *FileGenerator) plan(ctx context.Context, engine *stats.Engine, job GenerateJob) (*genPlan, error) {
	def := job.Definition
	p := &genPlan{engine: engine, job: job, def: def, loc: job.Workspace.Location(), listed: map[domain.Channel]bool{},
		enc: newCSVEncoder(def.Separator, def.CSVFormulaGuard), stem: def.FileStem(), goals: map[string]string{}}
	p.daily = strings.EqualFold(def.Granularity, "daily")
	p.unique = strings.EqualFold(def.MetricType, "UNIQUE")
	p.gzip = strings.EqualFold(def.Compression, "gzip")
	p.moengage = def.EffectiveLayout() == LayoutMoEngage
	p.fileDate = job.CreatedAt.In(p.loc).Format("20060102")
	p.attr = attribution.ViewThrough
	if def.AttributionType != "" {
		t, ok := attribution.ParseType(def.AttributionType)
		if !ok {
			return nil, fmt.Errorf("report: unknown attribution_type %q", def.AttributionType)
		}
		p.attr = t
	}
	for _, s := range def.SplitBy {
		switch strings.ToLower(s) {
		case "platform":
			p.splitPlatform = true
		case "locale":
			p.splitLocale = true
		case "variation":
			p.splitVariation = true
		}
	}
	startDate, endDate := job.StartDate, job.EndDate
	if startDate == "" || endDate == "" {
		startDate, endDate = def.Range.Dates(job.CreatedAt, p.loc)
	}
	var err error
	if p.start, err = time.Parse(time.DateOnly, startDate); err != nil {
		return nil, fmt.Errorf("report: range start %q: %w", startDate, err)
	}
	if p.end, err = time.Parse(time.DateOnly, endDate); err != nil {
		return nil, fmt.Errorf("report: range end %q: %w", endDate, err)
	}
	if p.end.Before(p.start) {
		return nil, fmt.Errorf("report: range %s..%s ends before it starts", startDate, endDate)
	}
	if p.view, err = engine.Catalog(ctx, job.Workspace.ID); err != nil {
		return nil, err
	}
	if p.campaigns, err = selectCampaigns(ctx, p); err != nil {
		return nil, err
	}
	for _, id := range p.campaigns {
		p.goals[id] = primaryGoal(p.view, id)
	}
	return p, nil
}

// selectCampaigns applies SPEC §8.7 "Campaigns": with `ids`, the listed campaigns that exist; otherwise the
// campaigns a Stats call without campaign_ids selects for the range. Every other given filter must hold; with
// include_children false, children are left out unless listed. Either way campaigns are in §5.5 order (effective
// start time descending, then id).
func selectCampaigns(ctx context.Context, p *genPlan) ([]string, error) {
	f := p.def.Campaigns
	channels := map[domain.Channel]bool{}
	deliveryTypes := map[domain.DeliveryType]bool{}
	tags := map[string]bool{}
	includeChildren := true
	var ids []string
	if f != nil {
		for _, c := range f.Channels {
			if ch, ok := domain.ParseChannel(c); ok {
				channels[ch] = true
				p.listed[ch] = true
			}
		}
		for _, d := range f.DeliveryTypes {
			if dt, ok := domain.ParseDeliveryType(d); ok {
				deliveryTypes[dt] = true
			}
		}
		for _, t := range f.Tags {
			tags[strings.ToLower(t)] = true
		}
		includeChildren = f.IncludeChildren
		ids = f.IDs
	}
	matches := func(id string) bool {
		if len(channels) > 0 && !channels[p.view.Channel(id)] {
			return false
		}
		if len(deliveryTypes) > 0 && !deliveryTypes[p.view.DeliveryType(id)] {
			return false
		}
		if len(tags) > 0 {
			c, _ := p.view.Get(id)
			found := false
			for _, t := range c.Tags() {
				if tags[strings.ToLower(t)] {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	var out []string
	if len(ids) > 0 {
		seen := map[string]bool{}
		for _, id := range ids {
			if _, ok := p.view.Get(id); ok && !seen[id] && matches(id) {
				seen[id] = true
				out = append(out, id)
			}
		}
		// `ids` is a filter: rows follow the §5.5 order, not the order of the list.
		p.view.OrderByStart(out)
		return out, nil
	}
	fromMS, toMS := stats.Range(p.start, p.end, p.loc)
	active, err := p.engine.SelectActive(ctx, p.job.Workspace.ID, p.view, fromMS, toMS, p.attr)
	if err != nil {
		return nil, err
	}
	for _, id := range active {
		if (includeChildren || p.view.Parent(id) == "") && matches(id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// primaryGoal is the effective primary goal of a campaign (SPEC §8.7): its own or inherited goals' primary goal
// (the one marked is_primary_goal, else the first); for a parent without goals, that of its first child in id
// order that has goals; "" when none.
func primaryGoal(view *domain.CatalogView, id string) string {
	primary := func(g *domain.GoalDetails) string {
		if g == nil || len(g.Goals) == 0 {
			return ""
		}
		for _, goal := range g.Goals {
			if goal.IsPrimary {
				return goal.Name
			}
		}
		return g.Goals[0].Name
	}
	if name := primary(view.Goals(id)); name != "" {
		return name
	}
	for _, child := range view.Children(id) {
		if name := primary(view.Goals(child)); name != "" {
			return name
		}
	}
	return ""
}

// identityHeader returns the identity columns of the plan.
func (p *genPlan) identityHeader() []string {
	h := []string{ColCampaignID, ColParentID, ColCampaignName, ColChannel, ColDeliveryType}
	if p.daily {
		h = append(h, ColDate)
	}
	if p.splitPlatform {
		h = append(h, ColPlatform)
	}
	if p.splitLocale {
		h = append(h, ColLocale)
	}
	if p.splitVariation {
		h = append(h, ColVariation)
	}
	return h
}

// reportRow is one CSV row before encoding. node is nil for the zero row of a campaign without data.
type reportRow struct {
	campaign, date, platform, locale, variation string
	node                                        *stats.VariationResult
}

// csvWriter is one CSV of a report file in the definition's layout.
type csvWriter interface {
	header() []byte
	// writeRows computes and encodes the rows of ids (in order), handing each encoded row to write; it returns
	// the number of rows.
	writeRows(ctx context.Context, g *FileGenerator, ids []string, write func([]byte) error) (int64, error)
}

// newCSV returns the writer of one CSV holding the given channels' campaigns ids.
func (p *genPlan) newCSV(channels []domain.Channel, ids []string) csvWriter {
	if p.moengage {
		return newMoeCSV(p, channels, ids)
	}
	if len(channels) == 1 {
		return newLayout(p, channelColumns(p.def, channels[0]))
	}
	return newLayout(p, unionColumns(p.def, channels))
}

// layout encodes rows for one CSV of the rows layout: its metric and conversion columns, and per channel which of
// them apply.
type layout struct {
	p       *genPlan
	columns []string
	applies map[domain.Channel]map[string]bool
}

func newLayout(p *genPlan, columns []string) *layout {
	return &layout{p: p, columns: columns, applies: map[domain.Channel]map[string]bool{}}
}

func (l *layout) header() []byte {
	return l.p.enc.appendRecord(nil, append(l.p.identityHeader(), l.columns...))
}

func (l *layout) encode(dst []byte, r reportRow) []byte {
	p := l.p
	ch := p.view.Channel(r.campaign)
	applies := l.applies[ch]
	if applies == nil {
		applies = map[string]bool{}
		for _, c := range channelColumns(p.def, ch) {
			applies[c] = true
		}
		l.applies[ch] = applies
	}
	cells := []string{r.campaign, p.view.Parent(r.campaign), p.view.Name(r.campaign), string(ch), string(p.view.DeliveryType(r.campaign))}
	if p.daily {
		cells = append(cells, r.date)
	}
	if p.splitPlatform {
		cells = append(cells, r.platform)
	}
	if p.splitLocale {
		cells = append(cells, r.locale)
	}
	if p.splitVariation {
		cells = append(cells, r.variation)
	}
	cells = p.enc.texts(cells) // the identity cells; metric cells below are numbers
	var goal *stats.GoalResult
	if r.node != nil {
		for i := range r.node.Goals {
			if r.node.Goals[i].Name == p.goals[r.campaign] {
				goal = &r.node.Goals[i]
			}
		}
	}
	for _, c := range l.columns {
		switch {
		case !applies[c]:
			cells = append(cells, "")
		case isConversionColumn(c):
			cells = append(cells, conversionCell(goal, c))
		case r.node == nil:
			cells = append(cells, "0")
		case r.node.Control:
			cells = append(cells, "") // SPEC §12.8: control-group rows have empty performance cells
		default:
			v, _ := metricCell(r.node, c)
			cells = append(cells, v)
		}
	}
	return p.enc.appendRecord(dst, cells)
}

// nodeRows appends the rows of one campaign's node tree (one range or one date), restricted to the split
// dimensions, in row order (SPEC §8.7).
func (p *genPlan) nodeRows(dst []reportRow, cr *stats.CampaignResult, date string) []reportRow {
	for pi := range cr.Platforms {
		pl := &cr.Platforms[pi]
		if !p.splitPlatform && pl.Key != domain.AllPlatforms {
			continue
		}
		for li := range pl.Locales {
			loc := &pl.Locales[li]
			if !p.splitLocale && loc.Key != domain.AllLocales {
				continue
			}
			for vi := range loc.Variations {
				v := &loc.Variations[vi]
				if !p.splitVariation && v.Key != domain.AllVariations {
					continue
				}
				r := reportRow{campaign: cr.ID, date: date, node: v}
				if p.splitPlatform {
					r.platform = pl.Key
				}
				if p.splitLocale {
					r.locale = loc.Key
				}
				if p.splitVariation {
					r.variation = v.Key
				}
				dst = append(dst, r)
			}
		}
	}
	return dst
}

// nodesQuery is the engine query for ids over the plan's range, with only the node shapes the split needs.
func (p *genPlan) nodesQuery(ids []string) stats.NodesQuery {
	fromMS, toMS := stats.Range(p.start, p.end, p.loc)
	return stats.NodesQuery{Workspace: p.job.Workspace, View: p.view, CampaignIDs: ids, FromMS: fromMS, ToMS: toMS,
		FromDate: p.start.Format(time.DateOnly), ToDate: p.end.Format(time.DateOnly), Unique: p.unique, Attribution: p.attr,
		Shapes: store.NodeShapes{OnlyAllPlatforms: !p.splitPlatform, OnlyAllLocales: !p.splitLocale, OnlyAllVariations: !p.splitVariation}}
}

// writeRows computes the rows of ids (in order), encodes them and hands each encoded row to write. It returns the
// number of rows. Campaigns are computed g.batch at a time, with one engine call per batch.
func (l *layout) writeRows(ctx context.Context, g *FileGenerator, ids []string, write func([]byte) error) (int64, error) {
	p := l.p
	var n int64
	var rows []reportRow
	var buf []byte
	emit := func(rows []reportRow) error {
		for _, r := range rows {
			buf = l.encode(buf[:0], r)
			if err := write(buf); err != nil {
				return err
			}
			n++
		}
		return nil
	}
	for start := 0; start < len(ids); start += g.batch {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		chunk := ids[start:min(start+g.batch, len(ids))]
		if p.daily {
			res, err := p.engine.NodesDaily(ctx, p.nodesQuery(chunk))
			if err != nil {
				return n, err
			}
			for i := range res {
				for _, day := range res[i].Days {
					cr := stats.CampaignResult{ID: res[i].ID, Platforms: day.Platforms}
					rows = p.nodeRows(rows[:0], &cr, day.Date)
					if err := emit(rows); err != nil {
						return n, err
					}
				}
			}
			continue
		}
		res, err := p.engine.Nodes(ctx, p.nodesQuery(chunk))
		if err != nil {
			return n, err
		}
		for i := range res {
			rows = rows[:0]
			if !res[i].Empty {
				rows = p.nodeRows(rows, &res[i], "")
			}
			if len(rows) == 0 {
				// A selected campaign without nodes in the range gets one row of zeros (SPEC §8.7).
				rows = append(rows, reportRow{campaign: res[i].ID})
			}
			if err := emit(rows); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// reportChannels is the channel order of SPEC §8.6, with UNKNOWN (campaigns whose channel is not known) last.
func reportChannels() []domain.Channel {
	return append(domain.AllChannels(), domain.ChannelUnknown)
}

// entryName is the zip entry of a channel's CSV: <stem>_<CHANNEL>.csv (SPEC §8.6), or <stem>_<CHANNEL>_<YYYYMMDD>.csv
// in the moengage layout (SPEC §13.2).
func (p *genPlan) entryName(ch domain.Channel) string {
	if p.moengage {
		return p.stem + "_" + string(ch) + "_" + p.fileDate + ".csv"
	}
	return p.stem + "_" + string(ch) + ".csv"
}

// memberName is the gzip member's name: <stem>.csv, or <stem>_<YYYYMMDD>.csv in the moengage layout.
func (p *genPlan) memberName() string {
	if p.moengage {
		return p.stem + "_" + p.fileDate + ".csv"
	}
	return p.stem + ".csv"
}

// writeZip writes one CSV per channel (SPEC §8.6): entries in channel order, for every channel with rows and every
// channel listed in campaigns.channels (header only when empty).
func (g *FileGenerator) writeZip(ctx context.Context, p *genPlan, w io.Writer) (int64, error) {
	zw := zip.NewWriter(w)
	byChannel := map[domain.Channel][]string{}
	for _, id := range p.campaigns {
		ch := p.view.Channel(id)
		byChannel[ch] = append(byChannel[ch], id)
	}
	var total int64
	for _, ch := range reportChannels() {
		ids := byChannel[ch]
		if len(ids) == 0 && !p.listed[ch] {
			continue
		}
		l := p.newCSV([]domain.Channel{ch}, ids)
		var entry io.Writer
		open := func() error {
			var err error
			entry, err = zw.CreateHeader(&zip.FileHeader{Name: p.entryName(ch), Method: zip.Deflate,
				Modified: p.job.CreatedAt.In(p.loc)})
			if err != nil {
				return err
			}
			_, err = entry.Write(l.header())
			return err
		}
		n, err := l.writeRows(ctx, g, ids, func(b []byte) error {
			if entry == nil {
				if err := open(); err != nil {
					return err
				}
			}
			_, err := entry.Write(b)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if entry == nil && p.listed[ch] {
			if err := open(); err != nil {
				return total, err
			}
		}
	}
	return total, zw.Close()
}

// writeGzip writes one gzip member holding one CSV with every channel (SPEC §8.6): the metric columns are the
// union of the included channels' columns (the channels of the selected campaigns and the listed channels).
func (g *FileGenerator) writeGzip(ctx context.Context, p *genPlan, w io.Writer) (int64, error) {
	included := map[domain.Channel]bool{}
	for ch := range p.listed {
		included[ch] = true
	}
	for _, id := range p.campaigns {
		included[p.view.Channel(id)] = true
	}
	var channels []domain.Channel
	for _, ch := range reportChannels() {
		if included[ch] {
			channels = append(channels, ch)
		}
	}
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return 0, err
	}
	zw.Name = p.memberName()
	zw.ModTime = p.job.CreatedAt
	l := p.newCSV(channels, p.campaigns)
	if _, err := zw.Write(l.header()); err != nil {
		return 0, err
	}
	n, err := l.writeRows(ctx, g, p.campaigns, func(b []byte) error {
		_, err := zw.Write(b)
		return err
	})
	if err != nil {
		return n, err
	}
	return n, zw.Close()
}

// errNoEngine guards against a zero FileGenerator.
var errNoEngine = errors.New("report: generator has no engine or file store")
