# Three security groups: one worn by the EKS nodes, and one each for the
# database and the cache that admit traffic from that node group only. No CIDR
# range is ever allowed in: the database and the cache are reachable from the
# nodes and from nothing else.

resource "aws_security_group" "nodes" {
  #checkov:skip=CKV2_AWS_5:Attached in another module (launch template, Aurora, ElastiCache) through this module's outputs, which checkov's graph does not follow.
  name_prefix = "${var.name}-nodes-"
  description = "Worn by the EKS worker nodes; the database and cache admit this group only."
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-nodes" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "nodes_all" {
  #checkov:skip=CKV_AWS_382:Nodes pull images and call AWS APIs through the NAT gateways; egress is not restricted by address.
  security_group_id = aws_security_group.nodes.id
  description       = "Nodes may open connections anywhere (images, AWS APIs, database, cache)."
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"

  tags = var.tags
}

resource "aws_security_group" "database" {
  #checkov:skip=CKV2_AWS_5:Attached in another module (launch template, Aurora, ElastiCache) through this module's outputs, which checkov's graph does not follow.
  name_prefix = "${var.name}-database-"
  description = "Aurora MySQL: reachable from the EKS nodes only."
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-database" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "database_from_nodes" {
  security_group_id            = aws_security_group.database.id
  description                  = "MySQL from the EKS nodes."
  ip_protocol                  = "tcp"
  from_port                    = var.mysql_port
  to_port                      = var.mysql_port
  referenced_security_group_id = aws_security_group.nodes.id

  tags = var.tags
}

resource "aws_security_group" "redis" {
  #checkov:skip=CKV2_AWS_5:Attached in another module (launch template, Aurora, ElastiCache) through this module's outputs, which checkov's graph does not follow.
  name_prefix = "${var.name}-redis-"
  description = "ElastiCache Redis: reachable from the EKS nodes only."
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-redis" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_nodes" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis (TLS) from the EKS nodes."
  ip_protocol                  = "tcp"
  from_port                    = var.redis_port
  to_port                      = var.redis_port
  referenced_security_group_id = aws_security_group.nodes.id

  tags = var.tags
}
