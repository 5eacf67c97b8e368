# The TLS certificate of the public entry point: one ACM certificate for the
# base domain and every host one level below it (api.<base domain> and each
# event's <event>.<base domain>), validated through DNS records in the base
# domain's Route 53 zone, so that ACM renews it without anyone acting. The
# ALB made by the AWS Load Balancer Controller serves it (the Ingress
# annotation alb.ingress.kubernetes.io/certificate-arn).

resource "aws_acm_certificate" "this" {
  domain_name               = var.base_domain
  subject_alternative_names = ["*.${var.base_domain}"]
  validation_method         = "DNS"
  key_algorithm             = "RSA_2048"

  options {
    certificate_transparency_logging_preference = "ENABLED"
  }

  tags = merge(var.tags, { Name = var.base_domain })

  # A replacement is issued and validated before the old certificate goes,
  # so the load balancer always has one to serve.
  lifecycle {
    create_before_destroy = true
  }
}

# The base domain and its wildcard share one validation record; allowing the
# overwrite lets both entries write it.
resource "aws_route53_record" "validation" {
  for_each = {
    for option in aws_acm_certificate.this.domain_validation_options : option.domain_name => {
      name   = option.resource_record_name
      type   = option.resource_record_type
      record = option.resource_record_value
    }
  }

  zone_id         = var.route53_zone_id
  name            = each.value.name
  type            = each.value.type
  records         = [each.value.record]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  certificate_arn         = aws_acm_certificate.this.arn
  validation_record_fqdns = [for record in aws_route53_record.validation : record.fqdn]
}
