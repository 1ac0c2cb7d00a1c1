// Package ui tests the web dashboard in a real browser: a cutover server runs in-process
// with the sample app under constant load, and headless Chromium (Debian's, driven over the
// DevTools protocol by chromedp) logs in, watches a canary's split move, aborts it, and
// checks that a read-only session can neither see nor use the actions; an ECS app behind an
// ALB in moto_server, and a Kubernetes app on a Gateway API HTTPRoute in a real control
// plane (package kubetest, started only by that test), show the provider's read-back where
// a local app shows the router's observed split. It writes screenshots
// of the main pages to docs/screenshots (or $CUTOVER_SCREENSHOTS).
//
// Chromium must be installed (scripts/test.sh installs it: apt-get install -y chromium);
// without it the test fails and says so.
package ui
