package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

type fakeAdminReq struct {
	Method, Path, Query string
	Body                string
}

// fakeAdmin answers the admin API paths of SPEC §9.1 with canned bodies and records each request.
type fakeAdmin struct {
	mu   sync.Mutex
	reqs []fakeAdminReq
	srv  *httptest.Server
}

const fakeWS = `{"workspace_id":"65f0a1b2c3d4e5f6a7b8c9d0","name":"Shop","timezone":"UTC","status":"active","rate_limit_per_minute":100,"created_at":"2025-03-01T09:00:00Z","disabled_at":null`

func newFakeAdmin(t *testing.T) *fakeAdmin {
	f := &fakeAdmin{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		f.reqs = append(f.reqs, fakeAdminReq{r.Method, r.URL.Path, r.URL.RawQuery, string(body)})
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+cliTestToken {
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"title":"Unauthorized","description":"Admin token missing or invalid","code":"admin_token_invalid"}`)
			return
		}
		base := "/admin/v1/workspaces/" + cliTestWS
		switch {
		case r.Method == "POST" && r.URL.Path == "/admin/v1/workspaces":
			w.WriteHeader(201)
			_, _ = io.WriteString(w, fakeWS+`,"report_key":"rk1","data_key":"dk1"}`)
		case r.Method == "GET" && r.URL.Path == "/admin/v1/workspaces":
			_, _ = io.WriteString(w, `{"workspaces":[`+fakeWS+`}]}`)
		case r.URL.Path == base+"/rotate-keys":
			_, _ = io.WriteString(w, fakeWS+`,"report_key":"rk2","data_key":"dk2"}`)
		case r.Method == "GET" && r.URL.Path == base+"/quarantine":
			_, _ = io.WriteString(w, `{"items":[{"quarantine_id":"q1","workspace_id":"`+cliTestWS+`","received_at":"2025-03-01T09:00:00Z","request_id":"r","endpoint":"streams","index":0,"event_uuid":"a","reason":"event_time is required"},{"quarantine_id":"q2","workspace_id":"`+cliTestWS+`","received_at":"2025-03-01T08:00:00Z","request_id":"r","endpoint":"streams","index":1,"event_uuid":"","reason":"line is not valid JSON"}],"next_cursor":null}`)
		case r.Method == "GET" && strings.HasPrefix(r.URL.Path, base+"/quarantine/"):
			id := strings.TrimPrefix(r.URL.Path, base+"/quarantine/")
			fmt.Fprintf(w, `{"quarantine_id":%q,"workspace_id":%q,"received_at":"2025-03-01T09:00:00Z","request_id":"r","endpoint":"streams","index":0,"event_uuid":"a","reason":"x","payload":"{\"event_uuid\":\"%s\"}","payload_truncated":false}`, id, cliTestWS, id)
		case r.Method == "DELETE" && r.URL.Path == base+"/quarantine":
			_, _ = io.WriteString(w, `{"deleted":4}`)
		case strings.HasPrefix(r.URL.Path, base):
			_, _ = io.WriteString(w, fakeWS+`}`)
		default:
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"title":"Not Found","description":"workspace not found","code":"not_found"}`)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAdmin) last() fakeAdminReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[len(f.reqs)-1]
}

