/**
 * The resources the server serves, in registration order. Adding a resource = one file in this
 * folder exporting a PluginFactory, plus one line here.
 */
import type { ExtensionDescriptor, PluginFactory } from '../registry.js';
import { agentsPlugin, availabilityZonesPlugin } from './agents.js';
import { serviceProvidersPlugin } from './service-providers.js';
import { networkIpAvailabilityPlugin } from './network-ip-availability.js';
import { networksPlugin } from './networks.js';
import { floatingipsPlugin } from './floatingips.js';
import { portsPlugin } from './ports.js';
import { routersPlugin } from './routers.js';
import { securityGroupRulesPlugin } from './security-group-rules.js';
import { securityGroupsPlugin } from './security-groups.js';
import { subnetpoolsPlugin } from './subnetpools.js';
import { subnetsPlugin } from './subnets.js';

export const CORE_PLUGINS: readonly PluginFactory[] = [
  networksPlugin,
  subnetsPlugin,
  subnetpoolsPlugin,
  portsPlugin,
  routersPlugin,
  floatingipsPlugin,
  securityGroupsPlugin,
  securityGroupRulesPlugin,
  agentsPlugin,
  availabilityZonesPlugin,
  networkIpAvailabilityPlugin,
  serviceProvidersPlugin,
];

/** Extensions implemented by the framework itself for every resource. */
export const CORE_EXTENSIONS: readonly ExtensionDescriptor[] = [
  { alias: 'standard-attr-description', name: 'standard-attr-description', description: 'Extension to add descriptions to standard attributes' },
  { alias: 'standard-attr-revisions', name: 'Resource revision numbers', description: 'This extension will display the revision number of neutron resources.' },
  { alias: 'standard-attr-timestamp', name: 'Resource timestamps', description: 'Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.' },
  { alias: 'tag', name: 'Tag support', description: 'Enables to set tag on resources.' },
  { alias: 'standard-attr-tag', name: 'Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip', description: 'Enables to set tag on resources with standard attribute.' },
  { alias: 'project-id', name: 'project_id field enabled', description: 'Extension that indicates that project_id field is enabled.' },
  { alias: 'filter-validation', name: 'Filter parameters validation', description: 'Provides validation on filtering parameters.' },
  { alias: 'pagination', name: 'Pagination support', description: 'Extension that indicates that pagination is enabled.' },
  { alias: 'quotas', name: 'Quota management support', description: 'Expose functions for quotas management per project' },
  { alias: 'quota_details', name: 'Quota details management support', description: 'Expose functions for quotas usage statistics per project' },
  { alias: 'revision-if-match', name: 'If-Match constraints based on revision_number', description: "Extension indicating that If-Match based on revision_number is supported." },
  { alias: 'sorting', name: 'Sorting support', description: 'Extension that indicates that sorting is enabled.' },
];
