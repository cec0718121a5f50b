/** Faults of routers, floating IPs and security groups (Neutron's classes and messages). */
import { Conflict, InvalidInput, NeutronFault, ResourceNotFound } from './errors.js';

/** neutron_lib BadRequest: `Bad <resource> request: <msg>.` */
export class ResourceBadRequest extends NeutronFault {
  constructor(resource: string, msg: string) {
    super(400, 'BadRequest', `Bad ${resource} request: ${msg}.`);
  }
}
/**
 * Wyvern routes on every chassis (the data plane is distributed only): a centralized router
 * (`distributed: false`) is refused rather than silently routed elsewhere. The `dvr` extension
 * (configuring the choice) is therefore not advertised; `distributed` shows `true`.
 */
export class CentralizedRouterNotSupported extends InvalidInput {
  constructor() {
    super('distributed=false (a centralized router) is not supported: Wyvern routes on every chassis, every router is distributed');
  }
}
export class InvalidRoutes extends NeutronFault {
  constructor(routes: string, reason: string) {
    super(400, 'InvalidRoutes', `Invalid format for routes: ${routes}, ${reason}.`);
  }
}
export class RoutesExhausted extends NeutronFault {
  constructor(routerId: string, quota: number) {
    super(400, 'RoutesExhausted', `Unable to complete operation for ${routerId}. The number of routes exceeds the maximum ${quota}.`);
  }
}
export class SecurityGroupRuleInvalid extends NeutronFault {
  /** type: SecurityGroupInvalidPortRange, SecurityGroupInvalidIcmpValue, ... (all 400). */
  constructor(type: string, message: string) {
    super(400, type, message);
  }
}

export class RouterNotFound extends ResourceNotFound {
  constructor(id: string) {
    super('RouterNotFound', `Router ${id} could not be found.`);
  }
}
export class FloatingIPNotFound extends ResourceNotFound {
  constructor(id: string) {
    super('FloatingIPNotFound', `Floating IP ${id} could not be found`);
  }
}
export class SecurityGroupNotFound extends ResourceNotFound {
  constructor(id: string) {
    super('SecurityGroupNotFound', `Security group ${id} does not exist`);
  }
}
export class SecurityGroupRuleNotFound extends ResourceNotFound {
  constructor(id: string) {
    super('SecurityGroupRuleNotFound', `Security group rule ${id} does not exist`);
  }
}
export class RouterInterfaceNotFound extends ResourceNotFound {
  constructor(routerId: string, portId: string) {
    super('RouterInterfaceNotFound', `Router ${routerId} does not have an interface with id ${portId}`);
  }
}
export class RouterInterfaceNotFoundForSubnet extends ResourceNotFound {
  constructor(routerId: string, subnetId: string) {
    super('RouterInterfaceNotFoundForSubnet', `Router ${routerId} has no interface on subnet ${subnetId}`);
  }
}
export class ExternalGatewayForFloatingIPNotFound extends ResourceNotFound {
  constructor(extNetId: string, subnetId: string, portId: string) {
    super(
      'ExternalGatewayForFloatingIPNotFound',
      `External network ${extNetId} is not reachable from subnet ${subnetId}.  Therefore, cannot associate Port ${portId} with a Floating IP.`,
    );
  }
}

export class RouterInUse extends Conflict {
  constructor(id: string) {
    super('RouterInUse', `Router ${id} still has ports`);
  }
}
export class RouterInterfaceInUseByFloatingIP extends Conflict {
  constructor(routerId: string, subnetId: string) {
    super('RouterInterfaceInUseByFloatingIP', `Router interface for subnet ${subnetId} on router ${routerId} cannot be deleted, as it is required by one or more floating IPs.`);
  }
}
export class RouterInterfaceInUseByRoute extends Conflict {
  constructor(routerId: string, subnetId: string) {
    super('RouterInterfaceInUseByRoute', `Router interface for subnet ${subnetId} on router ${routerId} cannot be deleted, as it is required by one or more routes.`);
  }
}
export class RouterExternalGatewayInUseByFloatingIp extends Conflict {
  constructor(routerId: string, netId: string) {
    super('RouterExternalGatewayInUseByFloatingIp', `Gateway cannot be updated for router ${routerId}, since a gateway to external network ${netId} is required by one or more floating IPs.`);
  }
}
export class PortInUse extends Conflict {
  constructor(netId: string, portId: string, deviceId: string) {
    super('PortInUse', `Unable to complete operation on port ${portId} for network ${netId}. Port already has an attached device ${deviceId}.`);
  }
}
export class ServicePortInUse extends Conflict {
  constructor(portId: string, reason: string) {
    super('ServicePortInUse', `Port ${portId} cannot be deleted directly via the port API: ${reason}.`);
  }
}
export class FloatingIPPortAlreadyAssociated extends Conflict {
  constructor(fipId: string, fixedIp: string, portId: string, netId: string) {
    super(
      'FloatingIPPortAlreadyAssociated',
      `Cannot associate floating IP ${fipId} with port ${portId} using fixed IP ${fixedIp}, as that fixed IP already has a floating IP on external network ${netId}.`,
    );
  }
}
export class SecurityGroupInUse extends Conflict {
  constructor(id: string) {
    super('SecurityGroupInUse', `Security Group ${id} in use.`);
  }
}
export class SecurityGroupCannotRemoveDefault extends Conflict {
  constructor() {
    super('SecurityGroupCannotRemoveDefault', 'Insufficient rights for removing default security group.');
  }
}
export class SecurityGroupRuleExists extends Conflict {
  constructor(ruleId: string) {
    super('SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${ruleId}.`);
  }
}
