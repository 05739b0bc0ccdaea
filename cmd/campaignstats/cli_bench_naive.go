package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// naiveResult holds the latencies of the plain-SQL baseline.
type naiveResult struct {
	LoadSeconds float64            `json:"load_seconds"`
	LargestMS   map[string]float64 `json:"largest_campaign_30d_unique_ms"`
	Top10MS     map[string]float64 `json:"top10_campaigns_30d_unique_ms"`
	// ConversionMS is the naive view-through join: goal events × the user's earlier interactions with the
	// campaign within its window, per locale and variation, distinct events, users and revenue.
	ConversionMS map[string]float64 `json:"conversions_view_through_30d_ms"`
	// ReportCopySeconds is a plain DuckDB COPY of the daily report's counters (per campaign, day and platform).
	ReportCopySeconds float64 `json:"report_copy_seconds,omitempty"`
	ReportCopyRows    int64   `json:"report_copy_rows,omitempty"`
}

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

// runNaive loads the raw NDJSON into a separate DuckDB database and times the naive query for the bench shapes.
func runNaive(ctx context.Context, rawPath string, largest, reportIDs []string, end time.Time, reportDays, calls int) (*naiveResult, error) {
	dir, err := os.MkdirTemp("", "campaignstats-naive-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	connector, err := duckdb.NewConnector(filepath.Join(dir, "naive.duckdb"), nil)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	t0 := time.Now()
	load := fmt.Sprintf(`CREATE TABLE raw AS SELECT event_uuid, event_code, event_name, event_time, uid,
		event_attributes.campaign_id AS campaign_id, event_attributes.parent_campaign_id AS parent_id,
		event_attributes.locale_name AS locale, event_attributes.variation_id AS variation, event_attributes.platform AS platform,
		event_attributes.amount AS amount
		FROM read_json('%s', format = 'newline_delimited', columns = {event_uuid: 'VARCHAR', event_code: 'VARCHAR',
		event_name: 'VARCHAR', event_time: 'BIGINT', uid: 'VARCHAR', event_attributes: 'STRUCT(campaign_id VARCHAR,
		parent_campaign_id VARCHAR, locale_name VARCHAR, variation_id BIGINT, platform VARCHAR, amount DOUBLE)'})`, strings.ReplaceAll(rawPath, "'", "''"))
	if _, err := db.ExecContext(ctx, load); err != nil {
		return nil, fmt.Errorf("load raw events: %w", err)
	}
	res := &naiveResult{LoadSeconds: time.Since(t0).Seconds()}
	from := end.AddDate(0, 0, -30).UnixMilli()
	to := end.UnixMilli()
	timeQuery := func(sqlText string, ids []string) (map[string]float64, error) {
		quoted := make([]string, len(ids))
		for i, id := range ids {
			quoted[i] = "'" + strings.ReplaceAll(id, "'", "''") + "'"
		}
		q := fmt.Sprintf(sqlText, strings.Join(quoted, ","))
		var lat []time.Duration
		for i := 0; i < calls; i++ {
			t := time.Now()
			rows, err := db.QueryContext(ctx, q, from, to)
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
	if res.LargestMS, err = timeQuery(naiveQuery, largest[:1]); err != nil {
		return nil, fmt.Errorf("naive query: %w", err)
	}
	if res.Top10MS, err = timeQuery(naiveQuery, largest); err != nil {
		return nil, fmt.Errorf("naive query: %w", err)
	}
	if res.ConversionMS, err = timeQuery(naiveConversions, largest[:1]); err != nil {
		return nil, fmt.Errorf("naive conversions: %w", err)
	}
	if len(reportIDs) > 0 {
		quoted := make([]string, len(reportIDs))
		for i, id := range reportIDs {
			quoted[i] = "'" + strings.ReplaceAll(id, "'", "''") + "'"
		}
		out := filepath.Join(dir, "report.csv")
		t := time.Now()
		r, err := db.ExecContext(ctx, fmt.Sprintf(naiveReportCopy, end.AddDate(0, 0, -reportDays).UnixMilli(), end.UnixMilli(),
			strings.Join(quoted, ","), out))
		if err != nil {
			return nil, fmt.Errorf("naive report copy: %w", err)
		}
		res.ReportCopySeconds = time.Since(t).Seconds()
		res.ReportCopyRows, _ = r.RowsAffected()
	}
	return res, nil
}
