import { CafeError, type FlagStore, withInjectedFaults } from '@cloudcafe/kit';
import { type Collection, MongoClient, type MongoServerError } from 'mongodb';
import { CATEGORIES, type Category, type Item, type ItemInput, type ListQuery } from './schemas.js';
import { SEED_ITEMS } from './seed.js';

/** An item as stored: `_id` is the public id. */
interface ItemDocument extends Omit<Item, 'id'> {
  _id: string;
}

const DUPLICATE_KEY = 11000;

/**
 * Refuses any key that MongoDB would read as an operator or a path. Requests are validated by
 * closed schemas before they get here; this is the second lock on the same door, so a future
 * route that forgets its schema still cannot smuggle `$where` or `a.b` into a query or update.
 */
export function assertNoOperators(value: unknown, path = 'value'): void {
  if (Array.isArray(value)) {
    for (const [index, entry] of value.entries()) assertNoOperators(entry, `${path}[${index}]`);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, entry] of Object.entries(value)) {
    if (key.startsWith('$') || key.includes('.')) {
      throw new CafeError('CAFE_ERR_VALIDATION', `${path}.${key}: is not allowed`);
    }
    assertNoOperators(entry, `${path}.${key}`);
  }
}

// FerretDB v1 drops an empty array set through $setOnInsert; the API always shows the field.
const toItem = ({ _id, ...rest }: ItemDocument): Item => ({
  id: _id,
  ...rest,
  allergens: rest.allergens ?? [],
});

export const encodeCursor = (id: string) => Buffer.from(id, 'utf8').toString('base64url');
function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(id))
    throw new CafeError('CAFE_ERR_VALIDATION', 'querystring.cursor: is not a cursor this service gave');
  return id;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The menu in MongoDB (FerretDB locally): one collection, `_id` = item id. */
export interface MenuStore {
  connect(): Promise<void>;
  seed(): Promise<number>;
  list(query: ListQuery): Promise<{ items: Item[]; nextCursor: string | null }>;
  get(id: string): Promise<Item | undefined>;
  categories(): Promise<Record<Category, number>>;
  create(id: string, input: ItemInput): Promise<Item>;
  replace(id: string, input: ItemInput): Promise<Item>;
  patchSync(id: string, fields: Pick<ItemInput, 'image' | 'nutrition'>): Promise<void>;
  remove(id: string): Promise<boolean>;
  ping(): Promise<unknown>;
  close(): Promise<void>;
}

export function createMenuStore(url: string, flags: () => FlagStore | undefined): MenuStore {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: 2000,
    connectTimeoutMS: 1000,
    socketTimeoutMS: 5000,
    maxPoolSize: 20,
  });
  // A connection dropped by a cut link must not become an unhandled 'error' event.
  client.on('error', () => {});
  const items: Collection<ItemDocument> = client.db().collection<ItemDocument>('menu_items');
  const mongo = <T>(call: () => Promise<T>): Promise<T> => {
    const store = flags();
    return (store ? withInjectedFaults(store, call, { dependency: 'mongo' }) : call()).catch(
      (error: unknown) => {
        if (error instanceof CafeError) throw error;
        throw new CafeError('CAFE_ERR_DEPENDENCY_FAILED', 'the menu database did not answer', {
          cause: error,
        });
      },
    );
  };

  return {
    async connect() {
      await client.connect();
    },
    async seed() {
      const now = new Date().toISOString();
      // Upserts with $setOnInsert: a restart re-seeds nothing and never overwrites admin edits.
      const result = await items.bulkWrite(
        SEED_ITEMS.map(({ id, ...input }) => ({
          updateOne: {
            filter: { _id: id },
            update: { $setOnInsert: { ...input, version: 1, updatedAt: now } },
            upsert: true,
          },
        })),
        { ordered: false },
      );
      return result.upsertedCount;
    },
    async list(query) {
      assertNoOperators(query);
      const filter: Record<string, unknown> = {};
      if (query.category) filter.category = query.category;
      if (query.q) filter.name = { $regex: escapeRegex(query.q), $options: 'i' };
      if (query.cursor) filter._id = { $gt: decodeCursor(query.cursor) };
      const docs = await mongo(() =>
        items
          .find(filter)
          .sort({ _id: 1 })
          .limit(query.limit + 1)
          .toArray(),
      );
      const page = docs.slice(0, query.limit).map(toItem);
      const last = page.at(-1);
      return { items: page, nextCursor: docs.length > query.limit && last ? encodeCursor(last.id) : null };
    },
    async get(id) {
      const doc = await mongo(() => items.findOne({ _id: id }));
      return doc ? toItem(doc) : undefined;
    },
    async categories() {
      const docs = await mongo(() => items.find({}, { projection: { category: 1 } }).toArray());
      const counts = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
      for (const doc of docs) if (doc.category in counts) counts[doc.category] += 1;
      return counts;
    },
    async create(id, input) {
      assertNoOperators(input);
      const doc: ItemDocument = { _id: id, ...input, version: 1, updatedAt: new Date().toISOString() };
      try {
        await mongo(() => items.insertOne(doc));
      } catch (error) {
        if (
          error instanceof CafeError &&
          (error.cause as MongoServerError | undefined)?.code === DUPLICATE_KEY
        ) {
          throw new CafeError('CAFE_ERR_CONFLICT', `item ${id} already exists`);
        }
        throw error;
      }
      return toItem(doc);
    },
    async replace(id, input) {
      assertNoOperators(input);
      const doc = await mongo(() =>
        items.findOneAndUpdate(
          { _id: id },
          { $set: { ...input, updatedAt: new Date().toISOString() }, $inc: { version: 1 } },
          { returnDocument: 'after' },
        ),
      );
      if (!doc) throw new CafeError('CAFE_ERR_NOT_FOUND', `no menu item ${id}`);
      return toItem(doc);
    },
    async patchSync(id, { image, nutrition }) {
      // Whole sub-documents, not dotted paths: FerretDB v1 is strict about '.' in keys.
      await mongo(() =>
        items.updateOne(
          { _id: id },
          { $set: { image, nutrition, updatedAt: new Date().toISOString() }, $inc: { version: 1 } },
        ),
      );
    },
    async remove(id) {
      const result = await mongo(() => items.deleteOne({ _id: id }));
      return result.deletedCount === 1;
    },
    ping: () => client.db().command({ ping: 1 }),
    close: () => client.close(),
  };
}
