variable "name" {
  description = "Name of the EKS cluster; the node group and IAM roles are named after it."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,60}$", var.name))
    error_message = "The name must be 2-61 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane, the node group and the add-ons. Raise it one minor at a time (README.md, upgrade path)."
  type        = string
  default     = "1.36"

  validation {
    condition     = can(regex("^1\\.(3[5-9]|[4-9][0-9])$", var.kubernetes_version))
    error_message = "The kubernetes_version must be 1.35 or later: earlier versions are out of EKS standard support (1.34's ended on 2 December 2026)."
  }
}

variable "support_type" {
  description = "EKS upgrade policy: STANDARD lets EKS upgrade the control plane when the version leaves standard support; EXTENDED keeps it (at extra cost) for 12 more months."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "EXTENDED"], var.support_type)
    error_message = "The support_type must be STANDARD or EXTENDED."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the control plane ENIs and the nodes, one per AZ; at least two AZs."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "The node group must span at least two subnets (two AZs)."
  }
}

variable "node_security_group_id" {
  description = "Security group the nodes wear in addition to the cluster security group; the database and cache trust it."
  type        = string

  validation {
    condition     = startswith(var.node_security_group_id, "sg-")
    error_message = "The node_security_group_id must be a security group ID (sg-...)."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN that encrypts Kubernetes secrets, the node volumes and the control plane log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN."
  }
}

variable "public_access_cidrs" {
  description = "CIDR blocks allowed to reach the public API endpoint (the operators' addresses). An empty list turns the public endpoint off."
  type        = list(string)

  validation {
    condition     = alltrue([for cidr in var.public_access_cidrs : can(cidrhost(cidr, 0)) && !endswith(cidr, "/0")])
    error_message = "The public_access_cidrs must be valid CIDR blocks and must not open the API to the whole internet (/0)."
  }
}

variable "node_instance_types" {
  description = "EC2 instance types of the node group, in order of preference."
  type        = list(string)
  default     = ["m6i.large"]

  validation {
    condition     = length(var.node_instance_types) >= 1
    error_message = "Give at least one instance type."
  }
}

variable "node_min_size" {
  description = "Minimum number of nodes. At least two, so that losing a node or an AZ keeps the service running."
  type        = number
  default     = 2

  validation {
    condition     = var.node_min_size >= 2
    error_message = "The node_min_size must be at least 2 for high availability."
  }
}

variable "node_desired_size" {
  description = "Initial number of nodes (later changed by the cluster autoscaler, so changes are ignored)."
  type        = number
  default     = 3

  validation {
    condition     = var.node_desired_size >= 2
    error_message = "The node_desired_size must be at least 2."
  }
}

variable "node_max_size" {
  description = "Maximum number of nodes, the ceiling for the on-sale peak."
  type        = number
  default     = 10

  validation {
    condition     = var.node_max_size >= 2 && var.node_max_size <= 100
    error_message = "The node_max_size must be between 2 and 100."
  }
}

variable "node_disk_size_gib" {
  description = "Size of each node's encrypted root volume in GiB."
  type        = number
  default     = 50

  validation {
    condition     = var.node_disk_size_gib >= 20 && var.node_disk_size_gib <= 1000
    error_message = "The node_disk_size_gib must be between 20 and 1000."
  }
}

variable "log_retention_days" {
  description = "Days to keep the control plane logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be a retention period that CloudWatch Logs accepts, such as 30, 90 or 365."
  }
}

variable "tags" {
  description = "Tags merged into every resource of this module."
  type        = map(string)
  default     = {}
}
