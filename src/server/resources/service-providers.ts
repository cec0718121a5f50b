/**
 * `GET /v2.0/service-providers` (service-type): the drivers behind the advanced services. Wyvern
 * has one, for L3 routers (its own distributed router); it offers no VPN, firewall or load
 * balancer service.
 */
import { collectionPrefix } from '../../model/keys.js';
import type { StandardRecord } from '../../model/records.js';
import { InvalidInput, ResourceNotFound } from '../errors.js';
import type { PluginFactory, ResourcePlugin } from '../registry.js';

export const serviceProvidersPlugin: PluginFactory = () => {
  const ro = { allowPost: false, allowPut: false };
  const plugin: ResourcePlugin = {
    collection: 'service-providers',
    member: 'service_provider',
    bodyCollection: 'service_providers',
    prefix: collectionPrefix('service-providers'),
    internalFields: ['id', 'project_id', 'tenant_id', 'description', 'tags', 'created_at', 'updated_at', 'revision_number'],
    readOnly: { create: true, update: true, delete: true },
    attributes: { service_type: ro, name: ro, default: ro },
    extensions: [{ alias: 'service-type', name: 'Neutron Service Type Management', description: 'API for retrieving service providers for Neutron advanced services' }],
    notFound: (id) => new ResourceNotFound('ServiceProviderNotFound', `Service provider ${id} could not be found.`),
    canSee: () => true,
    async computeRecords() {
      return [{ id: 'L3_ROUTER_NAT/wyvern', name: 'wyvern', description: '', project_id: '', tags: [], created_at: '', updated_at: '', revision_number: 0, service_type: 'L3_ROUTER_NAT', default: true } as StandardRecord];
    },
    async create() {
      throw new InvalidInput('service providers are read only');
    },
    async update(_tx, _ctx, current) {
      return current;
    },
    async delete() {},
  };
  return plugin;
};
