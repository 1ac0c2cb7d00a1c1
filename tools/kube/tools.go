//go:build tools

// Package tools pins the Kubernetes control-plane commands that
// scripts/kube-binaries.sh builds for the envtest/KWOK test harness.
// It is a separate module so that k8s.io/kubernetes never enters the
// main module's go.mod.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
