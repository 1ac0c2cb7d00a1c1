// Package archtest holds no code: its test keeps the dependency rules of docs/architecture.md
// true, by asking `go list -deps` what each package really links.
package archtest
