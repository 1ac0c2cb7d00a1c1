// Package multirouter tests several routers serving one cutover server's table: the real
// binary as `cutover server` and as `cutover router --follow` processes, the sample app as
// instances, load through every follower, a canary judged on the sum of their traffic, a
// rollback, and followers that keep serving while the server is down. It runs once on
// loopback addresses and once across network namespaces it creates (veth pairs between a
// server namespace and one namespace per router), which needs root and iproute2: the test
// fails, saying so, without them. The tests are its only content.
package multirouter