func runWSRemoteT(t *testing.T, server string, args []string, env map[string]string) (int, string, string) {
	t.Helper()
	if env == nil {
		env = map[string]string{"CAMPAIGNSTATS_ADMIN_TOKEN": cliTestToken}
	}
	var out, errb bytes.Buffer
	code := runWorkspaceRemote(context.Background(), server, args, cliEnv(env), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunWorkspaceRemote_CreateAndRotatePrintKeys(t *testing.T) {
	f := newFakeAdmin(t)
	code, stdout, stderr := runWSRemoteT(t, f.srv.URL, []string{"create", "--name", "Shop"}, nil)
	if code != 0 {
		t.Fatalf("exit %d stderr %s", code, stderr)
	}
	if r := f.last(); r.Method != "POST" || r.Path != "/admin/v1/workspaces" || r.Body != `{"name":"Shop","timezone":"UTC"}` {
		t.Errorf("create request %+v", r)
	}
	var ws map[string]any
	if err := json.Unmarshal([]byte(stdout), &ws); err != nil {
		t.Fatalf("stdout %q: %v", stdout, err)
	}
	if ws["workspace_id"] != cliTestWS || ws["report_key"] != "rk1" || ws["data_key"] != "dk1" {
		t.Errorf("create output %v", ws)
	}

	code, _, _ = runWSRemoteT(t, f.srv.URL, []string{"create", "--name", "Shop", "--timezone", "Asia/Kolkata", "--id", cliTestWS, "--rate-limit", "7"}, nil)
	if r := f.last(); code != 0 || r.Body != `{"name":"Shop","timezone":"Asia/Kolkata","workspace_id":"65f0a1b2c3d4e5f6a7b8c9d0","rate_limit_per_minute":7}` {
		t.Errorf("create with all flags: exit %d body %s", code, r.Body)
	}

	for kind, want := range map[string]string{"report": `{"keys":["report_key"]}`, "data": `{"keys":["data_key"]}`, "both": `{"keys":["report_key","data_key"]}`} {
		code, stdout, _ = runWSRemoteT(t, f.srv.URL, []string{"rotate", cliTestWS, "--key", kind}, nil)
		r := f.last()
		if code != 0 || r.Method != "POST" || r.Path != "/admin/v1/workspaces/"+cliTestWS+"/rotate-keys" || r.Body != want {
			t.Errorf("rotate %s: exit %d %+v", kind, code, r)
		}
		if !strings.Contains(stdout, `"report_key": "rk2"`) || !strings.Contains(stdout, `"data_key": "dk2"`) || !strings.Contains(stdout, `"workspace_id": "`+cliTestWS) {
			t.Errorf("rotate output %s", stdout)
		}
	}
	if code, _, _ := runWSRemoteT(t, f.srv.URL, []string{"rotate", cliTestWS, "--key", "all"}, nil); code != 2 {
		t.Errorf("rotate --key all: exit %d", code)
	}
}

func TestRunWorkspaceRemote_ListGetUpdateDisableEnable(t *testing.T) {
	f := newFakeAdmin(t)
	code, stdout, _ := runWSRemoteT(t, f.srv.URL, []string{"list", "--status", "disabled"}, nil)
	if r := f.last(); code != 0 || r.Method != "GET" || r.Path != "/admin/v1/workspaces" || r.Query != "status=disabled" {
		t.Errorf("list: exit %d %+v", code, r)
	}
	if !strings.Contains(stdout, `"workspaces": [`) || strings.Contains(stdout, "report_key") {
		t.Errorf("list output %s", stdout)
	}

	code, stdout, _ = runWSRemoteT(t, f.srv.URL, []string{"get", cliTestWS}, nil)
	if r := f.last(); code != 0 || r.Method != "GET" || r.Path != "/admin/v1/workspaces/"+cliTestWS || !strings.Contains(stdout, `"disabled_at": null`) {
		t.Errorf("get: exit %d %+v %s", code, r, stdout)
	}

	// Flags after the positional id.
	code, _, _ = runWSRemoteT(t, f.srv.URL, []string{"update", cliTestWS, "--name", "Renamed"}, nil)
	if r := f.last(); code != 0 || r.Method != "PATCH" || r.Body != `{"name":"Renamed"}` {
		t.Errorf("update name: exit %d %+v", code, r)
	}
	code, _, _ = runWSRemoteT(t, f.srv.URL, []string{"update", "--rate-limit", "250", cliTestWS}, nil)
	if r := f.last(); code != 0 || r.Body != `{"rate_limit_per_minute":250}` {
		t.Errorf("update rate: exit %d %+v", code, r)
	}
	if code, _, _ := runWSRemoteT(t, f.srv.URL, []string{"update", cliTestWS}, nil); code != 2 {
		t.Errorf("update without changes: exit %d", code)
	}
	for _, sub := range []string{"disable", "enable"} {
		code, _, _ = runWSRemoteT(t, f.srv.URL, []string{sub, cliTestWS}, nil)
		if r := f.last(); code != 0 || r.Method != "POST" || r.Path != "/admin/v1/workspaces/"+cliTestWS+"/"+sub {
			t.Errorf("%s: exit %d %+v", sub, code, r)
		}
	}
}

func TestRunWorkspaceRemote_Quarantine(t *testing.T) {
	f := newFakeAdmin(t)
	code, stdout, stderr := runWSRemoteT(t, f.srv.URL, []string{"quarantine", cliTestWS, "--since", "2025-03-01T00:00:00Z", "--reason", "event_time", "--limit", "2"}, nil)
	if code != 0 {
		t.Fatalf("exit %d %s", code, stderr)
	}
	if r := f.last(); r.Path != "/admin/v1/workspaces/"+cliTestWS+"/quarantine" || r.Query != "limit=2&reason=event_time&since=2025-03-01T00%3A00%3A00Z" {
		t.Errorf("list request %+v", r)
	}
	if strings.Contains(stdout, "payload") || !strings.Contains(stdout, `"next_cursor": null`) {
		t.Errorf("list output %s", stdout)
	}

	n := len(f.reqs)
	code, stdout, _ = runWSRemoteT(t, f.srv.URL, []string{"quarantine", cliTestWS, "--show-payload"}, nil)
	if code != 0 || len(f.reqs) != n+3 {
		t.Fatalf("show-payload: exit %d, %d requests", code, len(f.reqs)-n)
	}
	if f.reqs[n].Query != "limit=100" || f.reqs[n+1].Path != "/admin/v1/workspaces/"+cliTestWS+"/quarantine/q1" || f.reqs[n+2].Path != "/admin/v1/workspaces/"+cliTestWS+"/quarantine/q2" {
		t.Errorf("show-payload requests %+v", f.reqs[n:])
	}
	if !strings.Contains(stdout, `"payload": "{\"event_uuid\":\"q2\"}"`) {
		t.Errorf("show-payload output %s", stdout)
	}

	code, stdout, _ = runWSRemoteT(t, f.srv.URL, []string{"quarantine", cliTestWS, "--delete-before", "2025-03-01T05:30:00+05:30"}, nil)
	if r := f.last(); code != 0 || r.Method != "DELETE" || r.Query != "before=2025-03-01T00%3A00%3A00Z" || stdout != "{\n  \"deleted\": 4\n}\n" {
		t.Errorf("delete-before: exit %d %+v %q", code, r, stdout)
	}

	for _, args := range [][]string{
		{"quarantine", cliTestWS, "--since", "yesterday"},
		{"quarantine", cliTestWS, "--delete-before", "2025-03-01"},
		{"quarantine", cliTestWS, "--limit", "0"},
	} {
		if code, _, stderr := runWSRemoteT(t, f.srv.URL, args, nil); code != 2 || stderr == "" {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}

func TestRunWorkspaceRemote_ErrorsAndUsage(t *testing.T) {
	f := newFakeAdmin(t)
	code, _, stderr := runWSRemoteT(t, f.srv.URL, []string{"get", "ffffffffffffffffffffffff"}, nil)
	if code != 1 || stderr != `{"title":"Not Found","description":"workspace not found","code":"not_found"}`+"\n" {
		t.Errorf("not found: exit %d stderr %q", code, stderr)
	}
	code, _, stderr = runWSRemoteT(t, f.srv.URL, []string{"list"}, map[string]string{"CAMPAIGNSTATS_ADMIN_TOKEN": "wrong-token-0123456789"})
	if code != 1 || !strings.Contains(stderr, "admin_token_invalid") {
		t.Errorf("bad token: exit %d stderr %q", code, stderr)
	}
	n := len(f.reqs)
	for i, c := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"list"}, map[string]string{}}, // no token
		{[]string{}, nil},                       // no subcommand
		{[]string{"frobnicate"}, nil},           // unknown subcommand
		{[]string{"get"}, nil},                  // missing id
		{[]string{"get", "a", "b"}, nil},        // two ids
		{[]string{"create"}, nil},               // missing --name
		{[]string{"create", "--name", "x", "--rate-limit", "z"}, nil},
		{[]string{"list", "extra"}, nil},
	} {
		if code, _, stderr := runWSRemoteT(t, f.srv.URL, c.args, c.env); code != 2 || stderr == "" {
			t.Errorf("usage case %d %v: exit %d stderr %q", i, c.args, code, stderr)
		}
	}
	if len(f.reqs) != n {
		t.Errorf("usage errors reached the server")
	}
	// --server after the subcommand, and env for a subcommand flag.
	code, _, _ = runWSRemoteT(t, "http://127.0.0.1:1", []string{"list", "--server", f.srv.URL}, map[string]string{"CAMPAIGNSTATS_ADMIN_TOKEN": cliTestToken, "CAMPAIGNSTATS_STATUS": "active"})
	if r := f.last(); code != 0 || r.Query != "status=active" {
		t.Errorf("--server override / env status: exit %d %+v", code, r)
	}
	if code, _, _ := runWSRemoteT(t, "http://127.0.0.1:1", []string{"list"}, nil); code != 1 {
		t.Errorf("server down: exit %d", code)
	}
}
