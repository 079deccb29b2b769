// Retry delays: exponential with "equal jitter" (half the delay fixed, half random), so many
// clients cut off by the same outage do not come back in lockstep.

/** The delay before retry number `attempt` (1, 2, ...): random in [cap/2, cap], cap doubling. */
export function backoffDelay(attempt, { initialMs, maxMs }, random = Math.random) {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/** Resolves after `ms`, or at once when `signal` aborts; never keeps a timer past an abort. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
