# The sizing of the shipped example. scripts/test-terraform.sh runs this file
# with the example's own inputs:
#   terraform test -test-directory=example-tests \
#     -var-file=../../examples/complete/terraform.tfvars.example
# so the plan fails here whenever the example's on-sales need more database
# connections than its instance class holds, or more nodes than its node
# group may grow to.

run "the_shipped_example_fits_its_database_and_its_node_group" {
  command = plan

  assert {
    condition     = output.aurora_max_connections <= output.aurora_class_max_connections
    error_message = "The example's peak must fit the default max_connections of its instance class."
  }

  assert {
    condition     = output.peak_pool_connections < output.aurora_max_connections
    error_message = "The example's pools at their peak must stay below max_connections."
  }

  assert {
    condition     = output.peak_nodes <= var.node_max_size
    error_message = "The example's peak must fit the node group's maximum."
  }
}
