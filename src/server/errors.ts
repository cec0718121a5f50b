/**
 * Typed API faults. Every error the API can answer is a subclass of `NeutronFault`; the HTTP
 * layer maps a fault to its status and `{"NeutronError": {type, message, detail}}` in one place
 * (`faultBody`). Code branches on classes, never on messages.
 */

export class NeutronFault extends Error {
  /** HTTP status code. */
  readonly status: number;
  /** `NeutronError.type`: Neutron's exception class name. */
  readonly type: string;
  readonly detail: string;
  constructor(status: number, type: string, message: string, detail = '') {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.type = type;
    this.detail = detail;
  }
}

export function faultBody(f: NeutronFault): { NeutronError: { type: string; message: string; detail: string } } {
  return { NeutronError: { type: f.type, message: f.message, detail: f.detail } };
}

// ---- 400 ----
/** Attribute-level validation (Neutron's webob HTTPBadRequest from the API layer). */
export class BadRequest extends NeutronFault {
  constructor(message: string) {
    super(400, 'HTTPBadRequest', message);
  }
}
export function invalidAttribute(attr: string, reason: string): BadRequest {
  return new BadRequest(`Invalid input for ${attr}. Reason: ${reason}.`);
}
export class InvalidInput extends NeutronFault {
  constructor(message: string) {
    super(400, 'InvalidInput', `Invalid input for operation: ${message}.`);
  }
}
export class MalformedBody extends NeutronFault {
  constructor() {
    super(400, 'HTTPBadRequest', 'Malformed request body');
  }
}
export class InvalidIpForNetwork extends NeutronFault {
  constructor(ip: string) {
    super(400, 'InvalidIpForNetwork', `IP address ${ip} is not a valid IP for any of the subnets on the specified network.`);
  }
}
export class InvalidIpForSubnet extends NeutronFault {
  constructor(ip: string) {
    super(400, 'InvalidIpForSubnet', `IP address ${ip} is not a valid IP for the specified subnet.`);
  }
}
export class OutOfBoundsAllocationPool extends NeutronFault {
  constructor(pool: string, cidr: string) {
    super(400, 'OutOfBoundsAllocationPool', `The allocation pool ${pool} spans beyond the subnet cidr ${cidr}.`);
  }
}
export class InvalidAllocationPool extends NeutronFault {
  constructor(pool: string) {
    super(400, 'InvalidAllocationPool', `The allocation pool ${pool} is not valid.`);
  }
}
export class PortSecurityAndIPRequiredForSecurityGroups extends NeutronFault {
  constructor() {
    super(400, 'PortSecurityAndIPRequiredForSecurityGroups', 'Port security must be enabled and port must have an IP address in order to use security groups.');
  }
}

// ---- 401 / 403 ----
export class NotAuthenticated extends NeutronFault {
  constructor() {
    super(401, 'HTTPUnauthorized', 'Authentication required');
  }
}
export class PolicyNotAuthorized extends NeutronFault {
  constructor(action: string) {
    super(403, 'PolicyNotAuthorized', `(rule:${action}) is disallowed by policy`);
  }
}

// ---- 404 ----
export class HttpNotFound extends NeutronFault {
  constructor(what: string) {
    super(404, 'HTTPNotFound', `The resource could not be found: ${what}`);
  }
}
export class ResourceNotFound extends NeutronFault {
  /** `type` is Neutron's class: NetworkNotFound, SubnetNotFound, PortNotFound, RouterNotFound... */
  constructor(type: string, message: string) {
    super(404, type, message);
  }
}
export class NetworkNotFound extends ResourceNotFound {
  constructor(id: string) {
    super('NetworkNotFound', `Network ${id} could not be found.`);
  }
}
export class SubnetNotFound extends ResourceNotFound {
  constructor(id: string) {
    super('SubnetNotFound', `Subnet ${id} could not be found.`);
  }
}
export class PortNotFound extends ResourceNotFound {
  constructor(id: string) {
    super('PortNotFound', `Port ${id} could not be found.`);
  }
}
export class TagNotFound extends ResourceNotFound {
  constructor(tag: string, resource: string, id: string) {
    super('TagNotFound', `Tag ${tag} could not be found for ${resource} ${id}.`);
  }
}

