terraform {
  # Provider-free on purpose: naming is pure string logic, tested offline.
  required_version = ">= 1.6"
}
