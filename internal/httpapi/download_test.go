package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/blob"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// fakeRuns is a ReportRunFinder over a map of filename → run.
type fakeRuns map[string]store.ReportRun

func (f fakeRuns) RunByFilename(_ context.Context, workspaceID, filename string) (store.ReportRun, error) {
	r, ok := f[workspaceID+"/"+filename]
	if !ok {
		return r, fmt.Errorf("run: %w", domain.ErrNotFound)
	}
	return r, nil
}

const dlFile = "Weekly_Push_Report_20250310.zip"

type downloadEnv struct {
	*testEnv
	content  []byte
	sha      string
	finished time.Time
	runs     fakeRuns
}

func newDownloadEnv(t *testing.T) *downloadEnv {
	t.Helper()
	e := &downloadEnv{testEnv: newTestEnv(t), runs: fakeRuns{}}
	files, err := blob.OpenDir(filepath.Join(t.TempDir(), "reports"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { files.Close() })
	e.api.ReportFiles, e.api.ReportRuns = files, e.runs
	rng := rand.New(rand.NewPCG(1, 2))
	e.content = make([]byte, 10000)
	for i := range e.content {
		e.content[i] = byte(rng.IntN(256))
	}
	sum := sha256.Sum256(e.content)
	e.sha = hex.EncodeToString(sum[:])
	e.finished = e.now.Add(-time.Hour).Truncate(time.Second)
	for _, name := range []string{dlFile, "Daily_Report_20250310.gz"} {
		if _, err := files.Put(context.Background(), e.active.ID, name, func(w io.Writer) error {
			_, err := w.Write(e.content)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		exp := e.finished.Add(7 * 24 * time.Hour)
		fin := e.finished
		e.runs[e.active.ID+"/"+name] = store.ReportRun{ID: "run-" + name, WorkspaceID: e.active.ID, Status: store.RunSuccessful,
			Filename: name, Size: int64(len(e.content)), SHA256: e.sha, FinishedAt: &fin, ExpiresAt: &exp}
	}
	return e
}

func (e *downloadEnv) sig(ws domain.Workspace, filename string) string {
	return ReportSignature(ws.ID, filename, ws.ReportKey)
}

func (e *downloadEnv) get(t *testing.T, method, path string, header map[string]string) response {
	t.Helper()
	return e.do(t, method, path, header, nil)
}

func dlPath(appID, filename string) string {
	return "/campaign_reports/rest_api/" + appID + "/" + filename
}

func dlErr(attr, msg string) string {
	return fmt.Sprintf(`{"error":{"attribute":%q,"message":%q,"type":"BAD REQUEST","request_id":"$RID"}}`, attr, msg)
}

// TestDownloadChecksInOrder walks SPEC §8.9's check table row by row; each case fails exactly one check and passes
// every earlier one, and later checks would fail too where that proves the order.
func TestDownloadChecksInOrder(t *testing.T) {
	e := newDownloadEnv(t)
	act, dis := e.active, e.disabled
	good := map[string]string{"Signature": e.sig(act, dlFile)}
	unknownWS := "ffffffffffffffffffffffff"
	other, err := e.api.Workspaces.Create(context.Background(), workspace.CreateRequest{Name: "other", WorkspaceID: "bbbbbbbbbbbbbbbbbbbbbbbb"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		path   string
		header map[string]string
		status int
		body   string
	}{
		// 1. file name format, checked before the workspace exists
		{"1 no date", dlPath(unknownWS, "report.zip"), nil, 400, dlErr("FILENAME", "Invalid report file name or file name format.")},
		{"1 seven digits", dlPath(act.ID, "Weekly_2025031.zip"), good, 400, dlErr("FILENAME", "Invalid report file name or file name format.")},
		{"1 nine digits", dlPath(act.ID, "Weekly_202503101.zip"), good, 400, dlErr("FILENAME", "Invalid report file name or file name format.")},
		{"1 extension", dlPath(act.ID, "Weekly_20250310.csv"), good, 400, dlErr("FILENAME", "Invalid report file name or file name format.")},
		{"1 upper-case extension", dlPath(act.ID, "Weekly_20250310.ZIP"), good, 400, dlErr("FILENAME", "Invalid report file name or file name format.")},
		{"1 space", dlPath(act.ID, "Weekly%20Report_20250310.zip"), good, 400, dlErr("FILENAME", "Invalid report file name or file name format.")},
		{"1 traversal", dlPath(act.ID, "..%2F..%2Fetc_20250310.zip"), good, 400, dlErr("FILENAME", "Invalid report file name or file name format.")},
		{"1 empty stem", dlPath(act.ID, "_20250310.zip"), good, 400, dlErr("FILENAME", "Invalid report file name or file name format.")},
		{"1 unicode digits", dlPath(act.ID, "W_２０２５０３１０.zip"), good, 400, dlErr("FILENAME", "Invalid report file name or file name format.")},
		// 2. existing workspace, checked before the signature
		{"2 unknown workspace", dlPath(unknownWS, dlFile), nil, 400, dlErr("APP_ID", "Invalid APP ID.")},
		{"2 upper-case workspace id", dlPath(strings.ToUpper(act.ID), dlFile), good, 400, dlErr("APP_ID", "Invalid APP ID.")},
		// 3. active workspace, checked before the signature
		{"3 disabled, no signature", dlPath(dis.ID, dlFile), nil, 400, dlErr("APP_ID", "Workspace is disabled.")},
		{"3 disabled, good signature", dlPath(dis.ID, dlFile), map[string]string{"Signature": e.sig(dis, dlFile)}, 400,
			dlErr("APP_ID", "Workspace is disabled.")},
		// 4. signature, checked before the file lookup
		{"4 missing", dlPath(act.ID, dlFile), nil, 401, `{}`},
		{"4 missing, unknown file", dlPath(act.ID, "Other_20250310.zip"), nil, 401, `{}`},
		{"4 empty header", dlPath(act.ID, dlFile), map[string]string{"Signature": ""}, 401, `{}`},
		{"4 wrong", dlPath(act.ID, dlFile), map[string]string{"Signature": strings.Repeat("0", 64)}, 401, `{}`},
		{"4 other file's", dlPath(act.ID, dlFile), map[string]string{"Signature": e.sig(act, "Other_20250310.zip")}, 401, `{}`},
		{"4 other workspace's key", dlPath(act.ID, dlFile), map[string]string{"Signature": ReportSignature(act.ID, dlFile, dis.ReportKey)}, 401, `{}`},
		{"4 data key", dlPath(act.ID, dlFile), map[string]string{"Signature": ReportSignature(act.ID, dlFile, act.DataKey)}, 401, `{}`},
		{"4 Basic auth is not a signature", dlPath(act.ID, dlFile), map[string]string{"Authorization": basic(act.ID, act.ReportKey)}, 401, `{}`},
		{"4 header wins over a good query", dlPath(act.ID, dlFile) + "?Signature=" + e.sig(act, dlFile),
			map[string]string{"Signature": "bad"}, 401, `{}`},
		{"4 truncated", dlPath(act.ID, dlFile), map[string]string{"Signature": e.sig(act, dlFile)[:63]}, 401, `{}`},
		// 5. file produced by a run of this workspace
		{"5 unknown file", dlPath(act.ID, "Other_20250310.zip"), map[string]string{"Signature": e.sig(act, "Other_20250310.zip")}, 400,
			dlErr("FILENAME", "Report file not found.")},
		{"5 other workspace's file", dlPath(other.ID, dlFile), map[string]string{"Signature": e.sig(other, dlFile)}, 400,
			dlErr("FILENAME", "Report file not found.")},
		// 6. expiry is TestDownloadExpiry; 7. success
		{"7 success", dlPath(act.ID, dlFile), good, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.get(t, "GET", c.path, c.header)
			if c.status == 200 {
				if r.status != 200 || !bytes.Equal(r.body, e.content) {
					t.Fatalf("status %d", r.status)
				}
				return
			}
			assertJSON(t, r, c.status, c.body)
		})
	}
}

func TestDownloadSignatureForms(t *testing.T) {
	e := newDownloadEnv(t)
	sig := e.sig(e.active, dlFile)
	for _, c := range []struct {
		name   string
		query  string
		header map[string]string
	}{
		{"header lowercase", "", map[string]string{"Signature": sig}},
		{"header upper-case", "", map[string]string{"Signature": strings.ToUpper(sig)}},
		{"header name in any case", "", map[string]string{"signature": sig}},
		{"query", "?Signature=" + sig, nil},
		{"query lowercase name", "?signature=" + sig, nil},
		{"query upper-case name and hex", "?SIGNATURE=" + strings.ToUpper(sig), nil},
		{"query among others", "?a=1&sIgNaTuRe=" + sig + "&b=2", nil},
		{"header wins over a bad query", "?Signature=bad", map[string]string{"Signature": sig}},
		{"Basic auth and MOE-APPKEY ignored", "?Signature=" + sig, map[string]string{"Authorization": basic(e.active.ID, "wrong"),
			"MOE-APPKEY": "other"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.get(t, "GET", dlPath(e.active.ID, dlFile)+c.query, c.header)
			if r.status != 200 || !bytes.Equal(r.body, e.content) {
				t.Fatalf("status %d, %d bytes: %s", r.status, len(r.body), r.body[:min(len(r.body), 200)])
			}
		})
	}
}

func TestDownloadExpiry(t *testing.T) {
	e := newDownloadEnv(t)
	e.api.Config.ReportRetention = 2 * time.Hour
	run := e.runs[e.active.ID+"/"+dlFile]
	exp := e.now.Add(30 * time.Minute)
	run.ExpiresAt = &exp
	e.runs[e.active.ID+"/"+dlFile] = run
	hdr := map[string]string{"Signature": e.sig(e.active, dlFile)}
	if r := e.get(t, "GET", dlPath(e.active.ID, dlFile), hdr); r.status != 200 {
		t.Fatalf("before expiry: %d %s", r.status, r.body)
	}
	e.advance(30 * time.Minute) // exactly expires_at: refused from that moment
	expired := dlErr("FILENAME", "Report file has expired. Reports are available for 2 hours after generation.")
	assertJSON(t, e.get(t, "GET", dlPath(e.active.ID, dlFile), hdr), 400, expired)
	// The signature is still checked first, and HEAD answers the same.
	assertJSON(t, e.get(t, "GET", dlPath(e.active.ID, dlFile), nil), 401, `{}`)
	if r := e.get(t, "HEAD", dlPath(e.active.ID, dlFile), hdr); r.status != 400 || len(r.body) != 0 {
		t.Fatalf("HEAD expired: %d %q", r.status, r.body)
	}
	for d, want := range map[time.Duration]string{168 * time.Hour: "7 days", 24 * time.Hour: "1 day", 36 * time.Hour: "36 hours",
		time.Hour: "1 hour", 90 * time.Minute: "90 minutes", 1500 * time.Millisecond: "2 seconds"} {
		if got := retentionText(d); got != want {
			t.Errorf("retentionText(%v) = %q, want %q", d, got, want)
		}
	}
	e.api.Config.ReportRetention = 168 * time.Hour
	assertJSON(t, e.get(t, "GET", dlPath(e.active.ID, dlFile), hdr), 400,
		dlErr("FILENAME", "Report file has expired. Reports are available for 7 days after generation."))
	// A file deleted by the sweeper while its run is still listed answers "not found" (not a 500).
	if err := e.api.ReportFiles.Delete(context.Background(), e.active.ID, "Daily_Report_20250310.gz"); err != nil {
		t.Fatal(err)
	}
	assertJSON(t, e.get(t, "GET", dlPath(e.active.ID, "Daily_Report_20250310.gz"), map[string]string{"Signature": e.sig(e.active, "Daily_Report_20250310.gz")}),
		400, dlErr("FILENAME", "Report file not found."))
}

func TestDownloadSuccessHeaders(t *testing.T) {
	e := newDownloadEnv(t)
	hdr := map[string]string{"Signature": e.sig(e.active, dlFile)}
	want := map[string]string{
		"Content-Type":        "application/zip",
		"Content-Disposition": `attachment; filename="` + dlFile + `"`,
		"Content-Length":      "10000",
		"ETag":                `"` + e.sha + `"`,
		"Last-Modified":       e.finished.UTC().Format(http.TimeFormat),
		"Accept-Ranges":       "bytes",
		"Cache-Control":       "private, max-age=0",
	}
	for _, method := range []string{"GET", "HEAD"} {
		r := e.get(t, method, dlPath(e.active.ID, dlFile), hdr)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", method, r.status, r.body)
		}
		for k, v := range want {
			if got := r.header.Get(k); got != v {
				t.Errorf("%s %s: %q, want %q", method, k, got, v)
			}
		}
		if r.header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", method)
		}
		if method == "GET" && !bytes.Equal(r.body, e.content) {
			t.Errorf("GET body differs")
		}
		if method == "HEAD" && len(r.body) != 0 {
			t.Errorf("HEAD has a body")
		}
	}
	gz := "Daily_Report_20250310.gz"
	r := e.get(t, "GET", dlPath(e.active.ID, gz), map[string]string{"Signature": e.sig(e.active, gz)})
	if r.status != 200 || r.header.Get("Content-Type") != "application/gzip" ||
		r.header.Get("Content-Disposition") != `attachment; filename="`+gz+`"` {
		t.Fatalf("gzip: %d %v", r.status, r.header)
	}
	// Downloads are not rate limited (the workspace limit is 100 per minute).
	for i := range 110 {
		if r := e.get(t, "HEAD", dlPath(e.active.ID, dlFile), hdr); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	r = e.get(t, "POST", dlPath(e.active.ID, dlFile), hdr)
	if r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST: %d %v", r.status, r.header)
	}
}

func TestDownloadRangesAndConditionals(t *testing.T) {
	e := newDownloadEnv(t)
	sig := e.sig(e.active, dlFile)
	path := dlPath(e.active.ID, dlFile)
	get := func(h map[string]string) response {
		all := map[string]string{"Signature": sig}
		for k, v := range h {
			all[k] = v
		}
		return e.get(t, "GET", path, all)
	}
	etag := `"` + e.sha + `"`

	r := get(map[string]string{"Range": "bytes=100-199"})
	if r.status != 206 || r.header.Get("Content-Range") != "bytes 100-199/10000" || !bytes.Equal(r.body, e.content[100:200]) ||
		r.header.Get("Content-Length") != "100" || r.header.Get("ETag") != etag {
		t.Fatalf("single range: %d %v", r.status, r.header)
	}
	r = get(map[string]string{"Range": "bytes=-10"})
	if r.status != 206 || !bytes.Equal(r.body, e.content[9990:]) {
		t.Fatalf("suffix range: %d", r.status)
	}
	r = get(map[string]string{"Range": "bytes=0-1,5000-5009"})
	mt, params, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	if r.status != 206 || mt != "multipart/byteranges" {
		t.Fatalf("multi range: %d %s", r.status, r.header.Get("Content-Type"))
	}
	mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
	for _, want := range []struct {
		cr   string
		body []byte
	}{{"bytes 0-1/10000", e.content[0:2]}, {"bytes 5000-5009/10000", e.content[5000:5010]}} {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(part)
		if part.Header.Get("Content-Range") != want.cr || !bytes.Equal(b, want.body) || part.Header.Get("Content-Type") != "application/zip" {
			t.Fatalf("part %s: %v", want.cr, part.Header)
		}
	}
	r = get(map[string]string{"Range": "bytes=20000-"})
	if r.status != 416 || r.header.Get("Content-Range") != "bytes */10000" {
		t.Fatalf("unsatisfiable: %d %v", r.status, r.header)
	}
	// If-None-Match with the ETag → 304; with another → 200.
	if r = get(map[string]string{"If-None-Match": etag}); r.status != 304 || len(r.body) != 0 || r.header.Get("ETag") != etag {
		t.Fatalf("If-None-Match: %d", r.status)
	}
	if r = get(map[string]string{"If-None-Match": `"other"`}); r.status != 200 {
		t.Fatalf("If-None-Match other: %d", r.status)
	}
	// If-Modified-Since at or after Last-Modified → 304; before → 200.
	if r = get(map[string]string{"If-Modified-Since": e.finished.UTC().Format(http.TimeFormat)}); r.status != 304 {
		t.Fatalf("If-Modified-Since: %d", r.status)
	}
	if r = get(map[string]string{"If-Modified-Since": e.finished.Add(-time.Hour).UTC().Format(http.TimeFormat)}); r.status != 200 {
		t.Fatalf("If-Modified-Since earlier: %d", r.status)
	}
	// If-Range with the current ETag honours the range; with a stale one the whole file comes back.
	if r = get(map[string]string{"Range": "bytes=0-9", "If-Range": etag}); r.status != 206 || len(r.body) != 10 {
		t.Fatalf("If-Range current: %d", r.status)
	}
	if r = get(map[string]string{"Range": "bytes=0-9", "If-Range": `"stale"`}); r.status != 200 || len(r.body) != 10000 {
		t.Fatalf("If-Range stale: %d", r.status)
	}
	// HEAD with a range.
	r = e.get(t, "HEAD", path, map[string]string{"Signature": sig, "Range": "bytes=0-9"})
	if r.status != 206 || r.header.Get("Content-Range") != "bytes 0-9/10000" || len(r.body) != 0 {
		t.Fatalf("HEAD range: %d %v", r.status, r.header)
	}
}

func TestReportSignature(t *testing.T) {
	// sha256("65f0a1b2c3d4e5f6a7b8c9d0|Weekly_Push_Report_20250310.zip|secret")
	sum := sha256.Sum256([]byte("65f0a1b2c3d4e5f6a7b8c9d0|Weekly_Push_Report_20250310.zip|secret"))
	if got := ReportSignature("65f0a1b2c3d4e5f6a7b8c9d0", "Weekly_Push_Report_20250310.zip", "secret"); got != hex.EncodeToString(sum[:]) {
		t.Fatalf("signature %s", got)
	}
	if signatureValid("x", "a", "b", "") {
		t.Fatal("an empty key must never validate")
	}
}

// realRunsEnv is a server whose downloads are resolved by the real store's runs (no ReportRuns override).
type realRunsEnv struct {
	*testEnv
	files blob.Store
	seq   int
}

func newRealRunsEnv(t *testing.T) *realRunsEnv {
	t.Helper()
	e := &realRunsEnv{testEnv: newTestEnv(t)}
	files, err := blob.OpenDir(filepath.Join(t.TempDir(), "reports"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { files.Close() })
	e.files, e.api.ReportFiles = files, files
	return e
}

// publish stores a report file and finishes a SUCCESSFUL run of report reportID that produced it, through the
// store's run lifecycle (create, claim, finish). The report is created on first use.
func (e *realRunsEnv) publish(t *testing.T, reportID, filename string, content []byte, finished time.Time) {
	t.Helper()
	ctx := context.Background()
	ws := e.active.ID
	if _, err := e.sys.Store.Report(ctx, ws, reportID); err != nil {
		rep := store.Report{ID: reportID, WorkspaceID: ws, Name: reportID, Stem: strings.ToLower(reportID),
			Definition: []byte(`{"name":"` + reportID + `"}`), CreatedAt: finished.Add(-time.Hour), UpdatedAt: finished.Add(-time.Hour)}
		if err := e.sys.Store.CreateReport(ctx, rep); err != nil {
			t.Fatal(err)
		}
	}
	e.seq++
	runID, token := fmt.Sprintf("run-%d", e.seq), fmt.Sprintf("tok-%d", e.seq)
	if err := e.sys.Store.CreateRun(ctx, store.ReportRun{ID: runID, ReportID: reportID, WorkspaceID: ws, Trigger: store.TriggerManual,
		CreatedAt: finished.Add(-time.Minute), RangeStart: "2025-03-03", RangeEnd: "2025-03-09"}); err != nil {
		t.Fatal(err)
	}
	if run, ok, err := e.sys.Store.ClaimRun(ctx, store.RunClaim{Owner: "test", Token: token, At: finished.Add(-time.Second)}); err != nil || !ok || run.ID != runID {
		t.Fatalf("claim %s: %+v %v %v", runID, run, ok, err)
	}
	if _, err := e.files.Put(ctx, ws, filename, func(w io.Writer) error { _, err := w.Write(content); return err }); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if _, err := e.sys.Store.FinishRun(ctx, store.RunOutcome{RunID: runID, ClaimToken: token, Status: store.RunSuccessful,
		FinishedAt: finished, Filename: filename, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]),
		ExpiresAt: finished.Add(7 * 24 * time.Hour), WebhookStatus: store.WebhookNone}); err != nil {
		t.Fatal(err)
	}
}

