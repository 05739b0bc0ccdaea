//go:build !race

package embedded

// raceDetector reports whether the test binary was built with -race.
const raceDetector = false
