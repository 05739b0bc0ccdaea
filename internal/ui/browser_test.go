package ui_test

// Browser tests of the dashboard: the real server in-process with demo data, Debian's chromium driven headless
// through the DevTools protocol. Every number the page shows is compared with the Stats API's answer to the same
// query, fetched by the test itself.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/campaignstats/campaignstats/client"
	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/demo"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

var updateScreenshots = flag.Bool("update-screenshots", false,
	"also write the dashboard screenshots to docs/screenshots (they are always written to the test's artifact directory)")

// requireBrowserEnv makes a missing chromium a failure instead of a skip; .ci/run sets it.
const requireBrowserEnv = "CAMPAIGNSTATS_REQUIRE_BROWSER"

// chromiumPath finds the browser: $CAMPAIGNSTATS_CHROMIUM, else Debian's chromium, else a Chrome on PATH.
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("CAMPAIGNSTATS_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser",
		"google-chrome", "google-chrome-stable"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := "no chromium binary found (install Debian's chromium: apt-get install -y chromium, or set CAMPAIGNSTATS_CHROMIUM)"
	if os.Getenv(requireBrowserEnv) != "" {
		t.Fatalf("%s is set but %s", requireBrowserEnv, msg)
	}
	t.Skip(msg)
	return ""
}

// dashEnv is a running server loaded with demo data, a workspace and the query range the tests read.
type dashEnv struct {
	base       string
	ws, key    string
	start, end string // the demo traffic's dates
	gen        *demo.Generator
	hc         *http.Client
}

// startServer starts the real server on a free port with a temporary data directory, creates a workspace (with a
// rate limit high enough that the tests never wait) and loads the demo generator's catalog and traffic through the
// public ingest API, as `campaignstats demo` does.
func startServer(t *testing.T) *dashEnv {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.DeriveWait = 30 * time.Second // numbers, not timing, are checked here: never read derived data early on a loaded machine
	srv, err := app.Start(t.Context(), cfg, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	limit := 100000
	ws, err := srv.Workspaces().Create(t.Context(), workspace.CreateRequest{Name: "Dashboard", RateLimitPerMinute: &limit})
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().UTC().Truncate(24 * time.Hour)
	gen := demo.New(demo.Options{Campaigns: 10, Users: 600, Days: 14, Seed: 3, End: end})
	c := client.New(srv.URL())
	for _, cp := range gen.Campaigns() {
		if _, _, err := c.PutCampaign(t.Context(), ws.ID, ws.DataKey, cp.ID, cp.Body); err != nil {
			t.Fatalf("put campaign %s: %v", cp.ID, err)
		}
	}
	var batch bytes.Buffer
	flush := func() error {
		if batch.Len() == 0 {
			return nil
		}
		res, err := c.IngestStreams(t.Context(), ws.ID, ws.DataKey, "application/x-ndjson", batch.Bytes(), true)
		if err == nil && res.Rejected > 0 {
			err = fmt.Errorf("%d demo events rejected: %+v", res.Rejected, res.Errors[0])
		}
		batch.Reset()
		return err
	}
	err = gen.Generate(func(line []byte) error {
		batch.Write(line)
		if batch.Len() > 4<<20 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		t.Fatalf("load demo data: %v", err)
	}
	return &dashEnv{base: srv.URL(), ws: ws.ID, key: ws.ReportKey, gen: gen, hc: &http.Client{Timeout: time.Minute},
		start: end.AddDate(0, 0, -14).Format(time.DateOnly), end: end.AddDate(0, 0, -1).Format(time.DateOnly)}
}

// call sends an API request with the report key (Basic auth and MOE-APPKEY) and decodes a 2xx JSON answer into out,
// numbers as json.Number.
func (e *dashEnv) call(t *testing.T, method, path string, body any, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(e.ws+":"+e.key)))
	req.Header.Set("MOE-APPKEY", e.ws)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

// statsResponse is a Stats API answer, every number kept as its exact text.
type statsResponse struct {
	TotalCampaigns int                                 `json:"total_campaigns"`
	CurrentPage    int                                 `json:"current_page"`
	TotalPages     int                                 `json:"total_pages"`
	Data           map[string][]map[string]interface{} `json:"data"`
}

type query struct {
	Start, End, Metric, Attribution string
}

func (q query) body(extra map[string]any) map[string]any {
	b := map[string]any{"request_id": "ui-test", "start_date": q.Start, "end_date": q.End, "metric_type": q.Metric,
		"attribution_type": q.Attribution}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func (q query) params() string {
	return fmt.Sprintf("start=%s&end=%s&metric=%s&attribution=%s", q.Start, q.End, q.Metric, q.Attribution)
}

func (e *dashEnv) stats(t *testing.T, q query, extra map[string]any) statsResponse {
	t.Helper()
	var r statsResponse
	e.call(t, http.MethodPost, "/core-services/v1/campaign-stats", q.body(extra), &r)
	return r
}

// lookup walks data[cid][0].platforms[P].locales[L].variations[V] and then the members given.
func (r statsResponse) lookup(cid, node string, members ...string) (any, bool) {
	arr := r.Data[cid]
	if len(arr) != 1 {
		return nil, false
	}
	parts := strings.SplitN(node, "/", 3)
	if len(parts) != 3 {
		return nil, false
	}
	var cur any = arr[0]
	for _, k := range append([]string{"platforms", parts[0], "locales", parts[1], "variations", parts[2]}, members...) {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// ---------------------------------------------------------------------------------------------------------------
// The browser

// browserTab is one headless chromium tab, with the page errors it reported.
type browserTab struct {
	ctx       context.Context
	downloads string
	mu        sync.Mutex
	problems  []string
}

// newBrowser starts chromium with a fresh profile and the flags this machine's closed network needs, and opens a
// tab whose downloads go to a temporary directory.
func newBrowser(t *testing.T) *browserTab {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab := &browserTab{downloads: t.TempDir()}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			text := d.Text
			if d.Exception != nil {
				text += " " + d.Exception.Description
			}
			tab.problem(fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				tab.problem(fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " ")))
			}
		case *cdplog.EventEntryAdded:
			// Refused requests (the tests send wrong keys and invalid definitions on purpose) log as network
			// errors; anything else — a Content-Security-Policy violation above all — is a problem.
			if en := ev.Entry; en.Source != cdplog.EntrySourceNetwork && (en.Level == cdplog.EntryLevelError || en.Level == cdplog.EntryLevelWarning) {
				tab.problem(fmt.Sprintf("log (%s): %s %s", en.Source, en.Text, en.URL))
			}
		}
	}))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	tab.ctx = ctx
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("enable the browser log: %v", err)
	}
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: tab.downloads}); err != nil {
		t.Fatalf("download behaviour: %v", err)
	}
	return tab
}

