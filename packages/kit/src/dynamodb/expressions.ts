/**
 * The expressions one DynamoDB request (an item-level request: a PutItem, one entry of a
 * TransactWriteItems, one table of a BatchGetItem…) may carry. Its `ExpressionAttributeNames`
 * and `ExpressionAttributeValues` are matched against all of them together.
 */
const EXPRESSION_FIELDS = [
  'UpdateExpression',
  'ConditionExpression',
  'KeyConditionExpression',
  'FilterExpression',
  'ProjectionExpression',
] as const;

/** The entries of a TransactWriteItems item; each is its own request with its own maps. */
const TRANSACT_WRITE_ACTIONS = ['ConditionCheck', 'Put', 'Delete', 'Update'] as const;

const TOKEN = /[#:][A-Za-z0-9_]+/g;

/** What DynamoDB answers with 400 ValidationException when a request's expressions and maps disagree. */
export class ExpressionValidationError extends Error {
  // The name DynamoDB's own refusal carries, so `error.name === 'ValidationException'` checks
  // written against AWS see this one too.
  override readonly name = 'ValidationException';
  constructor(readonly problems: readonly string[]) {
    // DynamoDB reports one problem per refusal; the rest stay readable on `problems`.
    super(problems[0]);
  }
}

/**
 * Every way the request's expression attribute names and values disagree with its
 * expressions, in DynamoDB's wording; empty when DynamoDB would accept them. Only the keys of
 * `ExpressionAttributeNames`/`ExpressionAttributeValues` are read, so document-client input
 * (plain values) and low-level input (AttributeValue maps) are checked alike.
 *
 * `operation` is the API name (`UpdateItem`, `TransactWriteItems`…): BatchGetItem is checked
 * per table, TransactWriteItems and TransactGetItems per item; any other operation is read as
 * one request (operations without expression parameters then have nothing to find).
 *
 * The emulator accepts what this refuses; real DynamoDB does not.
 *
 * @example
 * ```ts
 * expressionProblems('UpdateItem', {
 *   TableName: 'stock', Key: { sku: 'beans' },
 *   UpdateExpression: 'SET qty = :qty',
 *   ExpressionAttributeValues: { ':qty': 3, ':ttl': 60 },
 * });
 * // ['Value provided in ExpressionAttributeValues unused in expressions: keys: {:ttl}']
 * ```
 */
export function expressionProblems(operation: string, input: object): string[] {
  return itemRequests(operation, input).flatMap(requestProblems);
}

/**
 * Throws an {@link ExpressionValidationError} (name `ValidationException`, DynamoDB's message)
 * when {@link expressionProblems} finds any.
 *
 * @example
 * ```ts
 * assertValidExpressions('Query', input); // before sending it
 * ```
 */
export function assertValidExpressions(operation: string, input: object): void {
  const problems = expressionProblems(operation, input);
  if (problems.length > 0) throw new ExpressionValidationError(problems);
}

type Fields = Readonly<Record<string, unknown>>;

function itemRequests(operation: string, input: object): Fields[] {
  const fields = input as Fields;
  switch (operation) {
    case 'BatchGetItem':
      return isRecord(fields.RequestItems) ? Object.values(fields.RequestItems).filter(isRecord) : [];
    case 'TransactWriteItems':
      return entries(fields.TransactItems).flatMap((item) =>
        TRANSACT_WRITE_ACTIONS.map((action) => item[action]).filter(isRecord),
      );
    case 'TransactGetItems':
      return entries(fields.TransactItems)
        .map((item) => item.Get)
        .filter(isRecord);
    default:
      return [fields];
  }
}

function requestProblems(request: Fields): string[] {
  const names = keysOf(request.ExpressionAttributeNames);
  const values = keysOf(request.ExpressionAttributeValues);
  const expressions = EXPRESSION_FIELDS.flatMap((field) => {
    const text = request[field];
    return typeof text === 'string' ? [{ field, text }] : [];
  });
  if (expressions.length === 0) {
    return [
      ...(values ? ['ExpressionAttributeValues can only be specified when using expressions'] : []),
      ...(names ? ['ExpressionAttributeNames can only be specified when using expressions'] : []),
    ];
  }

  const problems: string[] = [];
  if (names?.size === 0) problems.push('ExpressionAttributeNames must not be empty');
  if (values?.size === 0) problems.push('ExpressionAttributeValues must not be empty');
  const usedNames = new Set<string>();
  const usedValues = new Set<string>();
  for (const { field, text } of expressions) {
    const undefinedHere = new Set<string>();
    for (const [token] of text.matchAll(TOKEN)) {
      const isName = token.startsWith('#');
      (isName ? usedNames : usedValues).add(token);
      if ((isName ? names : values)?.has(token) || undefinedHere.has(token)) continue;
      undefinedHere.add(token);
      problems.push(
        isName
          ? `Invalid ${field}: An expression attribute name used in the document path is not defined; attribute name: ${token}`
          : `Invalid ${field}: An expression attribute value used in expression is not defined; attribute value: ${token}`,
      );
    }
  }
  const unusedNames = [...(names ?? [])].filter((key) => !usedNames.has(key));
  const unusedValues = [...(values ?? [])].filter((key) => !usedValues.has(key));
  if (unusedNames.length > 0) problems.push(unusedMessage('ExpressionAttributeNames', unusedNames));
  if (unusedValues.length > 0) problems.push(unusedMessage('ExpressionAttributeValues', unusedValues));
  return problems;
}

function unusedMessage(map: string, keys: string[]): string {
  return `Value provided in ${map} unused in expressions: keys: {${keys.sort().join(', ')}}`;
}

/** The keys of a given map, or undefined when the parameter is absent. */
function keysOf(map: unknown): Set<string> | undefined {
  return isRecord(map) ? new Set(Object.keys(map)) : undefined;
}

function entries(list: unknown): Fields[] {
  return Array.isArray(list) ? list.filter(isRecord) : [];
}

function isRecord(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
