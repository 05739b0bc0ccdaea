package api

import (
	"bufio"
	"bytes"
	"os"
	"sort"
	"strings"
	"testing"
)

// TestSpecIsTheRepositoryFile checks that the embedded document, which the server serves at /openapi.yaml, is
// api/openapi.yaml byte for byte.
func TestSpecIsTheRepositoryFile(t *testing.T) {
	file, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(Spec(), file) {
		t.Fatal("Spec() differs from api/openapi.yaml")
	}
	if !bytes.HasPrefix(file, []byte("openapi: 3.")) {
		t.Fatalf("document does not start with an OpenAPI 3 version line: %q", file[:min(len(file), 40)])
	}
}

// documentedOperations lists "METHOD /path" for every operation under `paths:`. The document keeps one path per
// line at two spaces of indentation and its methods at four.
func documentedOperations(t *testing.T) map[string]bool {
	t.Helper()
	ops := map[string]bool{}
	in, path := false, ""
	sc := bufio.NewScanner(bytes.NewReader(Spec()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			in = true
		case in && len(line) > 0 && line[0] != ' ' && line[0] != '#':
			in = false
		case in && strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":"):
			path = strings.TrimSuffix(strings.TrimSpace(line), ":")
		case in && path != "" && strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     "):
			m := strings.TrimSuffix(strings.TrimSpace(line), ":")
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options":
				ops[strings.ToUpper(m)+" "+path] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ops
}

// TestSpecDocumentsEveryEndpoint checks that every endpoint of SPEC.md (and the daily Stats extension) is an
// operation of the document, and that the document has no operation beyond them.
func TestSpecDocumentsEveryEndpoint(t *testing.T) {
	want := []string{
		// Ingest, catalog and funnel (§3, §13.3)
		"POST /v1/streams/{workspace_id}",
		"POST /v1/event/{workspace_id}",
		"POST /v1/transition/{workspace_id}",
		"POST /v1/customer/{workspace_id}",
		"POST /v1/device/{workspace_id}",
		"PUT /v1/campaigns/{workspace_id}/{campaign_id}",
		"GET /v1/campaigns/{workspace_id}/{campaign_id}",
		"POST /v1/campaigns/{workspace_id}/{campaign_id}/funnel",
		// Stats (§5) and the daily Stats extension
		"POST /core-services/v1/campaign-stats",
		"POST /v1/stats/{workspace_id}/daily",
		// Meta and Executions (§7)
		"POST /core-services/v1/campaigns/meta",
		"POST /core-services/v1/campaigns/{parent_campaign_id}/executions",
		// Reports (§8)
		"POST /v1/reports/{workspace_id}",
		"GET /v1/reports/{workspace_id}",
		"GET /v1/reports/{workspace_id}/{report_id}",
		"PUT /v1/reports/{workspace_id}/{report_id}",
		"DELETE /v1/reports/{workspace_id}/{report_id}",
		"POST /v1/reports/{workspace_id}/{report_id}/run",
		"GET /v1/reports/{workspace_id}/{report_id}/runs",
		"GET /campaign_reports/rest_api/{APP_ID}/{FILENAME}",
		"HEAD /campaign_reports/rest_api/{APP_ID}/{FILENAME}",
		// Admin (§9.1)
		"POST /admin/v1/workspaces",
		"GET /admin/v1/workspaces",
		"GET /admin/v1/workspaces/{id}",
		"PATCH /admin/v1/workspaces/{id}",
		"POST /admin/v1/workspaces/{id}/disable",
		"POST /admin/v1/workspaces/{id}/enable",
		"POST /admin/v1/workspaces/{id}/rotate-keys",
		"GET /admin/v1/workspaces/{id}/quarantine",
		"DELETE /admin/v1/workspaces/{id}/quarantine",
		"GET /admin/v1/workspaces/{id}/quarantine/{quarantine_id}",
		"DELETE /admin/v1/workspaces/{id}/quarantine/{quarantine_id}",
		// Operations (§10.1)
		"GET /healthz",
		"GET /readyz",
		"GET /metrics",
		"GET /openapi.yaml",
	}
	got := documentedOperations(t)
	for _, op := range want {
		if !got[op] {
			t.Errorf("operation %q is not documented", op)
		}
		delete(got, op)
	}
	var extra []string
	for op := range got {
		extra = append(extra, op)
	}
	sort.Strings(extra)
	for _, op := range extra {
		t.Errorf("operation %q is documented but not in the specification's endpoint list", op)
	}
}

// TestSpecUsesLiveKeys checks that the document speaks the live wire format of SPEC §13.1 and no longer the keys
// it replaced.
func TestSpecUsesLiveKeys(t *testing.T) {
	doc := string(Spec())
	for _, old := range []string{
		"all_locales",                     // locale aggregate is all_locale
		`"opened"`, "opened:", "`opened`", // email open counter is open
		`"android"`, `"ios"`, `"web"`, `"windows"`, `"unknown": {"locales"`, // device platform keys are upper case
		`"EMAIL": {"locales"`, `"SMS": {"locales"`, // non-device channels have only ALL_PLATFORMS
		`[{"platforms": {}}]`, `[{"platforms":{}}]`, "platforms: {}", // a selected campaign without data has the zero node
	} {
		if strings.Contains(doc, old) {
			t.Errorf("document still contains %q", old)
		}
	}
	for _, live := range []string{`"ALL_PLATFORMS": {"locales"`, `"ANDROID": {"locales"`, `"all_locale": {"variations"`,
		`"open": 400`, "enum: [moengage, rows]", `'^[A-Za-z0-9_-]+_\d{8}(\.(zip|gz))?$'`} {
		if !strings.Contains(doc, live) {
			t.Errorf("document lacks %q", live)
		}
	}
}
