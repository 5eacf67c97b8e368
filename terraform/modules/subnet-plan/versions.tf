terraform {
  # Provider-free on purpose: this module is pure arithmetic, so `terraform test`
  # runs it offline without downloading any provider.
  required_version = ">= 1.6"
}
