// Package pipeline tests cutover's pipelines as a user runs them: the real binary as a
// `cutover server` process over a real git repository the test commits to (git CLI), with
// the sample app as what each commit's artifact runs. Commits are built, tested and
// deployed; a failing test leaves the serving version alone; a commit deploys by canary
// under load without a failed request; a newer commit supersedes a queued one; webhooks are
// verified by their signature; a server killed during a build resumes the run. The tests
// are its only content.
package pipeline
