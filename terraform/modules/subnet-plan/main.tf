# Subnet plan: the VPC block is cut into eight equal parts (3 extra bits).
# Parts 0-5 are the private subnets, one per AZ, because the EKS nodes and
# pods (VPC CNI) take most addresses. Part 6 is cut again into eight for the
# public subnets (load balancers, NAT gateways) and part 7 into eight for the
# database subnets (Aurora, ElastiCache). Each tier therefore has a slot per AZ
# for up to six AZs, and adding an AZ later never renumbers existing subnets.
locals {
  public_block   = cidrsubnet(var.vpc_cidr, 3, 6)
  database_block = cidrsubnet(var.vpc_cidr, 3, 7)

  subnets = {
    for index, az in var.azs : az => {
      index    = index
      private  = cidrsubnet(var.vpc_cidr, 3, index)
      public   = cidrsubnet(local.public_block, 3, index)
      database = cidrsubnet(local.database_block, 3, index)
    }
  }
}
