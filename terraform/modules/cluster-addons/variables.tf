variable "cluster_name" {
  description = "Name of the EKS cluster the add-ons run on."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,60}$", var.cluster_name))
    error_message = "The cluster_name must be 2-61 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes version of the cluster; the ExternalDNS add-on takes its default version for it."
  type        = string

  validation {
    condition     = can(regex("^1\\.[0-9]+$", var.kubernetes_version))
    error_message = "The kubernetes_version must look like 1.36."
  }
}

variable "node_autoscaling_group_name" {
  description = "Auto Scaling group of the managed node group: the only group the Cluster Autoscaler may resize."
  type        = string

  validation {
    condition     = length(var.node_autoscaling_group_name) > 0
    error_message = "The node_autoscaling_group_name must not be empty."
  }
}

variable "base_domain" {
  description = "Base DNS domain of the API and event hosts (the chart's routing.baseDomain); ExternalDNS manages records under it only."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)+[a-z]{2,}$", var.base_domain))
    error_message = "The base_domain must be a lowercase DNS name such as tickets.example.com."
  }
}

variable "route53_zone_id" {
  description = "Route 53 public hosted zone of base_domain; ExternalDNS may change records in this zone only."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]{1,32}$", var.route53_zone_id))
    error_message = "The route53_zone_id must be a hosted zone ID such as Z0123456789ABCDEFGHIJ."
  }
}

variable "tags" {
  description = "Tags merged into every resource of this module."
  type        = map(string)
  default     = {}
}
