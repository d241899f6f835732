import t from 'tap';
import { pointsFor, TIERS, tierOf } from '../src/loyalty-points.js';

t.test('one point per whole unit of currency, rounded down', async (t) => {
  t.equal(pointsFor(0), 0);
  t.equal(pointsFor(99), 0);
  t.equal(pointsFor(100), 1);
  t.equal(pointsFor(450), 4);
  t.equal(pointsFor(123_456), 1234);
});

t.test('tiers follow the balance at their thresholds', async (t) => {
  t.equal(tierOf(0), 'bronze');
  t.equal(tierOf(499), 'bronze');
  t.equal(tierOf(500), 'silver');
  t.equal(tierOf(1999), 'silver');
  t.equal(tierOf(2000), 'gold');
  t.equal(tierOf(5000), 'platinum');
  t.equal(tierOf(-10), 'bronze', 'a negative balance (never expected) is still a tier');
  t.same(
    TIERS.map((tier) => tier.minPoints),
    [...TIERS.map((tier) => tier.minPoints)].sort((a, b) => b - a),
    'listed from the highest, as the Lua script expects',
  );
});
