//go:build benchnaive

// The naive DuckDB baseline of `campaignstats bench --naive`: the same data and query shapes answered with plain
// SQL over the raw events, for comparison. It is not part of the default build (see cli_bench_nonaive.go); build
// with -tags benchnaive to include it, as scripts/bench.sh does.

package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// naiveAvailable: this build includes the naive baseline.
const naiveAvailable = true

// naiveReportCopy writes, per campaign, day and platform, the distinct-free counters of a daily push report.
const naiveReportCopy = `COPY (
  SELECT coalesce(nullif(parent_id, ''), campaign_id) AS cid, (to_timestamp(event_time / 1000)::DATE) AS day,
    coalesce(nullif(lower(platform), ''), 'android') AS p,
    count(*) FILTER (WHERE event_code IN ('n_i_s','MOE_EMAIL_SENT','SMS_SENT','MOE_WHATSAPP_SENT','MOE_CARD_SENT','MOE_CONNECTOR_SENT') OR event_name LIKE 'Notification Sent%%') AS sent,
    count(*) FILTER (WHERE event_code LIKE '%%RECEIVED%%' OR event_code LIKE '%%SHOWN' OR event_code = 'MOE_CARD_VIEWED') AS impression,
    count(*) FILTER (WHERE event_code LIKE '%%CLICK%%') AS click,
    count(*) FILTER (WHERE event_code LIKE '%%DELIVERED') AS delivered
  FROM raw WHERE event_time >= %d AND event_time < %d AND coalesce(nullif(parent_id, ''), campaign_id) IN (%s)
  GROUP BY ALL ORDER BY cid, day, p
) TO '%s' (FORMAT CSV, HEADER)`

// naiveReportFullCopy writes the daily report's equivalent per campaign, day and platform: every counter
// (TOTAL) and the view-through conversions of purchases (distinct goal events, distinct users, revenue; a 36 h
// window for every channel), joined from the raw events. Arguments: from ms, to ms, campaign list, output path.
const naiveReportFullCopy = `COPY (
WITH ev AS (
  SELECT coalesce(nullif(parent_id, ''), campaign_id) AS cid, uid, event_time AS t,
    coalesce(nullif(lower(platform), ''), CASE
      WHEN event_code IN ('n_i_s','NOTIFICATION_RECEIVED_IOS_MOE','NOTIFICATION_CLICKED_IOS_MOE') OR event_name ILIKE '%%iOS' THEN 'ios'
      WHEN event_code IN ('NOTIFICATION_RECEIVED_WEB_MOE','NOTIFICATION_CLICKED_WEB_MOE') OR event_name ILIKE '%%Web' THEN 'web'
      ELSE 'android' END) AS p,
    CASE
      WHEN event_code IN ('n_i_s','MOE_EMAIL_SENT','SMS_SENT','MOE_WHATSAPP_SENT','MOE_CARD_SENT','MOE_CONNECTOR_SENT') OR event_name LIKE 'Notification Sent%%' THEN ['sent','attempted']
      WHEN event_code IN ('NOTIFICATION_RECEIVED_MOE','NOTIFICATION_RECEIVED_IOS_MOE','NOTIFICATION_RECEIVED_WEB_MOE','MOE_IN_APP_SHOWN','MOE_ONSITE_MESSAGE_SHOWN','MOE_CARD_VIEWED') THEN ['impression']
      WHEN event_code LIKE '%%CLICK%%' THEN ['click']
      WHEN event_name LIKE 'Notification Failed%%' OR event_code = 'MOE_EMAIL_DROP' THEN ['failed','attempted']
      WHEN event_code LIKE '%%DELIVERED' THEN ['delivered']
      WHEN event_code = 'MOE_EMAIL_OPEN' THEN ['opened']
      ELSE ['other'] END AS metrics
  FROM raw
  WHERE event_time >= %[1]d - 129600000 AND event_time < %[2]d AND coalesce(nullif(parent_id, ''), campaign_id) IN (%[3]s)
    AND event_code IS DISTINCT FROM 'MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP'
), counters AS (
  SELECT cid, to_timestamp(t / 1000)::DATE AS day, p,
    count(*) FILTER (WHERE list_contains(metrics, 'attempted')) AS attempted,
    count(*) FILTER (WHERE list_contains(metrics, 'sent')) AS sent,
    count(*) FILTER (WHERE list_contains(metrics, 'failed')) AS failed,
    count(*) FILTER (WHERE list_contains(metrics, 'delivered')) AS delivered,
    count(*) FILTER (WHERE list_contains(metrics, 'impression')) AS impression,
    count(*) FILTER (WHERE list_contains(metrics, 'opened')) AS opened,
    count(*) FILTER (WHERE list_contains(metrics, 'click')) AS click
  FROM ev WHERE t >= %[1]d GROUP BY ALL
), g AS (
  SELECT event_uuid, uid, event_time AS t, amount FROM raw
  WHERE event_name = 'Purchase' AND event_time >= %[1]d AND event_time < %[2]d
), credited AS (
  SELECT DISTINCT ev.cid, to_timestamp(g.t / 1000)::DATE AS day, ev.p, g.event_uuid, g.uid, g.amount
  FROM g JOIN ev ON g.uid = ev.uid AND ev.t <= g.t AND g.t <= ev.t + 129600000
  WHERE list_has_any(ev.metrics, ['sent', 'impression', 'click'])
), conv AS (
  SELECT cid, day, p, count(*) AS conversions, count(DISTINCT uid) AS converted_users, sum(amount) AS revenue
  FROM credited GROUP BY ALL
)
SELECT * FROM counters FULL OUTER JOIN conv USING (cid, day, p) ORDER BY cid, day, p
) TO '%[4]s' (FORMAT CSV, HEADER)`

