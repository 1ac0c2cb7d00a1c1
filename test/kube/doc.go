// Package kube tests cutover driving Kubernetes as a user runs it: the real binary as a
// `cutover server` process, against a real control plane (package kubetest: kube-apiserver,
// controller-manager, scheduler and kwok, with a stand-in Gateway API controller), with the
// app's spec applied and its deployments controlled through the CLI. One test kills the
// server with SIGKILL in the middle of a canary on a Gateway API HTTPRoute held at 10%,
// checks that nothing touched the cluster's objects meanwhile, and that the restarted server
// resumes the same deployment on the same Deployments, Services and HTTPRoute and finishes
// it when promoted; the other checks that specs the cluster cannot run are refused at
// apply, with the problem named, and leave nothing behind. The tests are its only content.
package kube
