// Package aws tests cutover driving AWS as a user runs it: the real binary as a `cutover
// server` process, against a real moto_server (the AWS emulator, which must be on PATH: its
// absence fails the tests, never skips them), with the app's spec applied and its
// deployments controlled through the CLI and the API socket. In each test the server is
// killed with SIGKILL in the middle of a canary held at 10%; the test checks that nothing
// touched the cloud's objects meanwhile, and that the restarted server resumes the same
// deployment on the same objects, shows the provider's read-back as its evidence, and
// finishes the deployment when promoted: an ECS service behind an ALB (the same task sets
// and target groups), Route 53 weighted records in front of releases that run elsewhere
// (the same record sets), and an Auto Scaling group per release behind an ALB (the same
// groups). The tests are its only content.
package aws
