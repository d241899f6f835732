import type { ThresholdList } from './config.ts';

/**
 * The service-level objectives as k6 thresholds, one definition for every scenario. abortOnFail
 * where carrying on makes no sense: a lab answering 5xx to more than one request in ten is
 * broken, not slow, and more load only buries the cause. delayAbortEval lets the first seconds'
 * handful of samples settle before an abort can fire.
 */
export const SLO = {
  /** Checkout accept p99 < 500 ms. */
  checkoutAccept: { cloudcafe_checkout_accept_duration: ['p(99)<500'] },
  /** Browse p99 < 200 ms. */
  browse: { cloudcafe_browse_duration: ['p(99)<200'] },
  /** Error rate < 1 %; above 10 % the run stops. */
  errors: {
    cloudcafe_errors: ['rate<0.01', { threshold: 'rate<0.10', abortOnFail: true, delayAbortEval: '10s' }],
  },
} as const satisfies Record<string, Record<string, ThresholdList>>;

export function thresholds(
  ...parts: Record<string, readonly ThresholdList[number][]>[]
): Record<string, ThresholdList> {
  const out: Record<string, ThresholdList> = {};
  for (const part of parts) {
    for (const [metric, list] of Object.entries(part)) out[metric] = [...(out[metric] ?? []), ...list];
  }
  return out;
}
