terraform {
  # Provider-free on purpose: the sizing arithmetic is tested offline.
  required_version = ">= 1.6"
}
