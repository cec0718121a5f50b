/** The resources quotas apply to: Neutron's quota resource name → the collection it counts. */
export const QUOTA_RESOURCES: Readonly<Record<string, string>> = {
  network: 'networks',
  subnet: 'subnets',
  subnetpool: 'subnetpools',
  port: 'ports',
  router: 'routers',
  floatingip: 'floatingips',
  security_group: 'security-groups',
  security_group_rule: 'security-group-rules',
};
