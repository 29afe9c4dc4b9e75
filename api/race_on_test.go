//go:build race

package api_test

// raceEnabled: the race detector multiplies memory use (shadow memory), so
// RSS bounds are only logged under it.
const raceEnabled = true
