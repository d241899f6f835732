import { readFileSync, writeFileSync } from 'node:fs';

/**
 * The client's own record of what it was promised: every order a load run saw acknowledged
 * with a 202. k6 cannot write files from a VU, so each 202 is a console line
 * (`CLOUDCAFE_ACK <orderId> <customerId> <sku>*<qty>,… <epochMs> <idempotencyKey>`, see
 * load-tests/src/lib/api.ts) that k6 appends to `--console-output` the moment it is seen; this
 * turns the lines into `acknowledged-orders.json` for the invariant auditor. Lines are
 * independent, so even an aborted or killed run leaves a usable record.
 */

export const ACKNOWLEDGEMENTS_FORMAT = 'cloudcafe.acknowledged-orders/v1' as const;

export interface AcknowledgedOrder {
  readonly orderId: string;
  readonly customerId: string;
  readonly items: readonly { readonly sku: string; readonly quantity: number }[];
  /** When the 202 arrived (client clock). */
  readonly acknowledgedAt: string;
  readonly idempotencyKey: string;
}

export interface AcknowledgementFile {
  readonly format: typeof ACKNOWLEDGEMENTS_FORMAT;
  readonly runId: string | undefined;
  readonly scenario: string | undefined;
  readonly baseUrl: string | undefined;
  readonly writtenAt: string;
  /** False when k6 ended abnormally: the list holds what was seen up to then. */
  readonly complete: boolean;
  readonly count: number;
  readonly orders: readonly AcknowledgedOrder[];
}

const LINE = /CLOUDCAFE_ACK (\S+) (\S+) (\S+) (\d+) (\S+?)"?\s*(?:source=|$)/;

/** Parses the acknowledgement lines out of a k6 console log (one order id once). */
export function parseAcknowledgements(consoleLog: string): AcknowledgedOrder[] {
  const seen = new Map<string, AcknowledgedOrder>();
  for (const line of consoleLog.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, orderId = '', customerId = '', lines = '', at = '0', key = ''] = m;
    if (seen.has(orderId)) continue;
    seen.set(orderId, {
      orderId,
      customerId,
      items: lines.split(',').map((l) => {
        const [sku = '', qty = '0'] = l.split('*');
        return { sku, quantity: Number(qty) };
      }),
      acknowledgedAt: new Date(Number(at)).toISOString(),
      idempotencyKey: key,
    });
  }
  return [...seen.values()];
}

/** Reads k6's console log and writes the acknowledgement file; returns what it wrote. */
export function collectAcknowledgements(
  consoleFile: string,
  outFile: string,
  meta: {
    runId?: string | undefined;
    scenario?: string | undefined;
    baseUrl?: string | undefined;
    complete: boolean;
  },
): AcknowledgementFile {
  let log = '';
  try {
    log = readFileSync(consoleFile, 'utf8');
  } catch {
    // No console file: k6 never got as far as a VU; the record is empty, not missing.
  }
  const orders = parseAcknowledgements(log);
  const file: AcknowledgementFile = {
    format: ACKNOWLEDGEMENTS_FORMAT,
    runId: meta.runId,
    scenario: meta.scenario,
    baseUrl: meta.baseUrl,
    writtenAt: new Date().toISOString(),
    complete: meta.complete,
    count: orders.length,
    orders,
  };
  writeFileSync(outFile, `${JSON.stringify(file, null, 2)}\n`);
  return file;
}

/** Reads an acknowledgement file back (the auditor's entry point). */
export function readAcknowledgements(file: string): AcknowledgementFile {
  const body = JSON.parse(readFileSync(file, 'utf8')) as AcknowledgementFile;
  if (body.format !== ACKNOWLEDGEMENTS_FORMAT)
    throw new Error(`${file}: not a ${ACKNOWLEDGEMENTS_FORMAT} file`);
  return body;
}
