package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/campaignstats/campaignstats/internal/config"
)

// TestIdentityLengthAndTimeFloor covers SPEC §12.11 and §12.12 through the real server: a Streams event whose
// user identity is longer than 256 characters is quarantined with rule 16's message (payload kept, and cut at
// 1 MiB like any other); Track Event and Bulk Import refuse the whole request with 400 InvalidParams.
func TestIdentityLengthAndTimeFloor(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	long := strings.Repeat("ü", 257)
	huge := strings.Repeat("x", 1<<20+10) // over the quarantine payload cap, under the 16 MiB body limit
	streams := `{"events":[
		{"event_code":"MOE_EMAIL_SENT","event_uuid":"ok","event_time":1740819600,"uid":"` + strings.Repeat("ü", 256) + `","event_attributes":{"campaign_id":"c1"}},
		{"event_code":"MOE_EMAIL_SENT","event_uuid":"long","event_time":1740819600,"uid":"` + long + `","event_attributes":{"campaign_id":"c1"}},
		{"event_code":"Purchase","event_uuid":"huge","event_time":1740819600,"email_id":"` + huge + `"}]}`
	r := e.do(t, "POST", "/v1/streams/"+ws.ID, hdr, []byte(streams))
	assertJSON(t, r, 200, `{"status":"success","accepted":1,"duplicates":0,"rejected":2,"errors":[
		{"index":1,"event_uuid":"long","message":"user identity is longer than 256 characters"},
		{"index":2,"event_uuid":"huge","message":"user identity is longer than 256 characters"}]}`)
	admin := map[string]string{"Authorization": "Bearer " + adminToken}
	var page struct {
		Items []struct {
			QuarantineID string `json:"quarantine_id"`
			EventUUID    string `json:"event_uuid"`
			Reason       string `json:"reason"`
			Truncated    bool   `json:"payload_truncated"`
		} `json:"items"`
	}
	list := e.do(t, "GET", "/admin/v1/workspaces/"+ws.ID+"/quarantine?reason=user+identity", admin, nil)
	if err := json.Unmarshal(list.body, &page); err != nil || len(page.Items) != 2 {
		t.Fatalf("quarantine: %s", list.body)
	}
	for _, it := range page.Items {
		if it.Truncated != (it.EventUUID == "huge") {
			t.Errorf("%s: payload_truncated %v", it.EventUUID, it.Truncated)
		}
	}

	track, bulk := "/v1/event/"+ws.ID, "/v1/transition/"+ws.ID
	cases := []struct{ name, path, body, want string }{
		{"track customer_id", track, `{"type":"event","customer_id":"` + long + `","actions":[{"action":"P"}]}`,
			ingestErr("InvalidParams", "customer_id", "customer_id is longer than 256 characters")},
		{"track identifier", track, `{"type":"event","user_identifiers":{"moe_email":"` + long + `"},"actions":[{"action":"P"}]}`,
			ingestErr("InvalidParams", "customer_id", "customer_id is longer than 256 characters")},
		{"bulk customer_id", bulk, `{"type":"transition","elements":[{"type":"customer"},{"type":"event","customer_id":"` + long + `","actions":[{"action":"P"}]}]}`,
			ingestErr("InvalidParams", "customer_id", "customer_id is longer than 256 characters (at elements[1])")},
		{"track current_time", track, `{"type":"event","customer_id":"u1","actions":[{"action":"P","current_time":1740819600},{"action":"P","current_time":"1999-12-31T23:59:59Z"}]}`,
			ingestErr("InvalidParams", "current_time", "current_time is before 2000-01-01 (at actions[1])")},
		{"bulk user_time", bulk, `{"type":"transition","elements":[{"type":"event","customer_id":"u1","actions":[{"action":"P","user_time":946684799}]}]}`,
			ingestErr("InvalidParams", "user_time", "user_time is before 2000-01-01 (at elements[0].actions[0])")},
		{"customer endpoint", "/v1/customer/" + ws.ID, `{"type":"customer","customer_id":"` + long + `"}`,
			ingestErr("InvalidParams", "customer_id", "customer_id is longer than 256 characters")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertJSON(t, e.do(t, "POST", c.path, hdr, []byte(c.body)), 400, c.want)
		})
	}
	// Nothing of the refused requests was stored: the Stats API sees only the accepted Streams event.
	st := e.do(t, "POST", "/core-services/v1/campaign-stats", statsHeaders(ws),
		[]byte(`{"request_id":"r","start_date":"2025-03-01","end_date":"2025-03-01","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"}`))
	if st.status != 200 || !strings.Contains(string(st.body), `"attempted":1,"sent":1,`) {
		t.Fatalf("stats: %d %.300s", st.status, st.body)
	}
}

