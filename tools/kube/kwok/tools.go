//go:build tools

// Package tools pins KWOK, which scripts/kube-binaries.sh builds. A module
// of its own: kwok v0.8.0 requires newer grpc/otel than k8s.io/kubernetes
// v1.36.3, and mixing them would change the kube binaries' dependencies.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
