// Package kubee2e holds the tests of the Kubernetes providers against a real control plane
// (kube-apiserver, controller-manager, scheduler and kwok's fake kubelet, started by
// kubetest): the GroupDriver and TrafficProvider contract suites, the pod failures a
// release reports, ownership and drift. It has no code of its own.
package kubee2e
