variable "name" {
  description = "Name prefix of the security groups."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "The name must be 2-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "ID of the VPC the security groups belong to."
  type        = string

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "The vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "mysql_port" {
  description = "Port Aurora MySQL listens on."
  type        = number
  default     = 3306

  validation {
    condition     = var.mysql_port >= 1150 && var.mysql_port <= 65535
    error_message = "Aurora accepts ports from 1150 to 65535."
  }
}

variable "redis_port" {
  description = "Port ElastiCache Redis listens on."
  type        = number
  default     = 6379

  validation {
    condition     = var.redis_port >= 1024 && var.redis_port <= 65535
    error_message = "The redis_port must be between 1024 and 65535."
  }
}

variable "tags" {
  description = "Tags merged into every resource of this module."
  type        = map(string)
  default     = {}
}
