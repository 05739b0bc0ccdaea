package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

// crashIterations is the number of kill -9 rounds of TestCrashLoopCountsEventsOnce: 8 by default (well under a
// minute on 2 cores), CAMPAIGNSTATS_CRASH_ITERATIONS for more (50 for the full run).
func crashIterations(t *testing.T) int {
	v := os.Getenv("CAMPAIGNSTATS_CRASH_ITERATIONS")
	if v == "" {
		return 8
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("CAMPAIGNSTATS_CRASH_ITERATIONS=%q: want a positive integer", v)
	}
	return n
}

// crashItem is one ingest request of the crash loop: a Streams batch with fixed event_uuids, or a Track Event
// request with a fixed Idempotency-Key. Both are re-sent unchanged until acknowledged.
type crashItem struct {
	track bool
	n     int    // Streams: batch number; Track: request number
	body  []byte // Streams: NDJSON of crashBatchEvents events; Track: 2 Purchase actions
	key   string // Idempotency-Key (Track)

	acked     bool
	requestID string // Track: request_id of the acknowledged response
}

const (
	crashBatchEvents = 400 // events per Streams batch
	crashNewBatches  = 30  // new Streams batches per round
	crashNewTracks   = 40  // new Track requests per round
	crashGoalUsers   = 500 // users with an interaction with the goal campaign
	crashChecks      = 5   // acknowledged requests of each kind re-sent per round
)

