import type { Category, ItemInput } from './schemas.js';

/**
 * The seeded café menu: 64 items over eight categories, the kind of board a city café shows.
 * Each row is name, category, price in cents, calories, caffeine mg, allergens, description;
 * the rest (sku, macros, image) is derived so a row stays one line.
 */
type Row = readonly [
  string,
  Category,
  number,
  number,
  number,
  readonly ItemInput['allergens'][number][],
  string,
];

const ROWS: readonly Row[] = [
  ['Espresso', 'espresso', 280, 5, 75, [], 'A double shot pulled from our house blend'],
  ['Ristretto', 'espresso', 290, 5, 65, [], 'A short, syrupy shot with a sweeter finish'],
  ['Americano', 'espresso', 330, 10, 150, [], 'Two shots topped with hot water'],
  ['Cortado', 'espresso', 380, 60, 130, ['milk'], 'Equal parts espresso and warm milk'],
  ['Flat White', 'espresso', 420, 120, 130, ['milk'], 'A double ristretto under silky microfoam'],
  ['Cappuccino', 'espresso', 430, 130, 130, ['milk'], 'Espresso, steamed milk and a deep cap of foam'],
  ['Caffe Latte', 'espresso', 450, 190, 130, ['milk'], 'Espresso with plenty of steamed milk'],
  ['Oat Latte', 'espresso', 490, 170, 130, [], 'Our latte made with barista oat milk'],
  ['Mocha', 'espresso', 510, 290, 140, ['milk', 'soy'], 'Espresso, dark chocolate and steamed milk'],
  ['Caramel Macchiato', 'espresso', 520, 250, 130, ['milk'], 'Vanilla milk marked with espresso and caramel'],
  ['Honey Lavender Latte', 'espresso', 540, 220, 130, ['milk'], 'Local honey and lavender with espresso'],
  ['Pumpkin Spice Latte', 'espresso', 560, 310, 130, ['milk'], 'The autumn favourite, real pumpkin purée'],
  ['Batch Brew', 'brewed', 290, 5, 190, [], 'The filter coffee of the day, refilled hourly'],
  ['Pour Over', 'brewed', 450, 5, 200, [], 'A single-origin cup brewed by hand'],
  ['French Press', 'brewed', 420, 5, 210, [], 'Full-bodied coffee for two'],
  ['Aeropress', 'brewed', 430, 5, 170, [], 'A clean, bright cup pressed to order'],
  ['Decaf Filter', 'brewed', 290, 5, 5, [], 'Swiss-water decaf, all of the taste'],
  ['Cafe au Lait', 'brewed', 380, 90, 180, ['milk'], 'Filter coffee with hot milk'],
  ['Red Eye', 'brewed', 420, 10, 265, [], 'Filter coffee with a shot of espresso'],
  ['English Breakfast Tea', 'tea', 300, 0, 45, [], 'A brisk Assam and Ceylon blend'],
  ['Earl Grey', 'tea', 300, 0, 40, [], 'Black tea with bergamot'],
  ['Sencha', 'tea', 320, 0, 30, [], 'A grassy Japanese green tea'],
  ['Chamomile', 'tea', 300, 0, 0, [], 'Whole chamomile flowers, caffeine free'],
  ['Peppermint', 'tea', 300, 0, 0, [], 'Fresh, cooling and caffeine free'],
  ['Chai Latte', 'tea', 460, 240, 50, ['milk'], 'Spiced black tea simmered with milk'],
  ['Matcha Latte', 'tea', 490, 200, 70, ['milk'], 'Ceremonial-grade matcha whisked into milk'],
  ['London Fog', 'tea', 470, 160, 40, ['milk'], 'Earl Grey, vanilla and steamed milk'],
  ['Cold Brew', 'cold-drinks', 420, 5, 200, [], 'Steeped for eighteen hours, served over ice'],
  ['Nitro Cold Brew', 'cold-drinks', 480, 5, 215, [], 'Cold brew on nitrogen, creamy without milk'],
  ['Iced Latte', 'cold-drinks', 460, 150, 130, ['milk'], 'Espresso and cold milk over ice'],
  ['Iced Americano', 'cold-drinks', 350, 10, 150, [], 'Two shots and cold water over ice'],
  ['Espresso Tonic', 'cold-drinks', 480, 80, 130, [], 'Espresso over tonic and a twist of orange'],
  ['Iced Matcha', 'cold-drinks', 500, 170, 70, ['milk'], 'Matcha and milk shaken over ice'],
  ['Fresh Orange Juice', 'cold-drinks', 450, 110, 0, [], 'Pressed this morning'],
  ['Sparkling Lemonade', 'cold-drinks', 380, 140, 0, [], 'Lemons, cane sugar and soda'],
  ['Berry Smoothie', 'cold-drinks', 590, 260, 0, ['milk'], 'Mixed berries, banana and yoghurt'],
  [
    'Butter Croissant',
    'bakery',
    350,
    270,
    0,
    ['milk', 'gluten', 'egg'],
    'Laminated by hand, baked every morning',
  ],
  [
    'Almond Croissant',
    'bakery',
    420,
    420,
    0,
    ['milk', 'gluten', 'egg', 'nuts'],
    'Twice baked with frangipane',
  ],
  [
    'Pain au Chocolat',
    'bakery',
    390,
    320,
    0,
    ['milk', 'gluten', 'egg', 'soy'],
    'Two batons of dark chocolate',
  ],
  [
    'Cinnamon Bun',
    'bakery',
    420,
    450,
    0,
    ['milk', 'gluten', 'egg'],
    'Cardamom dough, cinnamon butter, glaze',
  ],
  ['Blueberry Muffin', 'bakery', 360, 410, 0, ['milk', 'gluten', 'egg'], 'Bursting with blueberries'],
  ['Banana Bread', 'bakery', 380, 360, 0, ['gluten', 'egg', 'nuts'], 'A thick slice, walnuts on top'],
  ['Chocolate Chip Cookie', 'bakery', 290, 320, 0, ['milk', 'gluten', 'egg'], 'Brown butter and sea salt'],
  ['Lemon Drizzle Cake', 'bakery', 390, 380, 0, ['milk', 'gluten', 'egg'], 'Sharp lemon syrup, crunchy top'],
  ['Vegan Brownie', 'bakery', 380, 340, 0, ['soy', 'gluten'], 'Fudgy, dark and plant based'],
  ['Scone with Jam', 'bakery', 360, 390, 0, ['milk', 'gluten', 'egg'], 'Clotted cream and strawberry jam'],
  [
    'Avocado Toast',
    'breakfast',
    890,
    420,
    0,
    ['gluten', 'sesame'],
    'Sourdough, smashed avocado, chilli, seeds',
  ],
  ['Eggs on Toast', 'breakfast', 790, 380, 0, ['egg', 'gluten', 'milk'], 'Two free-range eggs, your way'],
  ['Breakfast Burrito', 'breakfast', 950, 620, 0, ['egg', 'gluten', 'milk'], 'Eggs, beans, cheese and salsa'],
  ['Overnight Oats', 'breakfast', 620, 340, 0, ['milk', 'nuts'], 'Oats, almond milk, berries, honey'],
  ['Granola Bowl', 'breakfast', 650, 450, 0, ['milk', 'nuts', 'gluten'], 'House granola, yoghurt, fruit'],
  ['Bacon Roll', 'breakfast', 690, 480, 0, ['gluten'], 'Smoked back bacon in a soft roll'],
  ['Shakshuka', 'breakfast', 1090, 450, 0, ['egg', 'gluten'], 'Eggs baked in spiced tomato, with bread'],
  ['Ham and Cheese Toastie', 'lunch', 790, 520, 0, ['milk', 'gluten'], 'Gruyère, ham and mustard'],
  ['Caprese Sandwich', 'lunch', 850, 480, 0, ['milk', 'gluten'], 'Mozzarella, tomato, basil pesto'],
  [
    'Chicken Caesar Wrap',
    'lunch',
    920,
    560,
    0,
    ['milk', 'gluten', 'egg', 'fish'],
    'Grilled chicken, romaine',
  ],
  ['Falafel Bowl', 'lunch', 980, 610, 0, ['sesame', 'gluten'], 'Falafel, hummus, pickles, tabbouleh'],
  ['Tomato Soup', 'lunch', 650, 220, 0, ['milk'], 'Roast tomato, a swirl of cream, bread'],
  ['Quiche Lorraine', 'lunch', 780, 490, 0, ['milk', 'egg', 'gluten'], 'Bacon, gruyère, short pastry'],
  ['Smoked Salmon Bagel', 'lunch', 990, 450, 0, ['fish', 'gluten', 'milk', 'sesame'], 'Cream cheese, capers'],
  ['Salted Almonds', 'snacks', 250, 170, 0, ['nuts'], 'Roasted in-house'],
  ['Fruit Cup', 'snacks', 390, 90, 0, [], 'Seasonal fruit, cut this morning'],
  ['Energy Ball', 'snacks', 280, 150, 0, ['nuts', 'peanuts'], 'Dates, oats, peanut butter'],
  ['Dark Chocolate Bar', 'snacks', 320, 230, 10, ['soy'], '70% single-origin chocolate'],
];

