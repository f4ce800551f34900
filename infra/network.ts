import type { DeploySettings } from "./settings.ts";

export interface Egress {
  readonly vpc: sst.aws.Vpc;
  /** The public addresses every WeChat call leaves from: the account's IP whitelist. */
  readonly ips: $util.Output<string[]>;
}

/**
 * The fixed egress WeChat's IP whitelist needs (WECHAT_FACTS §10.1): a VPC whose private subnets
 * leave through NAT with Elastic IPs, one per zone. fck-nat on t4g.nano by default, NAT gateways
 * with `managed`; `WECHAT_EGRESS_EIPS` reuses existing allocations so the whitelisted addresses
 * survive the stage's re-creation. DynamoDB is reached through a (free) gateway endpoint rather than
 * the NAT. None with `proxy`: the operator's own whitelisted reverse proxy is the way out.
 */
export function createEgress(settings: DeploySettings): Egress | undefined {
  if (settings.WECHAT_EGRESS === "proxy") return undefined;
  const ip = settings.WECHAT_EGRESS_EIPS;
  const vpc = new sst.aws.Vpc("WeChatEgress", {
    az: ip.length > 0 ? ip.length : settings.WECHAT_EGRESS_AZS,
    nat: { type: settings.WECHAT_EGRESS, ...(ip.length > 0 ? { ip } : {}) },
  });
  new aws.ec2.VpcEndpoint("DynamoDbEndpoint", {
    vpcId: vpc.id,
    serviceName: $interpolate`com.amazonaws.${aws.getRegionOutput().region}.dynamodb`,
    vpcEndpointType: "Gateway",
    routeTableIds: vpc.nodes.privateRouteTables.apply((tables: aws.ec2.RouteTable[]) =>
      tables.map((t) => t.id),
    ),
  });
  return {
    vpc,
    ips: vpc.nodes.elasticIps.apply((eips: aws.ec2.Eip[]) => $util.all(eips.map((eip) => eip.publicIp))),
  };
}
