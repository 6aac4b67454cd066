{{/* Name of the chart, or nameOverride. */}}
{{- define "wolkvox-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Name of the release's objects: fullnameOverride, or "<release>-<chart>", or the release name alone when it
already contains the chart's name. Kubernetes names are at most 63 characters.
*/}}
{{- define "wolkvox-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "wolkvox-exporter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "wolkvox-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: exporter
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the exporter's pod; they never change over the life of a release. */}}
{{- define "wolkvox-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wolkvox-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Name of the ServiceAccount the pod runs as. */}}
{{- define "wolkvox-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "wolkvox-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret that holds the token, and its key: the user's existing one, or the one this chart makes. */}}
{{- define "wolkvox-exporter.secretName" -}}
{{- if and .Values.wolkvox.token .Values.wolkvox.existingSecret.name }}
{{- fail "set wolkvox.token or wolkvox.existingSecret.name, not both" }}
{{- end }}
{{- if .Values.wolkvox.existingSecret.name }}
{{- .Values.wolkvox.existingSecret.name }}
{{- else }}
{{- include "wolkvox-exporter.fullname" . }}
{{- end }}
{{- end }}

{{- define "wolkvox-exporter.secretKey" -}}
{{- if .Values.wolkvox.existingSecret.name }}
{{- .Values.wolkvox.existingSecret.key }}
{{- else -}}
token
{{- end }}
{{- end }}

{{/* Image reference: repository:tag, or repository@digest when a digest is given. */}}
{{- define "wolkvox-exporter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* What the pod polls: "demo" (the built-in simulator), "operations" (several, from a file) or "single". */}}
{{- define "wolkvox-exporter.mode" -}}
{{- if .Values.demo }}
{{- if .Values.operations }}
{{- fail "demo and operations exclude each other" }}
{{- end -}}
demo
{{- else if .Values.operations }}
{{- if or .Values.wolkvox.server .Values.wolkvox.token .Values.wolkvox.existingSecret.name .Values.wolkvox.url .Values.wolkvox.operation }}
{{- fail "with operations, give the server, token, url and name of each operation in its entry, not in wolkvox.*" }}
{{- end -}}
operations
{{- else -}}
single
{{- end }}
{{- end }}

{{/* The data of the Secret this chart makes: the tokens given as values, none when they all come from existing Secrets. */}}
{{- define "wolkvox-exporter.secretData" -}}
{{- $mode := include "wolkvox-exporter.mode" . }}
{{- if eq $mode "operations" }}
{{- range $i, $op := .Values.operations }}
{{- with $op.token }}
token-{{ $i }}: {{ . | b64enc | quote }}
{{- end }}
{{- end }}
{{- else if and (eq $mode "single") (not .Values.wolkvox.existingSecret.name) }}
token: {{ required "wolkvox.token or wolkvox.existingSecret.name is required unless demo is true" .Values.wolkvox.token | b64enc | quote }}
{{- end }}
{{- end }}

{{/*
A string of the generated files (files/) with each @@name@@ replaced by the value of name: (list text params), where
params maps parameter names to their values as strings.
*/}}
{{- define "wolkvox-exporter.fill" -}}
{{- $text := index . 0 }}
{{- range $name, $value := index . 1 }}
{{- $text = replace (printf "@@%s@@" $name) $value $text }}
{{- end }}
{{- $text }}
{{- end }}

{{/*
The job label the scrapes give the exporter's series, and the rules select: the PodMonitor's when it is the one enabled.
*/}}
{{- define "wolkvox-exporter.jobLabel" -}}
{{- ternary .Values.podMonitor.jobLabel .Values.serviceMonitor.jobLabel .Values.podMonitor.enabled }}
{{- end }}
