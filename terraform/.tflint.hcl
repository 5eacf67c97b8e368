# tflint configuration for every module, the root composition and the example.
# Only the ruleset bundled in the tflint binary is used: plugins cannot be
# downloaded here, so no plugin block names a source.
config {
  # Local modules are read from disk, so no `terraform init` is needed.
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