// ---- 405 / 413 ----
export class MethodNotAllowed extends NeutronFault {
  constructor() {
    super(405, 'HTTPMethodNotAllowed', 'The method is not allowed for the requested resource.');
  }
}
export class RequestEntityTooLarge extends NeutronFault {
  constructor(limit: number) {
    super(413, 'HTTPRequestEntityTooLarge', `Request is too large: the limit is ${limit} bytes.`);
  }
}

// ---- 409 ----
export class Conflict extends NeutronFault {
  constructor(type: string, message: string) {
    super(409, type, message);
  }
}
export class NetworkInUse extends Conflict {
  constructor(id: string) {
    super('NetworkInUse', `Unable to complete operation on network ${id}. There are one or more ports still in use on the network.`);
  }
}
export class SubnetInUse extends Conflict {
  constructor(id: string) {
    super('SubnetInUse', `Unable to complete operation on subnet ${id}: One or more ports have an IP allocation from this subnet.`);
  }
}
export class IpAddressInUse extends Conflict {
  constructor(networkId: string, ip: string) {
    super('IpAddressInUse', `Unable to complete operation for network ${networkId}. The IP address ${ip} is in use.`);
  }
}
export class MacAddressInUse extends Conflict {
  constructor(networkId: string, mac: string) {
    super('MacAddressInUse', `Unable to complete operation for network ${networkId}. The mac address ${mac} is in use.`);
  }
}
export class IpAddressGenerationFailure extends Conflict {
  constructor(networkId: string) {
    super('IpAddressGenerationFailure', `No more IP addresses available on network ${networkId}.`);
  }
}
export class OverlappingAllocationPools extends Conflict {
  constructor(a: string, b: string, cidr: string) {
    super('OverlappingAllocationPools', `Found overlapping allocation pools: ${a} and ${b} for subnet ${cidr}.`);
  }
}
export class GatewayConflictWithAllocationPools extends Conflict {
  constructor(gw: string, pool: string) {
    super('GatewayConflictWithAllocationPools', `Gateway ip ${gw} conflicts with allocation pool ${pool}.`);
  }
}
export class SegmentInUse extends Conflict {
  /** type: VlanIdInUse, TunnelIdInUse, FlatNetworkInUse. */
  constructor(type: string, message: string) {
    super(type, message);
  }
}
export class PortSecurityPortHasSecurityGroup extends Conflict {
  constructor() {
    super('PortSecurityPortHasSecurityGroup', 'Port has security group associated. Cannot disable port security or ip address until security group is removed.');
  }
}
export class AddressPairAndPortSecurityRequired extends Conflict {
  constructor() {
    super('AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');
  }
}

// ---- 412 ----
/** `If-Match: revision_number=N` and the resource is at another revision. */
export class RevisionNumberConstraintFailed extends NeutronFault {
  constructor(constraint: number, current: number) {
    super(412, 'RevisionNumberConstraintFailed', `Constrained to ${constraint}, but current revision is ${current}`);
  }
}

// ---- 5xx ----
export class NoNetworkAvailable extends NeutronFault {
  constructor() {
    super(503, 'NoNetworkAvailable', 'Unable to create the network. No tenant network is available for allocation.');
  }
}
/** The transaction kept conflicting with concurrent writers; nothing was changed. */
export class RetryLimitExceeded extends NeutronFault {
  constructor() {
    super(503, 'ServiceUnavailable', 'Too many concurrent changes; nothing was changed, please retry.');
  }
}
export class InternalError extends NeutronFault {
  constructor() {
    super(500, 'HTTPInternalServerError', 'Request Failed: internal server error while processing your request.');
  }
}
