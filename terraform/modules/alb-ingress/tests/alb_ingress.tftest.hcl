# Tests for the ALB Ingress settings the chart takes from Terraform. No provider is involved.

variables {
  group_name      = "ticketing-prod"
  certificate_arn = "arn:aws:acm:eu-west-1:111122223333:certificate/0b5e6f1a-1111-2222-3333-444455556666"
  waf_web_acl_arn = "arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/ticketing-prod-waf/a1b2c3d4-1111-2222-3333-444455556666"
}

run "every_ingress_joins_one_alb_behind_the_waf_with_the_certificate" {
  command = plan

  assert {
    condition     = output.ingress_class_name == "alb" && output.ingress_group_name == "ticketing-prod"
    error_message = "The Ingresses must use the controller's alb class and one group."
  }

  assert {
    condition     = output.annotations["alb.ingress.kubernetes.io/group.name"] == "ticketing-prod"
    error_message = "Every Ingress must join the one ALB of the group."
  }

  assert {
    condition     = output.annotations["alb.ingress.kubernetes.io/wafv2-acl-arn"] == var.waf_web_acl_arn
    error_message = "The ALB must be associated with the web ACL."
  }

  assert {
    condition     = output.annotations["alb.ingress.kubernetes.io/certificate-arn"] == var.certificate_arn
    error_message = "The ALB must serve the certificate."
  }

  assert {
    condition = (
      jsondecode(output.annotations["alb.ingress.kubernetes.io/listen-ports"]) == [{ HTTP = 80 }, { HTTPS = 443 }]
      && output.annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    )
    error_message = "The ALB must listen on 80 and 443 and redirect HTTP to HTTPS."
  }

  assert {
    condition = (
      output.annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
      && output.annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
      && output.annotations["alb.ingress.kubernetes.io/healthcheck-path"] == "/api/health"
      && startswith(output.annotations["alb.ingress.kubernetes.io/ssl-policy"], "ELBSecurityPolicy-TLS13-")
    )
    error_message = "The ALB must be public, target pod IPs, check /api/health and allow TLS 1.3."
  }
}

run "no_waf_means_no_waf_annotation_where_none_is_required" {
  command = plan

  variables {
    waf_web_acl_arn = null
    require_waf     = false
  }

  assert {
    condition     = !contains(keys(output.annotations), "alb.ingress.kubernetes.io/wafv2-acl-arn")
    error_message = "Without a web ACL the annotation must be absent, not empty."
  }
}

run "a_public_alb_without_its_waf_is_rejected" {
  command = plan

  variables {
    waf_web_acl_arn = null
  }

  expect_failures = [output.annotations]
}

run "a_cloudfront_web_acl_is_rejected" {
  command = plan

  # A CLOUDFRONT-scope ACL cannot be associated with an ALB.
  variables {
    waf_web_acl_arn = "arn:aws:wafv2:us-east-1:111122223333:global/webacl/edge/a1b2c3d4-1111-2222-3333-444455556666"
  }

  expect_failures = [var.waf_web_acl_arn]
}

run "a_certificate_that_is_not_from_acm_is_rejected" {
  command = plan

  variables {
    certificate_arn = "arn:aws:iam::111122223333:server-certificate/tickets"
  }

  expect_failures = [var.certificate_arn]
}

run "a_group_name_the_controller_refuses_is_rejected" {
  command = plan

  variables {
    group_name = "Ticketing_Prod"
  }

  expect_failures = [var.group_name]
}

run "an_old_tls_policy_is_rejected" {
  command = plan

  variables {
    ssl_policy = "ELBSecurityPolicy-2016-08"
  }

  expect_failures = [var.ssl_policy]
}