const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/(^-|-$)/g, '');

/** Macros derived from calories by category: plausible, and stable across restarts. */
function nutritionOf(category: Category, calories: number, caffeineMg: number): ItemInput['nutrition'] {
  const drink = ['espresso', 'brewed', 'tea', 'cold-drinks'].includes(category);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    calories,
    proteinG: round((calories * (drink ? 0.2 : 0.12)) / 4),
    fatG: round((calories * (drink ? 0.3 : 0.4)) / 9),
    carbsG: round((calories * (drink ? 0.5 : 0.48)) / 4),
    sugarG: round((calories * (drink ? 0.4 : 0.2)) / 4),
    caffeineMg,
  };
}

/** The seed items with their ids. */
export const SEED_ITEMS: readonly (ItemInput & { id: string })[] = ROWS.map(
  ([name, category, priceCents, calories, caffeineMg, allergens, description], index) => {
    const id = slug(name);
    return {
      id,
      name,
      description,
      category,
      priceCents,
      sku: `${category.slice(0, 3).toUpperCase()}-${String(index + 1).padStart(3, '0')}`,
      nutrition: nutritionOf(category, calories, caffeineMg),
      allergens: [...allergens],
      image: { url: `https://images.cloudcafe.example/menu/${id}.jpg` },
      available: true,
    };
  },
);

export const CATEGORY_NAMES: Readonly<Record<Category, string>> = {
  espresso: 'Espresso bar',
  brewed: 'Brewed coffee',
  tea: 'Tea',
  'cold-drinks': 'Cold drinks',
  bakery: 'Bakery',
  breakfast: 'Breakfast',
  lunch: 'Lunch',
  snacks: 'Snacks',
};
