//go:build tools

// Package tools pins the etcd server that scripts/kube-binaries.sh builds.
// A module of its own: etcd v3.6.8 is tested with older grpc/otel than
// k8s.io/kubernetes v1.36.3 requires, so it keeps its own dependency set.
package tools

import _ "go.etcd.io/etcd/server/v3"
