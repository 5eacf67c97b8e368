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
  description = "Deployment environment, the second part of every resource name."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of dev, staging or prod."
  }
}

variable "tags" {
  description = "Extra tags merged into the standard tags of every resource."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.tags) : !startswith(lower(key), "aws:")])
    error_message = "Tag keys starting with aws: are reserved by AWS."
  }
}
