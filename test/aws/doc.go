// Package aws tests cutover driving an ECS service behind an ALB as a user runs it: the real
// binary as a `cutover server` process, against a real moto_server (the AWS emulator, which
// must be on PATH: its absence fails the tests, never skips them), with the app's spec
// applied and its deployments controlled through the CLI and the API socket. The server is
// killed with SIGKILL in the middle of a canary held at 10%; the test checks that nothing
// touched the load balancer meanwhile, and that the restarted server resumes the same
// deployment on the same ECS task sets and target groups, shows the listener's read-back as
// its evidence, and finishes the deployment when promoted. The tests are its only content.
package aws
