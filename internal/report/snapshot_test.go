package report

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campaignstats/campaignstats/internal/blob"
	"github.com/campaignstats/campaignstats/internal/domain"
)

// heldFiles is a blob store whose Put waits, once it is entered, until release is closed: the run is then RUNNING
// and its snapshot open, but no row has been computed yet.
type heldFiles struct {
	blob.Store
	entered, release chan struct{}
}

func (h *heldFiles) Put(ctx context.Context, ws, name string, write func(io.Writer) error) (blob.Info, error) {
	close(h.entered)
	<-h.release
	return h.Store.Put(ctx, ws, name, write)
}

// TestRunReadsSnapshot: events ingested while a run is generating are not in its file (SPEC §8.4 — a run reads a
// consistent snapshot; events received after its started_at are not included), while a file generated afterwards
// counts them.
func TestRunReadsSnapshot(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "UTC")
	f.putCampaign(t, "push_a", `{"campaign_name":"Push A","channel":"PUSH","campaign_start_time":"2025-01-15T00:00:00Z"}`)
	at := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	user := 0
	sends := func(n int) []map[string]any {
		var evs []refEvent
		for range n {
			user++
			evs = append(evs, refEvent{campaign: "push_a", channel: domain.ChannelPush, kind: "sent", platform: "android",
				user: fmt.Sprintf("u%d", user), at: at.Add(time.Duration(user) * time.Minute)})
		}
		return f.campaignEvents(evs)
	}
	f.ingest(t, sends(5))

	held := &heldFiles{Store: f.files, entered: make(chan struct{}), release: make(chan struct{})}
	gen := NewFileGenerator(GeneratorConfig{Engine: f.eng, Files: held})
	svc := NewService(f.st, Options{Now: func() time.Time { return f.now }, Generator: gen, Snapshots: gen,
		Metrics: NewMetrics(prometheus.NewRegistry()), Retention: time.Hour})
	def := mustDef(t, `{"name":"Snap","range":{"start_date":"2025-03-01","end_date":"2025-03-05"},"campaigns":{"ids":["push_a"]},"layout":"rows"}`)
	rep, err := svc.Create(ctx, f.ws, def)
	if err != nil {
		t.Fatal(err)
	}
	run, err := svc.RunNow(ctx, f.ws, rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := svc.ProcessNext(ctx)
		done <- err
	}()
	<-held.entered
	f.ingest(t, sends(7)) // received while the run generates
	close(held.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	finished, err := f.st.ReportRun(ctx, run.ID)
	if err != nil || finished.Status != "SUCCESSFUL" {
		t.Fatalf("run: %+v %v", finished, err)
	}
	sent := func(files []csvFile) string {
		t.Helper()
		header, recs := parseCSV(t, files[0].text, ',')
		i := slices.Index(header, "Sent")
		if i < 0 || len(recs) != 1 {
			t.Fatalf("header %v, %d rows", header, len(recs))
		}
		return recs[0][i]
	}
	o, err := f.files.Open(ctx, f.ws.ID, finished.Filename)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(o)
	o.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := sent(readArchive(t, data, false)); got != "5" {
		t.Errorf("the run's file counts Sent %s, want 5 (the events received during the run are excluded)", got)
	}
	if _, files := f.generate(t, def, "2025-03-01", "2025-03-05"); sent(files) != "12" {
		t.Errorf("a later file counts Sent %s, want 12", sent(files))
	}
}
