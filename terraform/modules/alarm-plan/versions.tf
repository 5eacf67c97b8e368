terraform {
  # Provider-free on purpose: which alarms exist, on which metric and with
  # which threshold, is tested offline.
  required_version = ">= 1.6"
}