// naiveConversions joins purchases with the interactions that explain them (PUSH window 36 h).
const naiveConversions = `
WITH g AS (
  SELECT event_uuid, uid, event_time AS t, amount FROM raw
  WHERE event_name = 'Purchase' AND event_time >= ? AND event_time < ?
), i AS (
  SELECT uid, event_time AS s, locale, 'variation_' || variation AS v FROM raw
  WHERE coalesce(nullif(parent_id, ''), campaign_id) IN (%s)
    AND (event_code IN ('n_i_s', 'NOTIFICATION_RECEIVED_MOE', 'NOTIFICATION_RECEIVED_IOS_MOE', 'NOTIFICATION_RECEIVED_WEB_MOE',
         'NOTIFICATION_CLICKED_MOE', 'NOTIFICATION_CLICKED_IOS_MOE', 'NOTIFICATION_CLICKED_WEB_MOE') OR event_name LIKE 'Notification Sent%%')
), credited AS (
  SELECT DISTINCT g.event_uuid, g.uid, g.amount, i.locale, i.v FROM g JOIN i ON g.uid = i.uid AND i.s <= g.t AND g.t <= i.s + 36 * 3600 * 1000
)
SELECT locale, v, count(DISTINCT event_uuid), count(DISTINCT uid), sum(amount)
FROM credited GROUP BY GROUPING SETS ((locale, v), (locale), (v), ())`