func (b *browserTab) problem(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, s)
}

// checkProblems fails the test with the page errors seen since the last check (CSP violations, exceptions).
func (b *browserTab) checkProblems(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("page: %s", p)
	}
	b.problems = nil
}

func (b *browserTab) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// eval runs a JavaScript expression in the page and decodes its JSON-able value.
func eval[T any](t *testing.T, b *browserTab, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %.80q: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it is true.
func (b *browserTab) waitFor(t *testing.T, what, cond string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		html, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText.slice(0, 2000) : document.body.innerText.slice(0, 2000)`))
		t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, html)
	}
}

// settled is true once the page has nothing loading.
const settled = `document.querySelector('main') !== null && document.querySelector('[aria-busy="true"], .loading') === null`

// open navigates to a dashboard route (#/…) and waits until it has loaded.
func (b *browserTab) open(t *testing.T, e *dashEnv, route, ready string) {
	t.Helper()
	b.do(t, chromedp.Navigate(e.base+"/ui/"+route))
	b.waitFor(t, route, settled+" && ("+ready+")")
}

// signIn fills the sign-in form.
func (b *browserTab) signIn(t *testing.T, ws, key string) {
	t.Helper()
	b.do(t, chromedp.WaitVisible(`form.signin input[name="workspace"]`))
	setField(t, b, `form.signin input[name="workspace"]`, "")
	setField(t, b, `form.signin input[name="report_key"]`, "")
	b.do(t,
		chromedp.SendKeys(`form.signin input[name="workspace"]`, ws),
		chromedp.SendKeys(`form.signin input[name="report_key"]`, key),
		chromedp.Click(`form.signin button[type="submit"]`),
	)
}

// screenshot writes a full-page PNG of the current page at the given width to the test's artifact directory and,
// with -update-screenshots, to docs/screenshots.
func (b *browserTab) screenshot(t *testing.T, name string, width int64) {
	t.Helper()
	eval[bool](t, b, `(document.activeElement && document.activeElement.blur(), window.scrollTo(0, 0), true)`)
	b.do(t, chromedp.EmulateViewport(width, 900))
	b.waitFor(t, "layout at width "+strconv.FormatInt(width, 10), settled+` && document.documentElement.clientWidth === `+strconv.FormatInt(width, 10))
	time.Sleep(150 * time.Millisecond) // let the layout paint
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	file := fmt.Sprintf("%s-%d.png", name, width)
	dirs := []string{t.ArtifactDir()}
	if *updateScreenshots {
		dirs = append(dirs, filepath.Join("..", "..", "docs", "screenshots"))
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshot %s (%d bytes) in %s", file, len(png), strings.Join(dirs, ", "))
	b.do(t, chromedp.EmulateViewport(1280, 900))
}
