terraform {
  # Provider-free on purpose: the Ingress settings are tested offline.
  required_version = ">= 1.6"
}
