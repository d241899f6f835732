/**
 * The loyalty points rule and the tiers, in one place (docs/adr/0008 quotes them): a contract
 * between the loyalty service, which applies it, and the chaos audit, which checks balances
 * against it.
 *
 * - An `OrderConfirmed` earns 1 point per whole unit of currency of its total
 *   (`floor(totalCents / 100)`): a 4.50 order earns 4 points. Once per order, whatever the
 *   number of deliveries of the event.
 * - An `OrderCancelled` after the order was confirmed takes back exactly the points that order
 *   earned (a refund). A cancellation before confirmation earns and takes nothing, and a later
 *   confirmation of that order earns nothing either.
 * - The tier follows the current balance.
 */
export const pointsFor = (totalCents: number): number => Math.floor(totalCents / 100);

export const TIERS = [
  { name: 'platinum', minPoints: 5000 },
  { name: 'gold', minPoints: 2000 },
  { name: 'silver', minPoints: 500 },
  { name: 'bronze', minPoints: 0 },
] as const;
export type Tier = (typeof TIERS)[number]['name'];
export const TIER_NAMES = TIERS.map((t) => t.name);

export function tierOf(points: number): Tier {
  return (TIERS.find((t) => points >= t.minPoints) ?? TIERS[3]).name;
}
