# Cluster Autoscaler: adds nodes to the managed node group when pods cannot be
# scheduled and removes idle ones, within the group's min and max. EKS tags
# the group's Auto Scaling group for auto-discovery (k8s.io/cluster-autoscaler/
# enabled and k8s.io/cluster-autoscaler/<cluster>); the role may resize and
# shrink that one group and only read everything else.

data "aws_iam_policy_document" "cluster_autoscaler" {
  #checkov:skip=CKV_AWS_356:Describe and Get calls of Auto Scaling, EC2 and EKS cannot be scoped to a resource; the two write actions are scoped to the node group's Auto Scaling group.
  statement {
    sid = "DiscoverNodeGroups"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeLaunchConfigurations",
      "autoscaling:DescribeScalingActivities",
      "autoscaling:DescribeTags",
      "ec2:DescribeImages",
      "ec2:DescribeInstanceTypes",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:GetInstanceTypesFromInstanceRequirements",
      "eks:DescribeNodegroup",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ResizeTheNodeGroup"
    actions = [
      "autoscaling:SetDesiredCapacity",
      "autoscaling:TerminateInstanceInAutoScalingGroup",
    ]
    resources = ["arn:${local.partition}:autoscaling:${local.region}:${local.account_id}:autoScalingGroup:*:autoScalingGroupName/${var.node_autoscaling_group_name}"]
  }
}

resource "aws_iam_role_policy" "cluster_autoscaler" {
  name   = "cluster-autoscaler"
  role   = aws_iam_role.this["cluster_autoscaler"].id
  policy = data.aws_iam_policy_document.cluster_autoscaler.json
}
