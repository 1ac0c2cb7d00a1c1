package kubetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// Image tags that make kwok, the fake kubelet, report a failing pod. The tag is the part
// after the last ':' of the pod's first container image ("registry.invalid/app:crash");
// every container of such a pod gets the failing status. Any other tag gets kwok's default
// stages: Running and Ready, with a pod IP.
const (
	// TagNeverReady: phase Running with a pod IP, containers running but ready=false,
	// pod conditions Ready and ContainersReady False (reason ContainersNotReady), for good.
	TagNeverReady = "never-ready"
	// TagCrash: phase Running, containers ready=false, restartCount 3, state.waiting
	// CrashLoopBackOff ("back-off 10s restarting failed container=NAME pod=POD_NS(UID)"),
	// lastState.terminated reason Error exit code 1; Ready False.
	TagCrash = "crash"
	// TagOOM: like TagCrash but lastState.terminated reason OOMKilled exit code 137.
	TagOOM = "oom"
	// TagPullError: phase Pending (with a pod IP, as a kubelet whose sandbox is up),
	// containers state.waiting ImagePullBackOff ("Back-off pulling image \"IMAGE\""),
	// ready=false; Ready False.
	TagPullError = "pull-error"
)

// kwokStages are the stage files scripts/kube-binaries.sh copies from the kwok module
// (their concatenation is its default.yaml).
var kwokStages = []string{"node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-complete", "pod-delete"}

var failureTags = []string{TagNeverReady, TagCrash, TagOOM, TagPullError}

// tagKey is the kwok (jq) selector key for the first container image's tag.
const tagKey = `.spec.containers.[0].image | split(":") | last`

// writeStages writes the stages file kwok runs with: kwok's own node stages and pod
// stages (pod-ready and pod-complete told to leave the failure tags alone) and one stage
// per failure tag.
func writeStages(bin, dir string) (string, error) {
	var docs []string
	for _, name := range kwokStages {
		path := filepath.Join(bin, "kwok-stages", name+".yaml")
		data, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("kubetest: reading the kwok stage %s (%w): %s", path, err, runScript)
		}
		doc := string(data)
		if name == "pod-ready" || name == "pod-complete" {
			if doc, err = excludeFailureTags(data); err != nil {
				return "", fmt.Errorf("kubetest: editing the kwok stage %s: %w", path, err)
			}
		}
		docs = append(docs, doc)
	}
	docs = append(docs,
		failureStage(TagNeverReady, "", "Running", runningContainer),
		failureStage(TagCrash, "", "Running", crashContainer("Error", 1)),
		failureStage(TagOOM, "", "Running", crashContainer("OOMKilled", 137)),
		failureStage(TagPullError, pullErrorGuard, "Pending", pullErrorContainer),
	)
	path := filepath.Join(dir, "kwok-stages.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")), 0o644); err != nil {
		return "", fmt.Errorf("kubetest: writing the kwok stages file: %w", err)
	}
	return path, nil
}

// excludeFailureTags adds "tag NotIn failureTags" to a Stage's selector.
func excludeFailureTags(data []byte) (string, error) {
	var stage map[string]any
	if err := yaml.Unmarshal(data, &stage); err != nil {
		return "", err
	}
	spec, _ := stage["spec"].(map[string]any)
	sel, _ := spec["selector"].(map[string]any)
	if sel == nil {
		return "", fmt.Errorf("stage has no spec.selector")
	}
	exprs, _ := sel["matchExpressions"].([]any)
	sel["matchExpressions"] = append(exprs, map[string]any{"key": tagKey, "operator": "NotIn", "values": failureTags})
	out, err := yaml.Marshal(stage)
	return string(out), err
}

// failureStage is a Stage that moves a Pending pod whose image tag is tag to a failing
// status with phase phase and, for each container, the containerStatuses entry cs.
// guard is an extra selector expression (YAML list item) or "".
func failureStage(tag, guard, phase, cs string) string {
	r := strings.NewReplacer("TAG", tag, "GUARD", guard, "PHASE", phase, "CONTAINER", indent(cs, "      "))
	return r.Replace(stageTemplate)
}

func indent(s, pad string) string {
	return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
}

const stageTemplate = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: kubetest-pod-TAG
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending']
    - key: '` + tagKey + `'
      operator: 'In'
      values: ['TAG']
GUARD
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $names := list }}{{ range .spec.containers }}{{ $names = append $names .name }}{{ end }}
      {{ $unready := printf "containers with unready status: [%s]" (join " " $names) }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: Ready
        reason: ContainersNotReady
        message: {{ $unready | Quote }}
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: ContainersReady
        reason: ContainersNotReady
        message: {{ $unready | Quote }}
      containerStatuses:
      {{ range .spec.containers }}
CONTAINER
      {{ end }}
      {{ with NodeIPsWith .spec.nodeName }}
      hostIP: {{ index . 0 | Quote }}
      hostIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      {{ with PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      phase: PHASE
      startTime: {{ $now | Quote }}
`

// pullErrorGuard stops the pull-error stage from matching its own result (the pod stays
// Pending) again and again.
const pullErrorGuard = `    - key: '.status.containerStatuses.[0].state.waiting.reason'
      operator: 'NotIn'
      values: ['ImagePullBackOff']`

const runningContainer = `- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  started: true
  restartCount: 0
  state:
    running:
      startedAt: {{ $now | Quote }}`

const pullErrorContainer = `- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  started: false
  restartCount: 0
  state:
    waiting:
      reason: ImagePullBackOff
      message: {{ printf "Back-off pulling image %q" .image | Quote }}`

// crashContainer is a crash-looping container status; crashStatus writes the same.
func crashContainer(reason string, exitCode int) string {
	return fmt.Sprintf(`- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  started: false
  restartCount: %d
  lastState:
    terminated:
      exitCode: %d
      reason: %s
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
  state:
    waiting:
      reason: CrashLoopBackOff
      message: {{ printf "back-off 10s restarting failed container=%%s pod=%%s_%%s(%%s)" .name $.metadata.name $.metadata.namespace $.metadata.uid | Quote }}`,
		crashRestarts, exitCode, reason)
}

// crashRestarts is the restartCount of a crash-looping container.
const crashRestarts = 3
