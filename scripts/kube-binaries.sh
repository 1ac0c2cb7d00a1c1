#!/usr/bin/env bash
# Build the Kubernetes test control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok; kubectl on request) from the
# Go module proxy into a cache outside the repository, and print the bin dir
# as the last line of stdout:
#
#   export KUBEBUILDER_ASSETS="$(scripts/kube-binaries.sh | tail -1)"
#
# Usage: scripts/kube-binaries.sh [--smoke] [--force] [NAME...]
#   NAME     build only these (default: etcd kube-apiserver kube-controller-manager
#            kube-scheduler kwok; also available: kubectl, or "all")
#   --force  rebuild even if the stamp matches
#   --smoke  after building, start etcd + kube-apiserver + controller-manager +
#            scheduler + kwok on 127.0.0.1, create a fake node and a 2-replica
#            Deployment, wait until it is Available, tear down (needs curl, openssl)
#
# Environment:
#   CUTOVER_KUBE_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/cutover/kube-<version>);
#                       binaries go to $CUTOVER_KUBE_CACHE/bin, KWOK stages to bin/kwok-stages/
#
# The pinned versions live in tools/kube/go.mod (k8s.io/kubernetes),
# tools/kube/etcd/go.mod and tools/kube/kwok/go.mod; see tools/kube/README.md.
# Progress and timings go to stderr; stdout carries only the bin dir.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/tools/kube"

log() { printf 'kube-binaries: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

command -v go >/dev/null || die "go not found in PATH"

# Module version of $2 in the go.mod of directory $1 (require or replace line).
modver() {
	awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1/go.mod"
}

KUBE_VERSION="$(modver "$TOOLS" k8s.io/kubernetes)"
ETCD_VERSION="$(modver "$TOOLS/etcd" go.etcd.io/etcd/server/v3)"
KWOK_VERSION="$(modver "$TOOLS/kwok" sigs.k8s.io/kwok)"
[[ -n $KUBE_VERSION && -n $ETCD_VERSION && -n $KWOK_VERSION ]] || die "cannot read versions from tools/kube/**/go.mod"

CACHE="${CUTOVER_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cutover/kube-$KUBE_VERSION}"
BIN="$CACHE/bin"
STAMPS="$CACHE/stamps"
STAGES="$BIN/kwok-stages"

SMOKE=0
FORCE=0
WANT=()
for a in "$@"; do
	case "$a" in
	--smoke) SMOKE=1 ;;
	--force) FORCE=1 ;;
	-h | --help) sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
	all) WANT+=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl) ;;
	etcd | kube-apiserver | kube-controller-manager | kube-scheduler | kwok | kubectl) WANT+=("$a") ;;
	*) die "unknown argument: $a (see --help)" ;;
	esac
done
((${#WANT[@]})) || WANT=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

mkdir -p "$BIN" "$STAMPS"
# Two concurrent callers (parallel test jobs) must not build into the same files.
if command -v flock >/dev/null; then
	exec 9>"$CACHE/.lock"
	flock 9
fi

# Reproducible, self-contained builds that never touch a go.mod/go.sum:
# -mod=readonly fails (instead of editing go.sum) if a checksum were missing.
export CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=readonly
GOVERSION="$(go env GOVERSION) $(go env GOOS)/$(go env GOARCH)"

# What a binary is built from: module dir, package, ldflags.
spec() {
	case "$1" in
	kube-apiserver | kube-controller-manager | kube-scheduler | kubectl)
		local v="${KUBE_VERSION#v}" vars="" p
		local major="${v%%.*}" minor="${v#*.}"
		minor="${minor%%.*}"
		for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
			vars+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
			vars+=" -X $p.gitTreeState=clean -X $p.gitCommit=$KUBE_VERSION-goproxy"
		done
		SPEC_DIR="$TOOLS" SPEC_PKG="k8s.io/kubernetes/cmd/$1" SPEC_LDFLAGS="-s -w$vars"
		SPEC_MODS="k8s.io/kubernetes@$KUBE_VERSION"
		;;
	etcd)
		SPEC_DIR="$TOOLS/etcd" SPEC_PKG="go.etcd.io/etcd/server/v3" SPEC_LDFLAGS="-s -w"
		SPEC_MODS="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
		;;
	kwok)
		SPEC_DIR="$TOOLS/kwok" SPEC_PKG="sigs.k8s.io/kwok/cmd/kwok"
		SPEC_LDFLAGS="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
		SPEC_MODS="sigs.k8s.io/kwok@$KWOK_VERSION"
		;;
	esac
}

