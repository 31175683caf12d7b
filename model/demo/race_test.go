//go:build race

package demo

// raceEnabled: the race detector slows training about 15 times, so tests
// use fewer images.
const raceEnabled = true
