# Tests for the subnet plan. The module has no provider, so these run offline.

variables {
  vpc_cidr = "10.0.0.0/16"
  azs      = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
}

run "three_azs_get_one_subnet_per_tier_each" {
  command = plan

  assert {
    condition     = output.private_subnets == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    error_message = "Private subnets must be the first three /19 blocks of the VPC."
  }

  assert {
    condition     = output.public_subnets == ["10.0.192.0/22", "10.0.196.0/22", "10.0.200.0/22"]
    error_message = "Public subnets must be /22 blocks cut from the seventh /19 of the VPC."
  }

  assert {
    condition     = output.database_subnets == ["10.0.224.0/22", "10.0.228.0/22", "10.0.232.0/22"]
    error_message = "Database subnets must be /22 blocks cut from the last /19 of the VPC."
  }
}

run "no_two_subnets_overlap_with_six_azs" {
  command = plan

  variables {
    vpc_cidr = "10.20.0.0/20"
    azs      = ["a", "b", "c", "d", "e", "f"]
  }

  assert {
    condition     = length(distinct(concat(output.private_subnets, output.public_subnets, output.database_subnets))) == 18
    error_message = "Eighteen distinct subnets are expected for six AZs."
  }

  assert {
    condition     = alltrue([for cidr in output.private_subnets : endswith(cidr, "/23")])
    error_message = "Private subnets of a /20 VPC must be /23 blocks."
  }

  assert {
    condition     = output.public_subnets[5] == "10.20.13.64/26" && output.database_subnets[5] == "10.20.15.64/26"
    error_message = "The sixth AZ must get the sixth /26 of the public and database eighths."
  }
}

run "adding_an_az_keeps_existing_subnets" {
  command = plan

  variables {
    azs = ["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1d"]
  }

  assert {
    condition     = slice(output.private_subnets, 0, 3) == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    error_message = "Appending an AZ must not renumber the subnets of the existing AZs."
  }

  assert {
    condition     = output.subnets["eu-west-1d"].database == "10.0.236.0/22"
    error_message = "The fourth AZ must get the fourth database slot."
  }
}

run "single_az_is_rejected" {
  command = plan

  variables {
    azs = ["eu-west-1a"]
  }

  expect_failures = [var.azs]
}

run "seven_azs_are_rejected" {
  command = plan

  variables {
    azs = ["a", "b", "c", "d", "e", "f", "g"]
  }

  expect_failures = [var.azs]
}

run "duplicate_azs_are_rejected" {
  command = plan

  variables {
    azs = ["eu-west-1a", "eu-west-1a"]
  }

  expect_failures = [var.azs]
}

run "malformed_cidr_is_rejected" {
  command = plan

  variables {
    vpc_cidr = "10.0.0.0/33"
  }

  expect_failures = [var.vpc_cidr]
}

run "too_small_vpc_is_rejected" {
  command = plan

  variables {
    vpc_cidr = "10.0.0.0/24"
  }

  expect_failures = [var.vpc_cidr]
}

run "host_bits_are_rejected" {
  command = plan

  variables {
    vpc_cidr = "10.0.0.1/16"
  }

  expect_failures = [var.vpc_cidr]
}
