# Tests for resource naming and tagging. No provider is involved.

variables {
  environment = "prod"
}

run "names_share_the_project_environment_prefix" {
  command = plan

  assert {
    condition     = output.prefix == "ticketing-prod"
    error_message = "The prefix must be <project>-<environment>."
  }

  assert {
    condition     = output.names.cluster == "ticketing-prod-eks" && output.names.redis == "ticketing-prod-redis"
    error_message = "Component names must append a suffix to the prefix."
  }

  assert {
    condition     = alltrue([for name in values(output.names) : length(name) <= 40])
    error_message = "Every name must fit the 40-character ElastiCache id limit."
  }
}

run "longest_prefix_still_fits_the_tightest_limit" {
  command = plan

  variables {
    project     = "abcdefghijklmnop"
    environment = "staging"
  }

  assert {
    condition     = length(output.names.redis) <= 40 && length(output.names.aurora) <= 40
    error_message = "The longest allowed prefix must still give valid ElastiCache and Aurora ids."
  }
}

run "standard_tags_win_over_caller_tags" {
  command = plan

  variables {
    tags = {
      Team      = "payments"
      ManagedBy = "hand"
    }
  }

  assert {
    condition     = output.tags == { Team = "payments", ManagedBy = "terraform", Project = "ticketing", Environment = "prod" }
    error_message = "Caller tags must be kept and the standard tags must not be overridable."
  }
}

run "uppercase_project_is_rejected" {
  command = plan

  variables {
    project = "Ticketing"
  }

  expect_failures = [var.project]
}

run "unknown_environment_is_rejected" {
  command = plan

  variables {
    environment = "production"
  }

  expect_failures = [var.environment]
}

run "reserved_tag_prefix_is_rejected" {
  command = plan

  variables {
    tags = { "aws:createdBy" = "me" }
  }

  expect_failures = [var.tags]
}
