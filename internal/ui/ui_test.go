package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerServesEmbeddedFiles(t *testing.T) {
	h := Handler()
	for _, c := range []struct {
		path, ctype, contains string
	}{
		{"/ui/", "text/html; charset=utf-8", `<script type="module" src="js/main.js">`},
		{"/ui/index.html", "text/html; charset=utf-8", "<html lang=\"en\">"},
		{"/ui/app.css", "text/css; charset=utf-8", ":root"},
		{"/ui/js/main.js", "text/javascript; charset=utf-8", "import"},
		{"/ui/favicon.svg", "image/svg+xml", "<svg"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", c.path, rec.Code)
		}
		hd := rec.Header()
		if got := hd.Get("Content-Type"); got != c.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if got := hd.Get("Content-Security-Policy"); got != ContentSecurityPolicy || !strings.Contains(got, "script-src 'self';") {
			t.Errorf("GET %s: Content-Security-Policy %q", c.path, got)
		}
		if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("X-Frame-Options") != "DENY" || hd.Get("ETag") == "" {
			t.Errorf("GET %s: headers %v", c.path, hd)
		}
		if !strings.Contains(rec.Body.String(), c.contains) {
			t.Errorf("GET %s: body lacks %q", c.path, c.contains)
		}
		// A revalidation with the ETag answers 304.
		req := httptest.NewRequest(http.MethodGet, c.path, nil)
		req.Header.Set("If-None-Match", hd.Get("ETag"))
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match: %d, want 304", c.path, rec.Code)
		}
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/ui/missing.js", http.StatusNotFound},
		{http.MethodGet, "/ui/js/", http.StatusNotFound},
		{http.MethodGet, "/ui/../go.mod", http.StatusNotFound},
		{http.MethodPost, "/ui/", http.StatusMethodNotAllowed},
		{http.MethodHead, "/ui/app.css", http.StatusOK},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.status)
		}
		if rec.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s %s: no Content-Security-Policy", c.method, c.path)
		}
	}
}

// TestNoInlineScriptOrStyle keeps the page within its Content-Security-Policy: scripts are files, and no element
// carries a style or event-handler attribute.
func TestNoInlineScriptOrStyle(t *testing.T) {
	body, err := static.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(body)
	for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", "javascript:", "http://", "https://"} {
		if strings.Contains(html, bad) {
			t.Errorf("index.html contains %q", bad)
		}
	}
	entries, err := static.ReadDir("static/js")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		src, _ := static.ReadFile("static/js/" + e.Name())
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'"} {
			if strings.Contains(string(src), bad) {
				t.Errorf("%s uses %s", e.Name(), bad)
			}
		}
	}
}
