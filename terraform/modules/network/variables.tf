variable "name" {
  description = "Name prefix of the VPC and everything in it."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "The name must be 2-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC (/16 to /20); see the subnet-plan module for how it is split."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "The vpc_cidr must be an IPv4 CIDR block such as 10.0.0.0/16."
  }
}

variable "azs" {
  description = "Availability zones to use, at least two. Every tier gets one subnet in each."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2 && length(distinct(var.azs)) == length(var.azs)
    error_message = "Give at least two distinct availability zones."
  }
}

variable "single_nat_gateway" {
  description = "Use one NAT gateway for all AZs (cheaper, for dev only). The default puts one in every AZ so that losing an AZ does not cut egress for the others."
  type        = bool
  default     = false
}

variable "cluster_name" {
  description = "EKS cluster name, written into the subnet tags that the AWS Load Balancer Controller uses to find subnets."
  type        = string

  validation {
    condition     = length(var.cluster_name) > 0
    error_message = "The cluster_name must not be empty."
  }
}

variable "flow_log_retention_days" {
  description = "Days to keep the VPC flow logs in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "The flow_log_retention_days must be a retention period that CloudWatch Logs accepts, such as 30, 90 or 365."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the flow log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN."
  }
}

variable "tags" {
  description = "Tags merged into every resource of this module."
  type        = map(string)
  default     = {}
}
