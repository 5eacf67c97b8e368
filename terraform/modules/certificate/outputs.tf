output "certificate_arn" {
  description = "ARN of the validated certificate, for the Ingress annotation alb.ingress.kubernetes.io/certificate-arn (known once ACM has validated it)."
  value       = aws_acm_certificate_validation.this.certificate_arn
}