stamp_of() {
	spec "$1"
	printf '%s\n' "name=$1" "pkg=$SPEC_PKG" "modules=$SPEC_MODS" "go=$GOVERSION" "cgo=0" \
		"ldflags=$SPEC_LDFLAGS" \
		"gomod=$(cat "$SPEC_DIR/go.mod" "$SPEC_DIR/go.sum" | sha256sum | cut -d' ' -f1)"
}

build() {
	local name="$1" want t0 tmp
	want="$(stamp_of "$name")"
	spec "$name"
	if ((!FORCE)) && [[ -x "$BIN/$name" && -f "$STAMPS/$name" && "$(cat "$STAMPS/$name")" == "$want" ]]; then
		log "$name: up to date ($SPEC_MODS), skipped"
		return
	fi
	log "$name: building $SPEC_PKG ($SPEC_MODS) ..."
	t0="$(now)"
	tmp="$BIN/.$name.tmp"
	(cd "$SPEC_DIR" && go build -trimpath -buildvcs=false -ldflags "$SPEC_LDFLAGS" -o "$tmp" "$SPEC_PKG") ||
		{ rm -f "$tmp"; die "$name: build failed"; }
	mv -f "$tmp" "$BIN/$name"
	printf '%s\n' "$want" >"$STAMPS/$name"
	log "$name: built in $(since "$t0")s ($(du -h "$BIN/$name" | cut -f1))"
}

# KWOK has no built-in stages: without --config it exits "no stages found".
# Copy kwokctl's defaults (node-fast + heartbeat, pod-fast) from the kwok module source.
kwok_stages() {
	local want="kwok-stages $KWOK_VERSION" dir s
	if [[ -f "$STAGES/default.yaml" && -f "$STAMPS/kwok-stages" && "$(cat "$STAMPS/kwok-stages")" == "$want" ]]; then
		return
	fi
	dir="$(cd "$TOOLS/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
	[[ -d "$dir/kustomize/stage" ]] || die "kwok module source not found (go list -m gave '$dir')"
	rm -rf "$STAGES" && mkdir -p "$STAGES"
	for s in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
		node/heartbeat/node-heartbeat pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
		cp "$dir/kustomize/stage/$s.yaml" "$STAGES/"
		chmod 0644 "$STAGES/${s##*/}.yaml"
	done
	# default.yaml = what kwokctl uses by default (node lease on): run kwok with
	# --config=default.yaml --node-lease-duration-seconds=40.
	(
		cd "$STAGES"
		for s in node-initialize node-heartbeat-with-lease pod-ready pod-complete pod-delete; do
			printf -- '---\n'
			cat "$s.yaml"
		done
	) >"$STAGES/default.yaml"
	printf '%s\n' "$want" >"$STAMPS/kwok-stages"
	log "kwok stages: $STAGES (from $dir/kustomize/stage)"
}

T_ALL="$(now)"
for name in "${WANT[@]}"; do
	build "$name"
	if [[ $name == kwok ]]; then kwok_stages; fi
done
log "done in $(since "$T_ALL")s; cache $CACHE ($(du -sh "$CACHE" | cut -f1))"

