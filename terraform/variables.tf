variable "project" {
  description = "Project name, the first part of every resource name."
  type        = string
  default     = "ticketing"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.project))
    error_message = "The project must be 2-16 lowercase letters or digits, starting with a letter."
  }
}

variable "environment" {
  description = "Deployment environment: dev, staging or prod."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of dev, staging or prod."
  }
}

variable "azs" {
  description = "Availability zones of the region to spread everything over; at least two, three recommended."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2 && length(distinct(var.azs)) == length(var.azs)
    error_message = "Give at least two distinct availability zones."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC (/16 to /20)."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "The vpc_cidr must be an IPv4 CIDR block."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs instead of one per AZ (cheaper, dev only)."
  type        = bool
  default     = false
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the EKS control plane, nodes and add-ons (1.35 or later); raise it one minor at a time."
  type        = string
  default     = "1.36"

  validation {
    condition     = can(regex("^1\\.[0-9]+$", var.kubernetes_version))
    error_message = "The kubernetes_version must look like 1.36."
  }
}

variable "eks_support_type" {
  description = "EKS upgrade policy when the version leaves standard support: STANDARD (EKS upgrades the control plane) or EXTENDED (12 more months at extra cost)."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "EXTENDED"], var.eks_support_type)
    error_message = "The eks_support_type must be STANDARD or EXTENDED."
  }
}

variable "base_domain" {
  description = "Base DNS domain of the API and event hosts, the chart's routing.baseDomain (api.<base_domain>, <event>.<base_domain>)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)+[a-z]{2,}$", var.base_domain))
    error_message = "The base_domain must be a lowercase DNS name such as tickets.example.com."
  }
}

variable "route53_zone_id" {
  description = "Existing Route 53 public hosted zone of base_domain: ACM validates the certificate there and ExternalDNS publishes the hosts there."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]{1,32}$", var.route53_zone_id))
    error_message = "The route53_zone_id must be a hosted zone ID such as Z0123456789ABCDEFGHIJ."
  }
}

variable "public_access_cidrs" {
  description = "CIDR blocks allowed to reach the EKS API endpoint from the internet (the operators' addresses); empty for a private endpoint only."
  type        = list(string)

  validation {
    condition     = alltrue([for cidr in var.public_access_cidrs : can(cidrhost(cidr, 0)) && !endswith(cidr, "/0")])
    error_message = "The public_access_cidrs must be valid CIDR blocks narrower than /0."
  }
}

variable "node_instance_types" {
  description = "EC2 instance types of the node group."
  type        = list(string)
  default     = ["m6i.large"]

  validation {
    condition     = length(var.node_instance_types) >= 1
    error_message = "Give at least one instance type."
  }
}

variable "node_min_size" {
  description = "Minimum number of nodes (at least 2)."
  type        = number
  default     = 2

  validation {
    condition     = var.node_min_size >= 2
    error_message = "The node_min_size must be at least 2."
  }
}

variable "node_desired_size" {
  description = "Initial number of nodes."
  type        = number
  default     = 3

  validation {
    condition     = var.node_desired_size >= 2
    error_message = "The node_desired_size must be at least 2."
  }
}

variable "node_max_size" {
  description = "Maximum number of nodes for the on-sale peak."
  type        = number
  default     = 10

  validation {
    condition     = var.node_max_size >= 2
    error_message = "The node_max_size must be at least 2."
  }
}

variable "node_pod_cpu_millicores" {
  description = "CPU one node of node_instance_types offers to pods after the kubelet reserve and the DaemonSets, in millicores (1,400 for m6i.large); with node_max_size it bounds the peak."
  type        = number
  default     = 1400

  validation {
    condition     = var.node_pod_cpu_millicores >= 500
    error_message = "The node_pod_cpu_millicores must be at least 500."
  }
}

variable "aurora_instance_class" {
  description = "Aurora MySQL instance class of the writer and readers."
  type        = string
  default     = "db.r6g.large"

  validation {
    condition     = startswith(var.aurora_instance_class, "db.")
    error_message = "The aurora_instance_class must be an RDS instance class (db.*)."
  }
}

variable "aurora_instance_count" {
  description = "Aurora instances: one writer plus readers (at least 2 in total)."
  type        = number
  default     = 2

  validation {
    condition     = var.aurora_instance_count >= 2
    error_message = "The aurora_instance_count must be at least 2."
  }
}

variable "aurora_backup_retention_days" {
  description = "Days of Aurora automated backups."
  type        = number
  default     = 14

  validation {
    condition     = var.aurora_backup_retention_days >= 7 && var.aurora_backup_retention_days <= 35
    error_message = "Keep between 7 and 35 days of backups."
  }
}

variable "deletion_protection" {
  description = "Protect the Aurora cluster from deletion."
  type        = bool
  default     = true
}

variable "concurrent_on_sales" {
  description = "TicketEvents whose sales may peak at the same time: name, spec.scaling.peakReplicas, spec.scaling.hpa.maxReplicas and the CPU request of one pod in millicores (default 250) of each. Sizes max_connections and checks node_max_size (see modules/thresholds)."
  type = list(object({
    name           = string
    peak_replicas  = number
    max_replicas   = number
    cpu_millicores = optional(number, 250)
  }))

  validation {
    condition     = length(var.concurrent_on_sales) >= 1
    error_message = "Give at least one on-sale."
  }
}

variable "api_max_replicas" {
  description = "The chart's api.autoscaling.maxReplicas (api.replicas when the API autoscaler is off); sizes max_connections."
  type        = number
  default     = 10

  validation {
    condition     = var.api_max_replicas >= 1
    error_message = "The api_max_replicas must be at least 1."
  }
}

variable "db_pool_size_per_pod" {
  description = "MySQL pool size of one service pod (its TICKETING_DB_MAX_CONNECTIONS); sizes max_connections."
  type        = number
  default     = 16

  validation {
    condition     = var.db_pool_size_per_pod >= 1
    error_message = "The db_pool_size_per_pod must be at least 1."
  }
}

variable "aurora_max_connections" {
  description = "Explicit max_connections above the instance class default (up to 16000); null sizes it from the peak and keeps the class default as the ceiling."
  type        = number
  default     = null
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.r7g.large"

  validation {
    condition     = startswith(var.redis_node_type, "cache.")
    error_message = "The redis_node_type must be an ElastiCache node type (cache.*)."
  }
}

variable "redis_num_cache_clusters" {
  description = "Redis members: one primary plus replicas (at least 2)."
  type        = number
  default     = 2

  validation {
    condition     = var.redis_num_cache_clusters >= 2
    error_message = "The redis_num_cache_clusters must be at least 2."
  }
}

variable "alarm_emails" {
  description = "E-mail addresses that receive the CloudWatch alarms."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.alarm_emails : strcontains(email, "@")])
    error_message = "Every alarm_emails entry must be an e-mail address."
  }
}

variable "enable_waf" {
  description = "Create a WAF web ACL for the public entry point (the ALB of the chart's Ingress)."
  type        = bool
  default     = true
}

variable "waf_rate_limit_per_5_minutes" {
  description = "Requests per client IP per five minutes before WAF blocks it."
  type        = number
  default     = 20000

  validation {
    condition     = var.waf_rate_limit_per_5_minutes >= 100
    error_message = "The waf_rate_limit_per_5_minutes must be at least 100."
  }
}

variable "tags" {
  description = "Extra tags for every resource (the standard Project, Environment and ManagedBy tags are added)."
  type        = map(string)
  default     = {}
}
