# A complete deployment of the ticketing stack. The root module's defaults are
# the recommended high-availability settings (a NAT gateway per AZ, at least
# two nodes, an Aurora writer and reader, a Redis primary and replica, alarms
# and WAF), so this example passes only what differs per deployment: every
# value comes from terraform.tfvars. The policy scan (checkov) renders the
# root module with terraform.tfvars.example, which is therefore exactly what
# this example deploys.

provider "aws" {
  region = var.region
}

module "ticketing" {
  source = "../.."

  environment           = var.environment
  azs                   = var.azs
  public_access_cidrs   = var.public_access_cidrs
  base_domain           = var.base_domain
  route53_zone_id       = var.route53_zone_id
  concurrent_on_sales   = var.concurrent_on_sales
  aurora_instance_class = var.aurora_instance_class
  node_max_size         = var.node_max_size
  alarm_emails          = var.alarm_emails
  tags                  = var.tags
}
