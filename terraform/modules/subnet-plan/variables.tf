variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC. A prefix between /16 and /20 leaves room for every tier in up to six AZs."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+/\\d+$", var.vpc_cidr))
    error_message = "The vpc_cidr must be an IPv4 CIDR block such as 10.0.0.0/16."
  }

  validation {
    condition     = try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 20, false)
    error_message = "The vpc_cidr prefix length must be between /16 and /20."
  }

  validation {
    condition     = try(cidrhost(var.vpc_cidr, 0) == split("/", var.vpc_cidr)[0], false)
    error_message = "The vpc_cidr must be a network address (no host bits set), for example 10.0.0.0/16 rather than 10.0.0.1/16."
  }
}

variable "azs" {
  description = "Availability zones to spread the subnets over, in order. At least two for high availability, at most six."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2 && length(var.azs) <= 6
    error_message = "Give between two and six availability zones: one AZ is not highly available."
  }

  validation {
    condition     = length(distinct(var.azs)) == length(var.azs)
    error_message = "The availability zones must be distinct."
  }
}
