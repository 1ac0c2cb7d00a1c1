// Package docker holds the end-to-end tests of cutover's Docker runtime as a user runs it:
// the real binary as `cutover server` (which starts `cutover router`), a real Docker engine
// (DOCKER_HOST, or the local socket; scripts/test.sh starts one when none answers), apps
// whose releases are images built by cutover from a Dockerfile (FROM scratch, the cutover
// binary's hidden sample-app command as the entrypoint), and constant load through the
// router. The tests are its only content and are never skipped: no engine is a failure.
package docker
