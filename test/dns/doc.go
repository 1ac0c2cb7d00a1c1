// Package dns tests cutover's own DNS server as a user runs it: the real binary as a
// `cutover server --dns 127.0.0.1:PORT` process, releases that run elsewhere (run.external,
// HTTP health servers on 127.0.0.2 and 127.0.0.3) behind traffic.dns, real DNS queries
// over UDP and TCP from thousands of loopback source addresses, and a kill -9 of the server
// in the middle of a canary. The tests are its only content.
package dns