// TestDownloadWithoutExtension covers SPEC §13.3: a name without extension passes check 1, is signed exactly as
// requested, resolves to the run file of that stem and date, and is served under the stored file's name and type.
func TestDownloadWithoutExtension(t *testing.T) {
	e := newRealRunsEnv(t)
	ws := e.active
	sig := func(name string) map[string]string {
		return map[string]string{"Signature": ReportSignature(ws.ID, name, ws.ReportKey)}
	}
	fin := e.now.Add(-2 * time.Hour).Truncate(time.Second)
	zipBody, gzBody := []byte("zip file bytes"), []byte("gzip file bytes, longer")
	e.publish(t, "Weekly", "Weekly_20250310.zip", zipBody, fin)
	e.publish(t, "Daily", "Daily_20250310.gz", gzBody, fin)
	// A report whose format changed between runs has both files: the most recent successful run's is served.
	e.publish(t, "Mixed", "Mixed_20250310.zip", []byte("older zip"), fin)
	e.publish(t, "Mixed", "Mixed_20250310.gz", []byte("newer gz"), fin.Add(time.Minute))
	e.publish(t, "Flip", "Flip_20250310.gz", []byte("older gz"), fin)
	e.publish(t, "Flip", "Flip_20250310.zip", []byte("newer zip"), fin.Add(time.Minute))

	for _, c := range []struct {
		name, file  string
		stored, typ string
		body        []byte
	}{
		{"zip", "Weekly_20250310", "Weekly_20250310.zip", "application/zip", zipBody},
		{"gz", "Daily_20250310", "Daily_20250310.gz", "application/gzip", gzBody},
		{"both, gz newer", "Mixed_20250310", "Mixed_20250310.gz", "application/gzip", []byte("newer gz")},
		{"both, zip newer", "Flip_20250310", "Flip_20250310.zip", "application/zip", []byte("newer zip")},
		{"with extension, unchanged", "Weekly_20250310.zip", "Weekly_20250310.zip", "application/zip", zipBody},
		{"with extension, the older file", "Mixed_20250310.zip", "Mixed_20250310.zip", "application/zip", []byte("older zip")},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, method := range []string{"GET", "HEAD"} {
				r := e.do(t, method, dlPath(ws.ID, c.file), sig(c.file), nil)
				if r.status != 200 {
					t.Fatalf("%s: %d %s", method, r.status, r.body)
				}
				sum := sha256.Sum256(c.body)
				for k, v := range map[string]string{
					"Content-Type":        c.typ,
					"Content-Disposition": `attachment; filename="` + c.stored + `"`,
					"Content-Length":      fmt.Sprint(len(c.body)),
					"ETag":                `"` + hex.EncodeToString(sum[:]) + `"`,
				} {
					if got := r.header.Get(k); got != v {
						t.Errorf("%s %s = %q, want %q", method, k, got, v)
					}
				}
				if method == "GET" && !bytes.Equal(r.body, c.body) {
					t.Errorf("GET body %q, want %q", r.body, c.body)
				}
			}
		})
	}

	t.Run("signature over the stored name is refused", func(t *testing.T) {
		assertJSON(t, e.do(t, "GET", dlPath(ws.ID, "Weekly_20250310"), sig("Weekly_20250310.zip"), nil), 401, `{}`)
		// and the other way round: a signature over the bare name does not open the extended one.
		assertJSON(t, e.do(t, "GET", dlPath(ws.ID, "Weekly_20250310.zip"), sig("Weekly_20250310"), nil), 401, `{}`)
	})
	t.Run("query signature", func(t *testing.T) {
		q := "?signature=" + ReportSignature(ws.ID, "Daily_20250310", ws.ReportKey)
		if r := e.do(t, "GET", dlPath(ws.ID, "Daily_20250310")+q, nil, nil); r.status != 200 || !bytes.Equal(r.body, gzBody) {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("range", func(t *testing.T) {
		h := sig("Weekly_20250310")
		h["Range"] = "bytes=0-2"
		if r := e.do(t, "GET", dlPath(ws.ID, "Weekly_20250310"), h, nil); r.status != 206 || string(r.body) != "zip" {
			t.Fatalf("%d %q", r.status, r.body)
		}
	})
	t.Run("no such run", func(t *testing.T) {
		for _, name := range []string{"Nope_20250310", "Weekly_20250311", "weekly_20250310", "Weekly_20250310.gz"} {
			assertJSON(t, e.do(t, "GET", dlPath(ws.ID, name), sig(name), nil), 400, dlErr("FILENAME", "Report file not found."))
		}
	})
	t.Run("file name format", func(t *testing.T) {
		for _, name := range []string{"Weekly_20250310.", "Weekly_2025031", "Weekly_202503101", "Weekly_20250310.csv", "Weekly_20250310zip", "_20250310"} {
			assertJSON(t, e.do(t, "GET", dlPath(ws.ID, name), sig(name), nil), 400,
				dlErr("FILENAME", "Invalid report file name or file name format."))
		}
	})
	t.Run("expiry follows the resolved run", func(t *testing.T) {
		e.advance(7*24*time.Hour - 2*time.Hour) // Weekly's run expires now; Mixed's newer run a minute later
		assertJSON(t, e.do(t, "GET", dlPath(ws.ID, "Weekly_20250310"), sig("Weekly_20250310"), nil), 400,
			dlErr("FILENAME", "Report file has expired. Reports are available for 7 days after generation."))
		if r := e.do(t, "GET", dlPath(ws.ID, "Mixed_20250310"), sig("Mixed_20250310"), nil); r.status != 200 || string(r.body) != "newer gz" {
			t.Fatalf("Mixed: %d %s", r.status, r.body)
		}
	})
}
