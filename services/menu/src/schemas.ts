import Type, { type Static } from 'typebox';

/**
 * The menu's HTTP shapes. Every object is closed (`additionalProperties: false`) and every
 * field a query could see is a plain string with a pattern, so nothing a client sends can turn
 * into a MongoDB operator (`{"$ne": …}`, `$where` keys): it fails validation with a 400 first.
 */

export const CATEGORIES = [
  'espresso',
  'brewed',
  'tea',
  'cold-drinks',
  'bakery',
  'breakfast',
  'lunch',
  'snacks',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const ALLERGENS = ['milk', 'egg', 'gluten', 'nuts', 'peanuts', 'soy', 'sesame', 'fish'] as const;

export const ItemId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$', description: 'kebab-case id' });
const Sku = Type.String({
  pattern: '^[A-Z0-9][A-Z0-9-]{1,31}$',
  description: 'The stock unit the item sells',
});
const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength });

export const Nutrition = Type.Object(
  {
    calories: Type.Integer({ minimum: 0, maximum: 5000 }),
    proteinG: Type.Number({ minimum: 0, maximum: 500 }),
    fatG: Type.Number({ minimum: 0, maximum: 500 }),
    carbsG: Type.Number({ minimum: 0, maximum: 1000 }),
    sugarG: Type.Number({ minimum: 0, maximum: 1000 }),
    caffeineMg: Type.Integer({ minimum: 0, maximum: 1000 }),
  },
  { additionalProperties: false },
);
export type Nutrition = Static<typeof Nutrition>;

export const Image = Type.Object(
  {
    url: Type.String({ pattern: '^https://[A-Za-z0-9./_-]{1,200}$' }),
    sha256: Type.Optional(Type.String({ pattern: '^[a-f0-9]{64}$' })),
  },
  { additionalProperties: false },
);

/** What an admin sends to create or replace an item. */
export const ItemInput = Type.Object(
  {
    name: Text(80),
    description: Text(400),
    category: Type.Enum(CATEGORIES),
    priceCents: Type.Integer({ minimum: 0, maximum: 100_000 }),
    sku: Sku,
    nutrition: Nutrition,
    allergens: Type.Array(Type.Enum(ALLERGENS), { maxItems: ALLERGENS.length }),
    image: Image,
    available: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type ItemInput = Static<typeof ItemInput>;

export const NewItem = Type.Object(
  { id: Type.Optional(ItemId), ...ItemInput.properties },
  { additionalProperties: false },
);
export type NewItem = Static<typeof NewItem>;

export const Item = Type.Object(
  {
    id: Type.String(),
    ...ItemInput.properties,
    version: Type.Integer({ minimum: 1 }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
export type Item = Static<typeof Item>;

export const ItemPage = Type.Object({
  items: Type.Array(Item),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page' }),
});
export type ItemPage = Static<typeof ItemPage>;

export const ListQuery = Type.Object(
  {
    category: Type.Optional(Type.Enum(CATEGORIES)),
    q: Type.Optional(
      Type.String({ minLength: 1, maxLength: 60, pattern: "^[A-Za-z0-9 '&-]+$", description: 'Name search' }),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,120}$', description: 'From nextCursor' })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const IdParams = Type.Object({ id: ItemId }, { additionalProperties: false });

export const CategoryList = Type.Object({
  categories: Type.Array(
    Type.Object({ id: Type.String(), name: Type.String(), itemCount: Type.Integer({ minimum: 0 }) }),
  ),
});
export type CategoryList = Static<typeof CategoryList>;

export const Deleted = Type.Object({ id: Type.String(), deleted: Type.Literal(true) });
