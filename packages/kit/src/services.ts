import { SERVICE_REGISTRY } from '@cloudcafe/contracts';

/**
 * Every deployable that uses the kit, with the path segment its API lives under
 * (`/api/<segment>`), listed once. `SERVICE_NAME` must be one of these; the name is also the
 * `Service` dimension of every metric.
 */
export const SERVICES = {
  order: {
    segment: SERVICE_REGISTRY.order.segment,
    description: 'Order saga: validate, price, reserve, outbox',
  },
  inventory: {
    segment: SERVICE_REGISTRY.inventory.segment,
    description: 'Stock levels, conditional reservations',
  },
  payment: {
    segment: SERVICE_REGISTRY.payment.segment,
    description: 'Payment Lambda and its local HTTP front',
  },
  menu: { segment: SERVICE_REGISTRY.menu.segment, description: 'Menu catalogue (Express)' },
  loyalty: { segment: SERVICE_REGISTRY.loyalty.segment, description: 'Loyalty points from order events' },
  analytics: {
    segment: SERVICE_REGISTRY.analytics.segment,
    description: 'Revenue windows from order events',
  },
  'payment-gateway': { segment: 'payment-gateway', description: 'The local payment gateway simulator' },
} as const;

/** The name of a CloudCafe service. */
export type ServiceName = keyof typeof SERVICES;

/** The names in {@link SERVICES}, in declaration order. */
export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

/**
 * The route prefix every route of a service lives under.
 *
 * @example
 * ```ts
 * servicePrefix('order'); // '/api/orders'
 * ```
 */
export function servicePrefix(service: ServiceName): `/api/${string}` {
  return `/api/${SERVICES[service].segment}`;
}
