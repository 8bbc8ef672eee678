{{/* Name of every object of the release: <release>-operator (pollard-operator for the release "pollard"). */}}
{{- define "pollard.name" -}}
{{- printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pollard.selectorLabels" -}}
app.kubernetes.io/name: pollard
app.kubernetes.io/component: operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "pollard.labels" -}}
{{ include "pollard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The image by digest when one is given, else by tag (default: the chart's appVersion). */}}
{{- define "pollard.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* What the operator does in a namespace it watches. */}}
{{- define "pollard.namespacedRules" -}}
# its own resources: specs are read, never written, except the PruningJobs a CompressionPolicy generates
- apiGroups: ["pollard.dev"]
  resources: ["inferencedeployments", "compressionpolicies"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["pollard.dev"]
  resources: ["pruningjobs"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["pollard.dev"]
  resources: ["pruningjobs/status", "inferencedeployments/status", "compressionpolicies/status"]
  verbs: ["get", "update", "patch"]
# pruning runs (created by server-side apply, hence patch)
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# reading progress and the worker's report from its pods (the worker itself gets no API credentials)
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
# serving
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
# telling users what happened (an Event seen again has its count raised, not a twin created)
- apiGroups: [""]
  resources: ["events"]
  verbs: ["get", "create", "patch"]
{{- end -}}

{{/* What the operator needs cluster-wide in every mode: HardwareClasses are cluster-scoped. */}}
{{- define "pollard.clusterRules" -}}
- apiGroups: ["pollard.dev"]
  resources: ["hardwareclasses"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["pollard.dev"]
  resources: ["hardwareclasses/status"]
  verbs: ["get", "update", "patch"]
{{- end -}}
