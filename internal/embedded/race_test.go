//go:build race

package embedded

// raceDetector reports whether the test binary was built with -race; the cost-ratio test then skips, because the
// detector's overhead on millions of events would take most of CI's budget (.ci/run runs it without -race).
const raceDetector = true
