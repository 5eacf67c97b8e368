{{/* Names, labels and shared fragments of the ticketing chart. */}}

{{- define "ticketing.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ticketing.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels on every resource. */}}
{{- define "ticketing.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "ticketing.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ticketing
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component; call with (dict "ctx" $ "component" "api"). */}}
{{- define "ticketing.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ticketing.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Full labels of one component; call with (dict "ctx" $ "component" "api"). */}}
{{- define "ticketing.componentLabels" -}}
{{ include "ticketing.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* An image reference from {repository, tag, digest}; call with (dict "image" .Values.image "ctx" $). */}}
{{- define "ticketing.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "ticketing.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (printf "%s-operator" (include "ticketing.fullname" .)) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Name of the shared Secret the API and every event's pods load their environment from. */}}
{{- define "ticketing.configSecretName" -}}
{{- default (printf "%s-config" (include "ticketing.fullname" .)) .Values.config.existingSecret -}}
{{- end -}}

{{/* Name of the ConfigMap of non-secret environment shared by the API and every event's pods. */}}
{{- define "ticketing.envConfigMapName" -}}
{{- printf "%s-env" (include "ticketing.fullname" .) -}}
{{- end -}}

{{/* Name of the Secret holding the admin token. */}}
{{- define "ticketing.adminSecretName" -}}
{{- default (printf "%s-admin" (include "ticketing.fullname" .)) .Values.admin.existingSecret -}}
{{- end -}}

{{- define "ticketing.adminSecretKey" -}}
{{- if .Values.admin.existingSecret -}}{{ .Values.admin.existingSecretKey }}{{- else -}}admin-token{{- end -}}
{{- end -}}

{{- define "ticketing.apiName" -}}
{{- printf "%s-api" (include "ticketing.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ticketing.operatorName" -}}
{{- printf "%s-operator" (include "ticketing.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ticketing.apiHost" -}}
{{- default (printf "api.%s" .Values.routing.baseDomain) .Values.api.ingress.host -}}
{{- end -}}

{{/* In-cluster URL of the shared API, which the operator calls. */}}
{{- define "ticketing.apiUrl" -}}
{{- printf "http://%s.%s.svc:%v" (include "ticketing.apiName" .) .Release.Namespace .Values.api.service.port -}}
{{- end -}}

{{/* Pod-level security context shared by every pod of the chart. */}}
{{- define "ticketing.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container-level security context shared by every container of the chart. */}}
{{- define "ticketing.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Default affinity: prefer one replica per node; call with (dict "ctx" $ "component" "api"). */}}
{{- define "ticketing.spreadAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "ticketing.selectorLabels" . | nindent 12 }}
{{- end -}}

{{/*
Ingress rules for the HTTP port of the API and of every event's pods: from anywhere when
networkPolicy.apiIngressFrom is empty; otherwise from those peers, the Prometheus peers of
networkPolicy.metricsFrom (/metrics is on the same port), the operator and the chart's test pod.
*/}}
{{- define "ticketing.httpIngressRules" -}}
- ports:
    - port: http
      protocol: TCP
  {{- with .Values.networkPolicy.apiIngressFrom }}
  from:
    - podSelector:
        matchLabels:
          {{- include "ticketing.selectorLabels" (dict "ctx" $ "component" "operator") | nindent 10 }}
    - podSelector:
        matchLabels:
          {{- include "ticketing.selectorLabels" (dict "ctx" $ "component" "test") | nindent 10 }}
    {{- toYaml . | nindent 4 }}
    {{- with $.Values.networkPolicy.metricsFrom }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
{{- end -}}