// naiveQuery is the straightforward way to answer a Stats call with DuckDB: one GROUPING SETS query over the raw
// events with string user ids, mapping event codes and names to counters inline. It answers the performance
// counters of the bench's query shapes (PUSH-dominated; every demo code is mapped).
const naiveQuery = `
WITH ev AS (
  SELECT coalesce(nullif(parent_id, ''), campaign_id) AS cid, uid,
    coalesce(nullif(lower(platform), ''), CASE
      WHEN event_code IN ('n_i_s','NOTIFICATION_RECEIVED_IOS_MOE','NOTIFICATION_CLICKED_IOS_MOE') OR event_name ILIKE '%%iOS' THEN 'ios'
      WHEN event_code IN ('NOTIFICATION_RECEIVED_WEB_MOE','NOTIFICATION_CLICKED_WEB_MOE') OR event_name ILIKE '%%Web' THEN 'web'
      ELSE 'android' END) AS p,
    locale, 'variation_' || variation AS v,
    CASE
      WHEN event_code IN ('n_i_s','MOE_EMAIL_SENT','SMS_SENT','MOE_WHATSAPP_SENT','MOE_CARD_SENT','MOE_CONNECTOR_SENT') OR event_name LIKE 'Notification Sent%%' THEN ['sent','attempted']
      WHEN event_code IN ('NOTIFICATION_RECEIVED_MOE','NOTIFICATION_RECEIVED_IOS_MOE','NOTIFICATION_RECEIVED_WEB_MOE','MOE_IN_APP_SHOWN','MOE_ONSITE_MESSAGE_SHOWN','MOE_CARD_VIEWED') THEN ['impression']
      WHEN event_code LIKE '%%CLICK%%' THEN ['click']
      WHEN event_name LIKE 'Notification Failed%%' OR event_code = 'MOE_EMAIL_DROP' THEN ['failed','attempted']
      WHEN event_code LIKE '%%DELIVERED' THEN ['delivered']
      WHEN event_code = 'MOE_EMAIL_OPEN' THEN ['opened']
      ELSE ['other'] END AS metrics
  FROM raw
  WHERE event_time >= ? AND event_time < ? AND coalesce(nullif(parent_id, ''), campaign_id) IN (%s)
    AND event_code IS DISTINCT FROM 'MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP'
)
SELECT cid, p, locale, v, metric, count(DISTINCT uid)
FROM (SELECT cid, p, locale, v, uid, unnest(metrics) AS metric FROM ev)
GROUP BY GROUPING SETS ((cid, p, locale, v, metric), (cid, p, locale, metric), (cid, p, v, metric), (cid, p, metric))`

// naiveJob is one phase of the naive baseline, run by a child process (`campaignstats bench-naive`, job as JSON on
// stdin, naiveResult as JSON on stdout) so that its peak memory is measured on its own.
type naiveJob struct {
	// Phase is "load" (load the raw events into DBPath and time the Stats query shapes) or "copy" (time the
	// report COPY statements over DBPath).
	Phase      string   `json:"phase"`
	DBPath     string   `json:"db_path"`
	RawPath    string   `json:"raw_path,omitempty"`
	Largest    []string `json:"largest,omitempty"`
	ReportIDs  []string `json:"report_ids,omitempty"`
	EndMS      int64    `json:"end_ms"`
	ReportDays int      `json:"report_days,omitempty"`
	Calls      int      `json:"calls,omitempty"`
}

// runNaive runs the naive baseline in two child processes of this binary — loading and Stats shapes, then the
// report COPY statements — and records each one's peak RSS.
func runNaive(ctx context.Context, rawPath string, largest, reportIDs []string, end time.Time, reportDays, calls int) (*naiveResult, error) {
	dir, err := os.MkdirTemp("", "campaignstats-naive-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	job := naiveJob{Phase: "load", DBPath: filepath.Join(dir, "naive.duckdb"), RawPath: rawPath, Largest: largest,
		EndMS: end.UnixMilli(), Calls: calls}
	res, peak, err := runNaiveChild(ctx, job)
	if err != nil {
		return nil, err
	}
	res.LoadPeakRSSMiB = peak
	if len(reportIDs) > 0 {
		job = naiveJob{Phase: "copy", DBPath: job.DBPath, ReportIDs: reportIDs, EndMS: job.EndMS, ReportDays: reportDays}
		cp, peak, err := runNaiveChild(ctx, job)
		if err != nil {
			return nil, err
		}
		res.ReportCopySeconds, res.ReportCopyRows = cp.ReportCopySeconds, cp.ReportCopyRows
		res.ReportFullCopySeconds, res.ReportFullCopyRows = cp.ReportFullCopySeconds, cp.ReportFullCopyRows
		res.ReportCopyPeakRSSMiB = peak
	}
	return res, nil
}

// runNaiveChild runs one naive phase in a child process and returns its result and peak RSS in MiB.
func runNaiveChild(ctx context.Context, job naiveJob) (*naiveResult, float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, 0, err
	}
	in, err := json.Marshal(job)
	if err != nil {
		return nil, 0, err
	}
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, "bench-naive")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("naive %s: %w: %s", job.Phase, err, strings.TrimSpace(errOut.String()))
	}
	var res naiveResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return nil, 0, fmt.Errorf("naive %s: %w", job.Phase, err)
	}
	var peak float64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = float64(ru.Maxrss) / 1024 // kilobytes on Linux
	}
	return &res, peak, nil
}