# ---------------------------------------------------------------------------
# Tear down the smoke cluster: stop processes newest first, show logs on failure.
smoke_stop() {
	local rc=$? i f n
	# One at a time, newest first: kube-apiserver's graceful shutdown can hang for
	# minutes if etcd is gone first. SIGTERM, up to 10 s, then SIGKILL.
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill "${PIDS[i]}" 2>/dev/null || continue
		for ((n = 0; n < 100; n++)); do
			kill -0 "${PIDS[i]}" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "${PIDS[i]}" 2>/dev/null || true
		wait "${PIDS[i]}" 2>/dev/null || true
	done
	PIDS=()
	if ((rc != 0)); then
		for f in "$T"/*.log; do
			if [[ -f $f ]]; then log "---- tail of ${f##*/}"; tail -n 20 "$f" >&2; fi
		done
	fi
	[[ -n ${T:-} ]] && rm -rf "$T"
	T=""
	trap - EXIT
}

smoke() {
	local b
	for b in curl openssl; do command -v "$b" >/dev/null || die "--smoke needs $b"; done
	for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
		[[ -x "$BIN/$b" ]] || die "--smoke needs $b (run without NAME arguments)"
	done
	[[ -f "$STAGES/default.yaml" ]] || die "--smoke needs kwok stages"

	local W p
	# Globals, not locals: the EXIT trap runs after this function has returned.
	T="$(mktemp -d "${TMPDIR:-/tmp}/cutover-kube-smoke.XXXXXX")"
	PIDS=() PNAMES=()
	trap smoke_stop EXIT

	# A free loopback port: bind :0 via the kernel is not possible from bash, so pick
	# random high ports and skip those that accept connections or are already taken.
	local used=" "
	freeport() {
		local port
		for _ in $(seq 1 200); do
			port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768+)
			[[ $used == *" $port "* ]] && continue
			if ! (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				used+="$port "
				echo "$port"
				return
			fi
		done
		die "no free port found"
	}
	local ETCD_PORT ETCD_PEER API_PORT TOKEN
	ETCD_PORT="$(freeport)"
	ETCD_PEER="$(freeport)"
	API_PORT="$(freeport)"
	TOKEN="$(openssl rand -hex 16)"

	T0="$(now)"
	"$BIN/etcd" --name=smoke --data-dir="$T/etcd" \
		--listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls="http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER" \
		--initial-cluster="smoke=http://127.0.0.1:$ETCD_PEER" \
		--unsafe-no-fsync --log-level=warn >"$T/etcd.log" 2>&1 &
	PIDS+=($!) PNAMES+=(etcd)

	# Service-account signing key (required flags since 1.20) and a static admin token.
	openssl genrsa -out "$T/sa.key" 2048 2>/dev/null
	openssl rsa -in "$T/sa.key" -pubout -out "$T/sa.pub" 2>/dev/null
	printf '%s,smoke-admin,smoke-admin,"system:masters"\n' "$TOKEN" >"$T/tokens.csv"

	"$BIN/kube-apiserver" \
		--etcd-servers="http://127.0.0.1:$ETCD_PORT" \
		--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
		--cert-dir="$T/certs" \
		--token-auth-file="$T/tokens.csv" --authorization-mode=RBAC \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$T/sa.pub" --service-account-signing-key-file="$T/sa.key" \
		--service-cluster-ip-range=10.96.0.0/24 \
		>"$T/kube-apiserver.log" 2>&1 &
	PIDS+=($!) PNAMES+=(kube-apiserver)

	alive() {
		local i
		for i in "${!PIDS[@]}"; do kill -0 "${PIDS[i]}" 2>/dev/null || die "${PNAMES[i]} exited (see its log below)"; done
	}
	local API="https://127.0.0.1:$API_PORT" CA="$T/certs/apiserver.crt"
	kcurl() { curl -sS --fail-with-body --max-time 10 --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$@"; }
	W="$(now)"
	until [[ -f $CA ]] && [[ "$(kcurl "$API/readyz" 2>/dev/null)" == ok ]]; do
		(($(awk -v a="$W" -v b="$(now)" 'BEGIN { print (b - a > 90) }'))) && die "kube-apiserver not ready after 90s"
		alive
		sleep 0.2
	done
	local T_API
	T_API="$(since "$T0")"
	log "smoke: etcd + kube-apiserver ready (/readyz ok) after ${T_API}s"

	cat >"$T/kubeconfig" <<-EOF
		apiVersion: v1
		kind: Config
		clusters:
		- name: smoke
		  cluster: {server: "$API", certificate-authority: "$CA"}
		users:
		- name: smoke-admin
		  user: {token: "$TOKEN"}
		contexts:
		- name: smoke
		  context: {cluster: smoke, user: smoke-admin}
		current-context: smoke
	EOF

	"$BIN/kube-controller-manager" --kubeconfig="$T/kubeconfig" --leader-elect=false \
		--secure-port=0 --service-account-private-key-file="$T/sa.key" --root-ca-file="$CA" \
		--use-service-account-credentials=false \
		>"$T/kube-controller-manager.log" 2>&1 &
	PIDS+=($!) PNAMES+=(kube-controller-manager)
	"$BIN/kube-scheduler" --kubeconfig="$T/kubeconfig" --leader-elect=false --secure-port=0 \
		>"$T/kube-scheduler.log" 2>&1 &
	PIDS+=($!) PNAMES+=(kube-scheduler)
	# Pod/node IPs are fiction (documentation ranges); nothing sends traffic to them.
	"$BIN/kwok" --config="$STAGES/default.yaml" --kubeconfig="$T/kubeconfig" \
		--manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
		--node-lease-duration-seconds=40 --cidr=198.51.100.0/24 --node-ip=192.0.2.1 \
		>"$T/kwok.log" 2>&1 &
	PIDS+=($!) PNAMES+=(kwok)

	kcurl -X POST -H 'Content-Type: application/json' "$API/api/v1/nodes" -o /dev/null -d '{
	  "apiVersion": "v1", "kind": "Node",
	  "metadata": {"name": "kwok-node-0",
	    "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
	    "labels": {"type": "kwok", "kubernetes.io/hostname": "kwok-node-0", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
	  "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
	             "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"}}}' ||
		die "creating the fake node failed"
	kcurl -X POST -H 'Content-Type: application/json' "$API/apis/apps/v1/namespaces/default/deployments" -o /dev/null -d '{
	  "apiVersion": "apps/v1", "kind": "Deployment",
	  "metadata": {"name": "smoke"},
	  "spec": {"replicas": 2,
	    "selector": {"matchLabels": {"app": "smoke"}},
	    "template": {"metadata": {"labels": {"app": "smoke"}},
	      "spec": {"containers": [{"name": "app", "image": "registry.invalid/smoke:1"}]}}}}' ||
		die "creating the Deployment failed"

	W="$(now)"
	local avail=""
	while :; do
		avail="$(kcurl "$API/apis/apps/v1/namespaces/default/deployments/smoke" 2>/dev/null |
			grep -o '"availableReplicas": *[0-9]*' | grep -o '[0-9]*$' || true)"
		[[ $avail == 2 ]] && break
		(($(awk -v a="$W" -v b="$(now)" 'BEGIN { print (b - a > 120) }'))) &&
			die "Deployment not available after 120s (availableReplicas=${avail:-0})"
		alive
		sleep 0.3
	done
	local T_DEP
	T_DEP="$(since "$T0")"
	log "smoke: Deployment smoke has 2/2 available replicas after ${T_DEP}s (API ready at ${T_API}s)"
	local pods bound ips
	pods="$(kcurl "$API/api/v1/namespaces/default/pods?labelSelector=app%3Dsmoke")"
	bound="$(grep -o '"nodeName": *"kwok-node-0"' <<<"$pods" | wc -l)"
	ips="$(grep -o '"podIP": *"[0-9.]*"' <<<"$pods" | grep -o '[0-9.]*"$' | tr -d '"' | tr '\n' ' ')"
	((bound == 2)) || die "expected 2 pods bound to kwok-node-0, got $bound"
	log "smoke: pods bound to kwok-node-0 by kube-scheduler, kwok-assigned pod IPs: $ips"
	W="$(now)"
	smoke_stop
	log "smoke: OK (teardown $(since "$W")s)"
}

((SMOKE)) && smoke

printf '%s\n' "$BIN"