// TestCrashLoopCountsEventsOnce kills the server with SIGKILL at random moments while Streams batches and Track
// Event requests (with Idempotency-Key) are being ingested concurrently, restarts it on the same data directory
// and re-sends, unchanged, every request that was not acknowledged; each round also re-sends a few acknowledged
// ones. At the end (SPEC §3.6, §3.10):
//
//   - every Streams event is counted exactly once: the `sent` (TOTAL) of their campaign equals the number of
//     events sent;
//   - every Track action is counted exactly once: each is a goal event of a user who has an email interaction with
//     the goal campaign within its window, so with VIEW_THROUGH / TOTAL the goal's `total` (the number of credited
//     goal events, §5.12) equals the number of actions sent. The ingest metrics could not serve: they restart
//     from zero with every process;
//   - a re-sent acknowledged batch is all duplicates, and a re-sent acknowledged Track request gets the stored
//     response (same request_id) and adds nothing.
func TestCrashLoopCountsEventsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	iterations := crashIterations(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("%d rounds, seed %d", iterations, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	ctx := context.Background()
	dataDir := t.TempDir()
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

	p := startServerProcess(t, dataDir)
	c, ws := p.newWorkspace(t, "crash-loop")
	// The goal campaign and its interactions (acknowledged before the first kill).
	if _, _, err := c.PutCampaign(ctx, ws.WorkspaceID, ws.DataKey, "loop-goal", map[string]any{"campaign_name": "Loop goal",
		"channel": "EMAIL", "conversion_goal_details": map[string]any{"attribution_window_in_hours": 240,
			"goals": []map[string]any{{"goal_name": "Purchase", "goal_event_name": "Purchase", "is_primary_goal": true}}}}); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for u := range crashGoalUsers {
		fmt.Fprintf(&sb, `{"event_code":"MOE_EMAIL_SENT","event_uuid":"goal-sent-%d","event_time":%d,"uid":"t-%d","event_attributes":{"campaign_id":"loop-goal"}}`+"\n",
			u, day.Add(time.Hour).Unix(), u)
	}
	if res, err := c.IngestStreams(ctx, ws.WorkspaceID, ws.DataKey, client.ContentTypeNDJSON, []byte(sb.String()), false); err != nil || res.Accepted != crashGoalUsers {
		t.Fatalf("goal interactions: %+v, %v", res, err)
	}

	var items []*crashItem
	var streamsEvents, trackActions int64
	newItems := func(round int) {
		for b := round * crashNewBatches; b < (round+1)*crashNewBatches; b++ {
			var sb strings.Builder
			for i := range crashBatchEvents {
				fmt.Fprintf(&sb, `{"event_code":"MOE_EMAIL_SENT","event_uuid":"s%d-%d","event_time":%d,"uid":"u-%d","event_attributes":{"campaign_id":"loop","campaign_channel":"EMAIL"}}`+"\n",
					b, i, day.Unix()+int64((b*crashBatchEvents+i)%80000), i)
			}
			items = append(items, &crashItem{n: b, body: []byte(sb.String())})
			streamsEvents += crashBatchEvents
		}
		for k := round * crashNewTracks; k < (round+1)*crashNewTracks; k++ {
			at := day.Add(3*time.Hour).Unix() + int64(k%20000)
			items = append(items, &crashItem{track: true, n: k, key: fmt.Sprintf("track-%d", k),
				body: fmt.Appendf(nil, `{"type":"event","customer_id":"t-%d","actions":[{"action":"Purchase","current_time":%d},{"action":"Purchase","current_time":%d}]}`,
					k%crashGoalUsers, at, at+1)})
			trackActions += 2
		}
	}

	// send runs the queue with 4 Streams and 4 Track senders until it is empty or the server is gone. onAck is
	// called after each acknowledgement.
	var mu sync.Mutex // guards the items' acked and requestID
	send := func(c *client.Client, queue []*crashItem, check map[*crashItem]bool, onAck func()) {
		var streams, tracks []*crashItem
		for _, it := range queue {
			if it.track {
				tracks = append(tracks, it)
			} else {
				streams = append(streams, it)
			}
		}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				list := streams
				if w%2 == 1 {
					list = tracks
				}
				for i := w / 2; i < len(list); i += 4 {
					it := list[i]
					var requestID string
					if it.track {
						res, err := c.TrackEvent(ctx, ws.WorkspaceID, ws.DataKey, it.body, it.key)
						if stop := crashSendError(t, "track "+it.key, err); stop {
							return
						}
						requestID = res.RequestID
					} else {
						res, err := c.IngestStreams(ctx, ws.WorkspaceID, ws.DataKey, client.ContentTypeNDJSON, it.body, false)
						if stop := crashSendError(t, fmt.Sprintf("batch %d", it.n), err); stop {
							return
						}
						if res.Accepted+res.Duplicates != crashBatchEvents {
							t.Errorf("batch %d: %+v", it.n, res)
						}
						if check[it] && res.Duplicates != crashBatchEvents {
							t.Errorf("acknowledged batch %d re-sent: accepted %d, duplicates %d; want only duplicates", it.n, res.Accepted, res.Duplicates)
						}
					}
					mu.Lock()
					if it.track && check[it] && requestID != it.requestID {
						t.Errorf("acknowledged Track request %s re-sent: request_id %q; the acknowledged response had %q", it.key, requestID, it.requestID)
					}
					if !it.acked {
						it.acked, it.requestID = true, requestID
					}
					mu.Unlock()
					onAck()
				}
			})
		}
		wg.Wait()
	}

	for round := range iterations {
		if round > 0 {
			p = startServerProcess(t, dataDir)
			c = client.New(p.Base)
		}
		newItems(round)
		var queue, acked []*crashItem
		for _, it := range items {
			if it.acked {
				acked = append(acked, it)
			} else {
				queue = append(queue, it)
			}
		}
		check := map[*crashItem]bool{}
		for range 2 * crashChecks {
			if len(acked) > 0 {
				it := acked[rng.IntN(len(acked))]
				if !check[it] {
					check[it] = true
					queue = append(queue, it)
				}
			}
		}
		rng.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
		// The kill: after a random number of acknowledgements (at most half the queue), or for one round in four
		// after a random delay below 300 ms, whatever has been acknowledged by then.
		var once sync.Once
		proc, jitter := p, time.Duration(rng.IntN(5000))*time.Microsecond
		kill := func() {
			once.Do(func() {
				time.Sleep(jitter)
				proc.Cmd.Process.Signal(syscall.SIGKILL)
			})
		}
		target := int64(-1)
		if rng.IntN(4) == 0 {
			delay := time.Duration(rng.IntN(300)) * time.Millisecond
			go func() { time.Sleep(delay); kill() }()
		} else {
			target = 1 + rng.Int64N(int64(max(1, len(queue)/2)))
		}
		var acks int64
		var ackMu sync.Mutex
		send(c, queue, check, func() {
			ackMu.Lock()
			acks++
			hit := acks == target
			ackMu.Unlock()
			if hit {
				go kill()
			}
		})
		kill() // the queue ran dry before the kill: kill now
		p.Wait()
		if errs := p.ErrorLogs(); len(errs) > 0 {
			t.Errorf("round %d: server logged errors:\n%s", round, strings.Join(errs, "\n"))
		}
		pending := 0
		for _, it := range items {
			if !it.acked {
				pending++
			}
		}
		t.Logf("round %d: started in %v, %d of %d requests acknowledged before the kill, %d pending", round,
			p.Started.Round(time.Millisecond), acks, len(queue), pending)
		if t.Failed() {
			return
		}
	}

	// The last process is not killed: everything pending is sent until acknowledged.
	p = startServerProcess(t, dataDir)
	c = client.New(p.Base)
	var queue []*crashItem
	for _, it := range items {
		if !it.acked {
			queue = append(queue, it)
		}
	}
	send(c, queue, nil, func() {})
	for _, it := range items {
		if !it.acked {
			t.Fatalf("request %d (track %v) not acknowledged by the last server", it.n, it.track)
		}
	}

	goalTotal := func() (int64, error) {
		n, err := statsNode(ctx, c, ws, "loop-goal", day, "TOTAL")
		return n.ConversionGoalStats["Purchase"].Total, err
	}
	sent := waitForCount(t, func() (int64, error) { return sentTotal(ctx, c, ws, "loop", day) }, streamsEvents)
	goals := waitForCount(t, goalTotal, trackActions)
	t.Logf("%d Streams events, %d Track actions sent; stored: sent %d, goal total %d", streamsEvents, trackActions, sent, goals)
	if sent != streamsEvents {
		t.Errorf("loop sent = %d; %d Streams events were sent (each exactly once expected)", sent, streamsEvents)
	}
	if goals != trackActions {
		t.Errorf("Purchase total = %d; %d Track actions were sent (each exactly once expected)", goals, trackActions)
	}
	// Re-sending acknowledged requests changes nothing.
	check := map[*crashItem]bool{}
	queue = nil
	for _, it := range items {
		if it.n%5 == 0 {
			check[it] = true
			queue = append(queue, it)
		}
	}
	send(c, queue, check, func() {})
	if again, err := sentTotal(ctx, c, ws, "loop", day); err != nil || again != sent {
		t.Errorf("loop sent = %d (%v) after re-sending acknowledged batches; was %d", again, err, sent)
	}
	if again, err := goalTotal(); err != nil || again != goals {
		t.Errorf("Purchase total = %d (%v) after re-sending acknowledged Track requests; was %d", again, err, goals)
	}
	if errs := p.ErrorLogs(); len(errs) > 0 {
		t.Errorf("server logged errors:\n%s", strings.Join(errs, "\n"))
	}
}

// crashSendError reports whether a sender must stop: the server is gone (a transport error) or answered an HTTP
// error, which is a failure of the test.
func crashSendError(t *testing.T, what string, err error) bool {
	if err == nil {
		return false
	}
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		t.Errorf("%s: %v", what, err)
	}
	return true
}
