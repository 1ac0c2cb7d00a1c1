// Package reliability holds the chaos and soak tests of cutover as a user runs it: the real
// binary as `cutover server` and `cutover router` processes, the sample app as instances,
// constant load through the router, and kill -9 at the worst moments. The tests are its
// only content; RELIABILITY.md at the repository root records their results and the
// commands to rerun them (bench/chaos.sh runs the long versions).
package reliability
