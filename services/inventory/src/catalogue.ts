/**
 * The café catalogue seeded at start-up (only SKUs that do not exist yet are written, so a
 * restart never resets stock). The lab's emulator keeps no state across restarts, which is why
 * seeding runs every time rather than once. Prices are integer cents.
 */
export interface SeedItem {
  readonly sku: string;
  readonly name: string;
  readonly category: string;
  readonly price: number;
  readonly stock: number;
}

/** The limited-edition SKU flash sales fight over. */
export const FLASH_SALE_SKU = 'LTD-GEISHA-001';

export const SEED_CATALOGUE: readonly SeedItem[] = [
  { sku: 'ESPRESSO-SGL', name: 'Espresso, single', category: 'espresso', price: 250, stock: 5000 },
  { sku: 'ESPRESSO-DBL', name: 'Espresso, double', category: 'espresso', price: 320, stock: 5000 },
  { sku: 'AMERICANO-12', name: 'Americano 12 oz', category: 'espresso', price: 350, stock: 5000 },
  { sku: 'CAPPUCCINO-12', name: 'Cappuccino 12 oz', category: 'espresso', price: 450, stock: 4000 },
  { sku: 'LATTE-12', name: 'Caffè latte 12 oz', category: 'espresso', price: 475, stock: 4000 },
  { sku: 'LATTE-16', name: 'Caffè latte 16 oz', category: 'espresso', price: 525, stock: 4000 },
  { sku: 'FLATWHITE-8', name: 'Flat white 8 oz', category: 'espresso', price: 430, stock: 3000 },
  { sku: 'MOCHA-12', name: 'Mocha 12 oz', category: 'espresso', price: 525, stock: 3000 },
  { sku: 'CORTADO-6', name: 'Cortado 6 oz', category: 'espresso', price: 380, stock: 2000 },
  {
    sku: 'MACCHIATO-CARAMEL-16',
    name: 'Caramel macchiato 16 oz',
    category: 'espresso',
    price: 575,
    stock: 3000,
  },
  { sku: 'DRIP-HOUSE-12', name: 'House drip 12 oz', category: 'brewed', price: 275, stock: 6000 },
  { sku: 'COLDBREW-16', name: 'Cold brew 16 oz', category: 'brewed', price: 495, stock: 2500 },
  { sku: 'NITRO-12', name: 'Nitro cold brew 12 oz', category: 'brewed', price: 550, stock: 1500 },
  {
    sku: 'POUROVER-ETH-YRG',
    name: 'Pour-over, Ethiopia Yirgacheffe',
    category: 'brewed',
    price: 650,
    stock: 800,
  },
  { sku: 'CHAI-LATTE-12', name: 'Chai latte 12 oz', category: 'tea', price: 450, stock: 2500 },
  { sku: 'MATCHA-LATTE-12', name: 'Matcha latte 12 oz', category: 'tea', price: 525, stock: 2000 },
  { sku: 'TEA-EARLGREY', name: 'Earl Grey, pot', category: 'tea', price: 300, stock: 2000 },
  { sku: 'HOTCHOC-12', name: 'Hot chocolate 12 oz', category: 'other', price: 400, stock: 2000 },
  { sku: 'CROISSANT-BUTTER', name: 'Butter croissant', category: 'bakery', price: 375, stock: 600 },
  { sku: 'CROISSANT-ALMOND', name: 'Almond croissant', category: 'bakery', price: 450, stock: 400 },
  { sku: 'PAINCHOC', name: 'Pain au chocolat', category: 'bakery', price: 425, stock: 500 },
  { sku: 'MUFFIN-BLUEBERRY', name: 'Blueberry muffin', category: 'bakery', price: 395, stock: 500 },
  { sku: 'BANANA-BREAD', name: 'Banana bread slice', category: 'bakery', price: 350, stock: 400 },
  { sku: 'SCONE-CHEDDAR', name: 'Cheddar scone', category: 'bakery', price: 375, stock: 300 },
  {
    sku: 'BAGEL-EVERYTHING',
    name: 'Everything bagel, cream cheese',
    category: 'food',
    price: 450,
    stock: 400,
  },
  { sku: 'SANDWICH-HAM-CHEESE', name: 'Ham and cheese toastie', category: 'food', price: 795, stock: 250 },
  { sku: 'SALAD-GRAIN', name: 'Grain bowl', category: 'food', price: 925, stock: 150 },
  { sku: 'BEANS-HOUSE-250G', name: 'House blend beans 250 g', category: 'retail', price: 1400, stock: 300 },
  {
    sku: 'BEANS-DECAF-250G',
    name: 'Swiss-water decaf beans 250 g',
    category: 'retail',
    price: 1500,
    stock: 200,
  },
  { sku: 'MUG-CERAMIC', name: 'CloudCafe ceramic mug', category: 'retail', price: 1800, stock: 120 },
  { sku: 'SYRUP-VANILLA', name: 'Vanilla syrup shot', category: 'extras', price: 60, stock: 10000 },
  { sku: 'OATMILK-SUB', name: 'Oat milk substitution', category: 'extras', price: 70, stock: 10000 },
  {
    sku: FLASH_SALE_SKU,
    name: 'Limited release: Panama Geisha pour-over',
    category: 'limited',
    price: 1800,
    stock: 50,
  },
];