// runBenchNaive is the child side of runNaiveChild: `campaignstats bench-naive` (internal to the bench command).
func runBenchNaive(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) int {
	var job naiveJob
	if err := json.NewDecoder(stdin).Decode(&job); err != nil {
		fmt.Fprintf(stderr, "campaignstats bench-naive: %v\n", err)
		return exitUsage
	}
	res, err := naivePhase(ctx, job)
	if err != nil {
		fmt.Fprintf(stderr, "campaignstats bench-naive: %v\n", err)
		return exitRuntime
	}
	printJSON(stdout, res)
	return exitOK
}

// naivePhase runs one phase of the naive baseline in this process.
func naivePhase(ctx context.Context, job naiveJob) (*naiveResult, error) {
	connector, err := duckdb.NewConnector(job.DBPath, nil)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	end := time.UnixMilli(job.EndMS)
	quote := func(ids []string) string {
		quoted := make([]string, len(ids))
		for i, id := range ids {
			quoted[i] = "'" + strings.ReplaceAll(id, "'", "''") + "'"
		}
		return strings.Join(quoted, ",")
	}
	res := &naiveResult{}
	if job.Phase == "copy" {
		from := end.AddDate(0, 0, -job.ReportDays).UnixMilli()
		for _, c := range []struct {
			query   string
			seconds *float64
			rows    *int64
		}{{naiveReportCopy, &res.ReportCopySeconds, &res.ReportCopyRows}, {naiveReportFullCopy, &res.ReportFullCopySeconds, &res.ReportFullCopyRows}} {
			out := filepath.Join(filepath.Dir(job.DBPath), "report.csv")
			t := time.Now()
			r, err := db.ExecContext(ctx, fmt.Sprintf(c.query, from, job.EndMS, quote(job.ReportIDs), out))
			if err != nil {
				return nil, fmt.Errorf("naive report copy: %w", err)
			}
			*c.seconds = time.Since(t).Seconds()
			*c.rows, _ = r.RowsAffected()
		}
		return res, nil
	}
	t0 := time.Now()
	load := fmt.Sprintf(`CREATE TABLE raw AS SELECT event_uuid, event_code, event_name, event_time, uid,
		event_attributes.campaign_id AS campaign_id, event_attributes.parent_campaign_id AS parent_id,
		event_attributes.locale_name AS locale, event_attributes.variation_id AS variation, event_attributes.platform AS platform,
		event_attributes.amount AS amount
		FROM read_json('%s', format = 'newline_delimited', columns = {event_uuid: 'VARCHAR', event_code: 'VARCHAR',
		event_name: 'VARCHAR', event_time: 'BIGINT', uid: 'VARCHAR', event_attributes: 'STRUCT(campaign_id VARCHAR,
		parent_campaign_id VARCHAR, locale_name VARCHAR, variation_id BIGINT, platform VARCHAR, amount DOUBLE)'})`, strings.ReplaceAll(job.RawPath, "'", "''"))
	if _, err := db.ExecContext(ctx, load); err != nil {
		return nil, fmt.Errorf("load raw events: %w", err)
	}
	res.LoadSeconds = time.Since(t0).Seconds()
	from := end.AddDate(0, 0, -30).UnixMilli()
	timeQuery := func(sqlText string, ids []string) (map[string]float64, error) {
		q := fmt.Sprintf(sqlText, quote(ids))
		var lat []time.Duration
		for i := 0; i < job.Calls; i++ {
			t := time.Now()
			rows, err := db.QueryContext(ctx, q, from, job.EndMS)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
			}
			rows.Close()
			lat = append(lat, time.Since(t))
		}
		return percentiles(lat), nil
	}
	if res.LargestMS, err = timeQuery(naiveQuery, job.Largest[:1]); err != nil {
		return nil, fmt.Errorf("naive query: %w", err)
	}
	if res.Top10MS, err = timeQuery(naiveQuery, job.Largest); err != nil {
		return nil, fmt.Errorf("naive query: %w", err)
	}
	if res.ConversionMS, err = timeQuery(naiveConversions, job.Largest[:1]); err != nil {
		return nil, fmt.Errorf("naive conversions: %w", err)
	}
	return res, nil
}