// repeatReader yields unit over and over, forever, counting the bytes handed out.
type repeatReader struct {
	unit []byte
	off  int
	read int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.unit[r.off:])
		n += c
		r.off = (r.off + c) % len(r.unit)
	}
	r.read += int64(n)
	return n, nil
}

// TestGzipCompressedBound: the compressed bytes read from a gzip body are bounded by the decompressed limit plus
// a small slack (compressedLimit), not by 1024 times it. An endless stream of empty gzip members — which
// decompresses to nothing — is a 413 after at most that many bytes; an incompressible body at the limit, stored
// uncompressed inside gzip, still passes.
func TestGzipCompressedBound(t *testing.T) {
	const limit = 2048
	e := newTestEnv(t, func(c *config.Config) { c.MaxStreamBody, c.MaxTrackBody = limit, limit })
	ws := e.active
	var empty bytes.Buffer
	gzip.NewWriter(&empty).Close()
	for _, path := range []string{"/v1/streams/" + ws.ID, "/v1/event/" + ws.ID} {
		body := &repeatReader{unit: empty.Bytes()}
		req := httptest.NewRequest("POST", path, body)
		req.Header.Set("Authorization", basic(ws.ID, ws.DataKey))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
		rec := httptest.NewRecorder()
		e.api.Handler().ServeHTTP(rec, req)
		r := response{rec.Code, rec.Header(), rec.Body.Bytes()}
		assertJSON(t, r, 413, ingestErr("PayloadTooLarge", "body", "Payload size exceeds 2 KB"))
		if max := compressedLimit(limit) + 1; body.read > max {
			t.Errorf("%s: read %d compressed bytes, want at most %d", path, body.read, max)
		}
	}

	// Incompressible text of exactly the limit, stored (not compressed) in gzip: larger compressed than the
	// limit, within it decompressed.
	pad := make([]byte, limit-len(`{"events":[],"pad":""}`))
	for i := range pad {
		pad[i] = byte('a' + (i*7919+i*i*31)%26)
	}
	plain := []byte(`{"events":[],"pad":"` + string(pad) + `"}`)
	var stored bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&stored, gzip.NoCompression)
	zw.Write(plain)
	zw.Close()
	if len(plain) != limit || stored.Len() <= limit {
		t.Fatalf("fixture: %d plain, %d stored", len(plain), stored.Len())
	}
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json", "Content-Encoding": "gzip"}
	assertJSON(t, e.do(t, "POST", "/v1/streams/"+ws.ID, hdr, stored.Bytes()), 200,
		`{"status":"success","accepted":0,"duplicates":0,"rejected":0,"errors":[]}`)
	// One byte more decompressed is a 413, as before.
	var over bytes.Buffer
	zw, _ = gzip.NewWriterLevel(&over, gzip.NoCompression)
	zw.Write(append(plain, ' '))
	zw.Close()
	assertJSON(t, e.do(t, "POST", "/v1/streams/"+ws.ID, hdr, over.Bytes()), 413, ingestErr("PayloadTooLarge", "body", "Payload size exceeds 2 KB"))
}
