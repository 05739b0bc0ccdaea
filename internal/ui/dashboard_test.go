package ui_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const overall = "ALL_PLATFORMS/all_locale/all_variations"

var attributionTypes = []string{"VIEW_THROUGH", "CLICK_THROUGH", "IN_SESSION", "TOTAL_CONVERSIONS", "CLICK_CONVERSIONS"}

// TestDashboard signs in, reads the campaigns page and a campaign page of every channel, and compares every number
// on screen (data-raw, and the formatted text) with the Stats API's answer to the same query; checks that the
// daily charts add up to the range's TOTAL; runs and downloads a report from the reports page; walks each page
// with the keyboard and checks its labels; and takes screenshots of each page at 1280 and 390 px.
func TestDashboard(t *testing.T) {
	e := startServer(t)
	tab := newBrowser(t)
	q := query{Start: e.start, End: e.end, Metric: "TOTAL", Attribution: "VIEW_THROUGH"}

	if !t.Run("sign_in", func(t *testing.T) {
		tab.do(t, chromedp.Navigate(e.base+"/ui/"))
		tab.waitFor(t, "the sign-in form", `document.querySelector('form.signin') !== null`)
		checkPage(t, tab, "sign-in")
		tab.screenshot(t, "signin", 1280)
		tab.screenshot(t, "signin", 390)
		// A wrong key shows the API's own error text; nothing is kept.
		tab.signIn(t, e.ws, e.key+"x")
		tab.waitFor(t, "the sign-in error", `document.querySelector('.signin-error .error') !== null`)
		msg := eval[string](t, tab, `document.querySelector('.signin-error').textContent`)
		if !strings.Contains(msg, "Invalid identity information found.") || !strings.Contains(msg, "Authentication required") {
			t.Errorf("wrong key: error %q, want the API's title and description", msg)
		}
		if stored := eval[string](t, tab, `String(sessionStorage.length)`); stored != "0" {
			t.Errorf("a refused key left %s sessionStorage entries", stored)
		}
		tab.signIn(t, e.ws, e.key)
		tab.waitFor(t, "the campaigns page", settled+` && document.querySelector('table.campaigns') !== null`)
		kept := eval[[]string](t, tab, `[sessionStorage.getItem('campaignstats.workspace'), sessionStorage.getItem('campaignstats.reportKey'), String(localStorage.length), document.cookie]`)
		if kept[0] != e.ws || kept[1] != e.key || kept[2] != "0" || kept[3] != "" {
			t.Errorf("after sign-in: sessionStorage %q/%q, localStorage entries %s, cookies %q", kept[0], kept[1], kept[2], kept[3])
		}
		tab.checkProblems(t)
	}) {
		return
	}

	t.Run("campaigns", func(t *testing.T) {
		testCampaignsPage(t, e, tab, q)
	})

	t.Run("campaign_pages", func(t *testing.T) {
		seen := map[string]bool{}
		for _, c := range e.gen.Campaigns() {
			ch, _ := c.Body["channel"].(string)
			if c.Parent != "" || seen[ch] {
				continue
			}
			seen[ch] = true
			t.Run(ch, func(t *testing.T) {
				testCampaignPage(t, e, tab, q, c.ID, ch)
			})
		}
		if len(seen) != 10 {
			t.Errorf("campaign pages of %d channels, want 10", len(seen))
		}
	})

	t.Run("reports", func(t *testing.T) {
		testReportsPage(t, e, tab)
	})
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers on screen

// domValue is one number on screen: where it comes from and what it shows.
type domValue struct {
	Campaign    string `json:"campaign"`
	Node        string `json:"node"`
	Attribution string `json:"attribution"`
	Section     string `json:"section"`
	Field       string `json:"field"`
	Goal        string `json:"goal"`
	Kind        string `json:"kind"`
	Raw         string `json:"raw"`
	Text        string `json:"text"`
}

// readValues lists every element with data-raw inside scope.
func readValues(t *testing.T, tab *browserTab, scope string) []domValue {
	t.Helper()
	return eval[[]domValue](t, tab, `Array.from(document.querySelectorAll(`+strconv.Quote(scope)+` + ' [data-raw]')).map((e) => {
		const c = e.closest('[data-campaign-id]');
		const n = e.closest('[data-node]');
		const a = e.closest('[data-attribution]');
		return {campaign: c ? c.dataset.campaignId : '', node: n ? n.dataset.node : '', attribution: a ? a.dataset.attribution : '',
			section: e.dataset.section || '', field: e.dataset.field || '', goal: e.dataset.goal || '', kind: e.dataset.kind || '',
			raw: e.dataset.raw, text: e.textContent};
	})`)
}

// formatted is the text the page must show for an API number: thousands separators, the API's decimals, % for
// rates.
func formatted(kind, raw string) string {
	neg := strings.HasPrefix(raw, "-")
	ip, fp, _ := strings.Cut(strings.TrimPrefix(raw, "-"), ".")
	var b strings.Builder
	for i, c := range ip {
		if i > 0 && (len(ip)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if fp != "" {
		out += "." + fp
	}
	if neg {
		out = "-" + out
	}
	if kind == "rate" {
		out += "%"
	}
	return out
}

// checkValues compares every value with the Stats answer for its attribution type (def when the page does not
// say); it returns how many were compared.
func checkValues(t *testing.T, vals []domValue, answers map[string]statsResponse, def string) int {
	t.Helper()
	bad := 0
	for _, v := range vals {
		at := v.Attribution
		if at == "" {
			at = def
		}
		resp, ok := answers[at]
		if !ok {
			t.Errorf("%+v: no Stats answer for attribution %q", v, at)
			continue
		}
		members := []string{v.Section, v.Field}
		if v.Goal != "" {
			members = []string{v.Section, v.Goal, v.Field}
		}
		got, found := resp.lookup(v.Campaign, v.Node, members...)
		num, isNum := got.(json.Number)
		switch {
		case !found || !isNum:
			t.Errorf("%s %s %s: the page shows %s but the Stats API has no such number (%v)", v.Campaign, v.Node,
				strings.Join(members, "."), v.Raw, got)
			bad++
		case string(num) != v.Raw:
			t.Errorf("%s %s %s (%s): the page shows %s, the Stats API says %s", v.Campaign, v.Node,
				strings.Join(members, "."), at, v.Raw, num)
			bad++
		case v.Text != formatted(v.Kind, v.Raw):
			t.Errorf("%s %s %s: text %q, want %q for %s", v.Campaign, v.Node, strings.Join(members, "."), v.Text,
				formatted(v.Kind, v.Raw), v.Raw)
			bad++
		}
		if bad > 20 {
			t.Fatalf("too many differences")
		}
	}
	return len(vals)
}

// dataKeys returns the campaign ids of a Stats body in the order sent.
func dataKeys(t *testing.T, e *dashEnv, q query, extra map[string]any) []string {
	t.Helper()
	var head struct {
		Data json.RawMessage `json:"data"`
	}
	e.call(t, http.MethodPost, "/core-services/v1/campaign-stats", q.body(extra), &head)
	dec := json.NewDecoder(bytes.NewReader(head.Data))
	dec.Token()
	var out []string
	for dec.More() {
		k, _ := dec.Token()
		out = append(out, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	return out
}

func rowIDs(t *testing.T, tab *browserTab, sel string) []string {
	return eval[[]string](t, tab, `Array.from(document.querySelectorAll(`+strconv.Quote(sel)+`)).map((r) => r.dataset.campaignId)`)
}

func testCampaignsPage(t *testing.T, e *dashEnv, tab *browserTab, q query) {
	ready := `document.querySelector('table.campaigns') !== null`
	tab.open(t, e, "#/campaigns?"+q.params(), ready)
	checkPage(t, tab, "campaigns")

	// Page 1 and page 2, in the Stats API's order, with its total.
	for page := 1; page <= 2; page++ {
		extra := map[string]any{"offset": (page - 1) * 10, "limit": 10}
		want := dataKeys(t, e, q, extra)
		resp := e.stats(t, q, extra)
		if got := rowIDs(t, tab, "tbody.campaign > tr"); !slices.Equal(got, want) {
			t.Errorf("page %d: rows %v, want the Stats API's %v", page, got, want)
		}
		if total := eval[string](t, tab, `document.querySelector('.summary').dataset.total`); total != strconv.Itoa(resp.TotalCampaigns) {
			t.Errorf("page %d: total %s, want %d", page, total, resp.TotalCampaigns)
		}
		n := checkValues(t, readValues(t, tab, "tbody.campaign"), map[string]statsResponse{q.Attribution: resp}, q.Attribution)
		if n < len(want) {
			t.Errorf("page %d: %d numbers compared for %d campaigns", page, n, len(want))
		}
		if page == 1 {
			if resp.TotalPages < 2 {
				t.Fatalf("the demo data fills %d page(s); the test wants two", resp.TotalPages)
			}
			tab.screenshot(t, "campaigns", 1280)
			tab.screenshot(t, "campaigns", 390)
			tab.do(t, chromedp.Click(`.pager button:last-of-type`))
			tab.waitFor(t, "page 2", settled+` && /Page 2 of/.test(document.querySelector('.page-of').textContent)`)
		}
	}

	// The metric and attribution toggles: the page reloads with the new query.
	u := query{Start: q.Start, End: q.End, Metric: "UNIQUE", Attribution: "CLICK_THROUGH"}
	tab.do(t, chromedp.Click(`label[for^="q-metric-unique"]`))
	tab.waitFor(t, "the UNIQUE reload", settled+` && location.hash.includes('metric=UNIQUE')`)
	eval[bool](t, tab, `(() => { const s = document.querySelector('select[name="attribution"]'); s.value = 'CLICK_THROUGH'; s.dispatchEvent(new Event('change')); return true; })()`)
	tab.waitFor(t, "the CLICK_THROUGH reload", settled+` && location.hash.includes('attribution=CLICK_THROUGH') && location.hash.includes('page=') === false`)
	resp := e.stats(t, u, map[string]any{"limit": 10})
	if got, want := rowIDs(t, tab, "tbody.campaign > tr"), dataKeys(t, e, u, map[string]any{"limit": 10}); !slices.Equal(got, want) {
		t.Errorf("UNIQUE/CLICK_THROUGH: rows %v, want %v", got, want)
	}
	checkValues(t, readValues(t, tab, "tbody.campaign"), map[string]statsResponse{u.Attribution: resp}, u.Attribution)

	// A parent expands to its executions (Executions API), each with its own numbers.
	tab.open(t, e, "#/campaigns?"+q.params(), ready)
	if !eval[bool](t, tab, `document.querySelector('button.toggle') !== null`) {
		t.Fatal("no parent with executions on the first page")
	}
	parent := eval[string](t, tab, `document.querySelector('button.toggle').closest('tr').dataset.campaignId`)
	tab.do(t, chromedp.Click(`button.toggle`))
	tab.waitFor(t, "the executions", settled+` && document.querySelector('tbody.children:not([hidden]) tr[data-campaign-id]') !== null`)
	kids := rowIDs(t, tab, "tbody.children:not([hidden]) tr[data-campaign-id]")
	var want []string
	for _, c := range e.gen.Campaigns() {
		if c.Parent == parent {
			want = append(want, c.ID)
		}
	}
	if slices.Sort(kids); !slices.Equal(kids, want) {
		t.Errorf("executions of %s: %v, want %v", parent, kids, want)
	}
	checkValues(t, readValues(t, tab, "tbody.children"), map[string]statsResponse{q.Attribution: e.stats(t, q, map[string]any{"campaign_ids": kids})}, q.Attribution)
	if got := eval[string](t, tab, `document.querySelector('button.toggle').getAttribute('aria-expanded')`); got != "true" {
		t.Errorf("expanded toggle: aria-expanded %s", got)
	}

	// The channel filter lists the Meta API's campaigns of that channel.
	eval[bool](t, tab, `(() => { const s = document.querySelector('select[name="channel"]'); s.value = 'EMAIL'; s.dispatchEvent(new Event('change')); return true; })()`)
	tab.waitFor(t, "the EMAIL filter", settled+` && location.hash.includes('channel=EMAIL')`)
	ids := rowIDs(t, tab, "tbody.campaign > tr")
	var emails []string
	for _, c := range e.gen.Campaigns() {
		if c.Body["channel"] == "EMAIL" {
			emails = append(emails, c.ID)
		}
	}
	if got := slices.Sorted(slices.Values(ids)); len(ids) == 0 || !slices.Equal(got, emails) {
		t.Errorf("EMAIL filter: rows %v, want %v", ids, emails)
	}
	checkValues(t, readValues(t, tab, "tbody.campaign"), map[string]statsResponse{q.Attribution: e.stats(t, q, map[string]any{"campaign_ids": ids})}, q.Attribution)

	// Search by name (case-insensitive substring) and by exact id.
	for _, c := range []struct{ text, want string }{{"SMS CAMPAIGN", "demo_sms_002"}, {"demo_cards_006", "demo_cards_006"}} {
		tab.open(t, e, "#/campaigns?"+q.params(), ready)
		tab.do(t, chromedp.SendKeys(`input[name="q"]`, c.text), chromedp.Click(`form.filters button[type="submit"]`))
		tab.waitFor(t, "search "+c.text, settled+` && location.hash.includes('q=')`)
		if got := rowIDs(t, tab, "tbody.campaign > tr"); !slices.Equal(got, []string{c.want}) {
			t.Errorf("search %q: rows %v, want [%s]", c.text, got, c.want)
		}
	}
	tab.open(t, e, "#/campaigns?"+q.params()+"&q=no-such-campaign", `document.querySelector('.empty') !== null`)
	tab.checkProblems(t)
}

// chartSeries is one small chart: its series key and its bars.
type chartSeries struct {
	Series string `json:"series"`
	Bars   []struct {
		Date  string `json:"date"`
		Value string `json:"value"`
	} `json:"bars"`
}

func testCampaignPage(t *testing.T, e *dashEnv, tab *browserTab, q query, cid, channel string) {
	tab.open(t, e, "#/campaign/"+url.PathEscape(cid)+"?"+q.params(), `document.querySelector('.campaign-body .mini-chart, .campaign-body .empty') !== null && document.querySelector('.facts .badge') !== null`)
	answers := map[string]statsResponse{}
	for _, at := range attributionTypes {
		answers[at] = e.stats(t, query{q.Start, q.End, q.Metric, at}, map[string]any{"campaign_ids": []string{cid}})
	}
	vals := readValues(t, tab, ".campaign-body")
	checkValues(t, vals, answers, q.Attribution)
	// Every performance field of ALL_PLATFORMS is in the overview.
	perf, _ := answers[q.Attribution].lookup(cid, overall, "performance_stats")
	overview := 0
	nodes := map[string]bool{}
	for _, v := range vals {
		nodes[v.Node] = true
		if v.Section == "performance_stats" && v.Node == overall {
			overview++
		}
	}
	if m, _ := perf.(map[string]any); overview < len(m) {
		t.Errorf("%s: %d performance numbers of ALL_PLATFORMS on screen, the API has %d fields", cid, overview, len(m))
	}
	// The breakdowns show every platform, locale and variation node the API returns under the aggregates.
	entry := answers[q.Attribution].Data[cid][0]["platforms"].(map[string]any)
	for p, pv := range entry {
		if p != "ALL_PLATFORMS" && !nodes[p+"/all_locale/all_variations"] {
			t.Errorf("%s: platform %s is not on screen", cid, p)
		}
		if p != "ALL_PLATFORMS" {
			continue
		}
		for l, lv := range pv.(map[string]any)["locales"].(map[string]any) {
			if !nodes["ALL_PLATFORMS/"+l+"/all_variations"] {
				t.Errorf("%s: locale %s is not on screen", cid, l)
			}
			if l != "all_locale" {
				continue
			}
			for v := range lv.(map[string]any)["variations"].(map[string]any) {
				if !nodes["ALL_PLATFORMS/all_locale/"+v] {
					t.Errorf("%s: variation %s is not on screen", cid, v)
				}
			}
		}
	}

	// The daily charts: one bar per date of the range, and the bars add up to the range's TOTAL.
	charts := eval[[]chartSeries](t, tab, `Array.from(document.querySelectorAll('figure.mini-chart')).map((f) => ({series: f.dataset.series,
		bars: Array.from(f.querySelectorAll('rect.bar')).map((r) => ({date: r.dataset.date, value: r.dataset.value}))}))`)
	if len(charts) == 0 && channel != "UNKNOWN" {
		t.Fatalf("%s: no daily chart", cid)
	}
	start, _ := time.Parse(time.DateOnly, q.Start)
	for _, c := range charts {
		var members []string
		if rest, ok := strings.CutPrefix(c.Series, "conversion_goal_stats."); ok {
			goal := strings.TrimSuffix(rest, ".conversions")
			members = []string{"conversion_goal_stats", goal, "conversions"}
		} else {
			members = strings.SplitN(c.Series, ".", 2)
		}
		want, _ := answers[q.Attribution].lookup(cid, overall, members...)
		sum := int64(0)
		for i, b := range c.Bars {
			if d := start.AddDate(0, 0, i).Format(time.DateOnly); b.Date != d {
				t.Errorf("%s %s: bar %d is %s, want %s", cid, c.Series, i, b.Date, d)
			}
			v, err := strconv.ParseInt(b.Value, 10, 64)
			if err != nil {
				t.Errorf("%s %s %s: value %q", cid, c.Series, b.Date, b.Value)
			}
			sum += v
		}
		if len(c.Bars) != 14 {
			t.Errorf("%s %s: %d bars, want 14", cid, c.Series, len(c.Bars))
		}
		if fmt.Sprint(want) != strconv.FormatInt(sum, 10) {
			t.Errorf("%s %s: the daily bars add up to %d, the range's TOTAL is %v", cid, c.Series, sum, want)
		}
	}
	if channel == "PUSH" {
		checkPage(t, tab, "campaign")
		tab.screenshot(t, "campaign", 1280)
		tab.screenshot(t, "campaign", 390)
	}
	tab.checkProblems(t)
}

// ---------------------------------------------------------------------------------------------------------------
// Reports

func setField(t *testing.T, tab *browserTab, sel, value string) {
	t.Helper()
	eval[bool](t, tab, `(() => { const el = document.querySelector(`+strconv.Quote(sel)+`); el.value = `+strconv.Quote(value)+`;
		el.dispatchEvent(new Event('input')); el.dispatchEvent(new Event('change')); return true; })()`)
}

// apiError posts a report definition the API refuses and returns its description.
func apiError(t *testing.T, e *dashEnv, def string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.base+"/v1/reports/"+e.ws, strings.NewReader(def))
	req.SetBasicAuth(e.ws, e.key)
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Description string `json:"description"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("definition %s: HTTP %d, want 400", def, resp.StatusCode)
	}
	return body.Description
}

func testReportsPage(t *testing.T, e *dashEnv, tab *browserTab) {
	ready := `document.querySelector('form.report-form') !== null`
	tab.open(t, e, "#/reports", ready)

	// Validation errors appear next to the field they name, in the API's words.
	for _, c := range []struct {
		name, days, field, def string
	}{
		{"9 lives", "7", "name", `{"name":"9 lives","range":{"last_days":7}}`},
		{"UI Test Report", "0", "range.last_days", `{"name":"UI Test Report","range":{"last_days":0}}`},
	} {
		setField(t, tab, `form.report-form input[name="name"]`, c.name)
		setField(t, tab, `form.report-form input[name="last_days"]`, c.days)
		tab.do(t, chromedp.Click(`form.report-form button[type="submit"]`))
		box := `[data-field="` + c.field + `"]`
		tab.waitFor(t, "the error of "+c.field, `document.querySelector('`+box+`.has-error') !== null`)
		got := eval[[]string](t, tab, `[document.querySelector('`+box+` > .field-error').textContent,
			document.querySelector('`+box+` input').getAttribute('aria-invalid'), document.activeElement.name]`)
		if want := apiError(t, e, c.def); got[0] != want || got[1] != "true" {
			t.Errorf("field %s: error %q (aria-invalid %s), want the API's %q", c.field, got[0], got[1], want)
		}
	}
	setField(t, tab, `form.report-form input[name="last_days"]`, "30")
	tab.do(t, chromedp.Click(`form.report-form button[type="submit"]`))
	tab.waitFor(t, "the new report", settled+` && Array.from(document.querySelectorAll('table.reports th')).some((th) => th.textContent === 'UI Test Report')`)
	if errs := eval[int](t, tab, `document.querySelectorAll('form.report-form .has-error').length`); errs != 0 {
		t.Errorf("%d fields still marked invalid after a successful create", errs)
	}

	// Run now, wait for the run, download its file: a valid zip with the run's SHA-256.
	row := `table.reports tr:has(th:first-child)`
	eval[bool](t, tab, `(() => { for (const tr of document.querySelectorAll('table.reports tbody tr')) {
		if (tr.querySelector('th').textContent === 'UI Test Report') { tr.querySelector('button.run-now').click(); return true; } } return false; })()`)
	_ = row
	tab.waitFor(t, "a successful run", `document.querySelector('table.runs tr[data-status="SUCCESSFUL"] button.download') !== null`)
	tab.waitFor(t, "the list refresh", settled)
	filename := eval[string](t, tab, `document.querySelector('table.runs tr[data-status="SUCCESSFUL"] button.download').dataset.filename`)
	if !strings.HasPrefix(filename, "UI_Test_Report_") || !strings.HasSuffix(filename, ".zip") {
		t.Errorf("run file %q", filename)
	}
	checkPage(t, tab, "reports")
	tab.do(t, chromedp.Click(`table.runs tr[data-status="SUCCESSFUL"] button.download`))
	tab.waitFor(t, "the download", `document.querySelector('.download-status[data-downloaded]') !== null`)
	path := filepath.Join(tab.downloads, filename)
	var data []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			if _, err := os.Stat(path + ".crdownload"); os.IsNotExist(err) {
				data = b
				break
			}
		}
	}
	if data == nil {
		entries, _ := os.ReadDir(tab.downloads)
		t.Fatalf("no downloaded %s in %s (%v)", filename, tab.downloads, entries)
	}
	var runs struct {
		Runs []struct {
			Filename string `json:"filename"`
			SHA256   string `json:"sha256"`
			Size     int    `json:"size"`
		} `json:"runs"`
	}
	var list struct {
		Reports []struct {
			ID   string `json:"report_id"`
			Name string `json:"name"`
		} `json:"reports"`
	}
	e.call(t, http.MethodGet, "/v1/reports/"+e.ws, nil, &list)
	for _, r := range list.Reports {
		if r.Name == "UI Test Report" {
			e.call(t, http.MethodGet, "/v1/reports/"+e.ws+"/"+r.ID+"/runs?limit=1", nil, &runs)
		}
	}
	sum := sha256.Sum256(data)
	if len(runs.Runs) != 1 || runs.Runs[0].Filename != filename || runs.Runs[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("downloaded %s: %d bytes, sha256 %x; the run says %+v", filename, len(data), sum, runs.Runs)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("downloaded %s: %v", filename, err)
	}
	if len(zr.File) == 0 {
		t.Errorf("downloaded %s: an empty zip", filename)
	}
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, "UI_Test_Report_") || !strings.HasSuffix(f.Name, ".csv") {
			t.Errorf("downloaded %s: entry %s", filename, f.Name)
		}
	}
	tab.screenshot(t, "reports", 1280)
	tab.screenshot(t, "reports", 390)

	// The browser's signature equals the server's rule (SPEC §8.9), with SubtleCrypto and with the fallback used
	// where the page is not a secure context.
	want := sha256.Sum256([]byte(e.ws + "|" + filename + "|" + e.key))
	got := eval[[]string](t, tab, `(async () => {
		const api = await import('./js/api.js');
		const sha = await import('./js/sha256.js');
		const text = `+strconv.Quote(e.ws+"|"+filename+"|"+e.key)+`;
		return [await api.reportSignature(`+strconv.Quote(e.ws)+`, `+strconv.Quote(filename)+`, sessionStorage.getItem('campaignstats.reportKey')),
			sha.sha256Hex(new TextEncoder().encode(text)), sha.sha256Hex(new TextEncoder().encode('')),
			sha.sha256Hex(new TextEncoder().encode('x'.repeat(1000)))];
	})()`)
	long := sha256.Sum256(bytes.Repeat([]byte("x"), 1000))
	empty := sha256.Sum256(nil)
	if got[0] != hex.EncodeToString(want[:]) || got[1] != got[0] || got[2] != hex.EncodeToString(empty[:]) || got[3] != hex.EncodeToString(long[:]) {
		t.Errorf("signatures in the browser %v, want %x (empty %x, long %x)", got, want, empty, long)
	}
	tab.checkProblems(t)
}
