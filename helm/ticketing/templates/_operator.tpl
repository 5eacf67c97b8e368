{{/*
The operator's command line and environment. They live in one place so that scripts/test-helm.sh can run the
real binary locally with exactly what the chart hands the pods.
*/}}
{{- define "ticketing.operatorArgs" -}}
- run
- --api-url={{ .Values.operator.apiUrl | default (include "ticketing.apiUrl" .) }}
- --admin-token-file=/var/run/secrets/ticketing/admin/{{ include "ticketing.adminSecretKey" . }}
- --base-domain={{ .Values.routing.baseDomain }}
{{- with .Values.routing.ingressClassName }}
- --ingress-class={{ . }}
{{- end }}
{{- with .Values.routing.tlsSecretName }}
- --tls-secret={{ . }}
{{- end }}
- --service-image={{ include "ticketing.image" (dict "image" .Values.image "ctx" .) }}
- --service-secret={{ include "ticketing.configSecretName" . }}
{{- if .Values.eventService.env }}
- --service-config-map={{ include "ticketing.envConfigMapName" . }}
{{- end }}
- --service-cpu-request={{ .Values.eventService.cpuRequest }}
- --service-memory-request={{ .Values.eventService.memoryRequest }}
- --service-memory-limit={{ .Values.eventService.memoryLimit }}
- --service-run-as-user={{ .Values.eventService.runAsUser }}
- --service-zone-spread={{ .Values.eventService.zoneSpread }}
- --service-pre-stop-seconds={{ .Values.eventService.preStopSeconds }}
{{- with .Values.imagePullSecrets }}
{{- $names := list }}
{{- range . }}{{ $names = append $names .name }}{{ end }}
- --service-image-pull-secrets={{ join "," $names }}
{{- end }}
{{- if eq .Values.operator.scope "namespace" }}
- --watch-namespace={{ .Release.Namespace }}
{{- end }}
- --lease-name={{ include "ticketing.operatorName" . }}
- --metrics-bind=0.0.0.0:{{ .Values.operator.metricsPort }}
{{- with .Values.operator.extraArgs }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "ticketing.operatorEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: RUST_LOG
  value: {{ .Values.operator.logLevel | quote }}
{{- with .Values.operator.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
