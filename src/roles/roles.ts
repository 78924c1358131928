/**
 * The roles a process can take. Every process of a deployment shares Redis (and Kafka); each role can run in as
 * many processes as needed: the scheduler syncs watchlists and keeps the job schedulers, pollers take chunk jobs
 * and call Tencent within the app's cap, one relay per app (a lease) publishes the outbox to Kafka, and webhook
 * processes turn Tencent's state-change callbacks into hints for the pollers.
 */
export const ALL_ROLES = ['scheduler', 'poller', 'relay', 'webhook'] as const;
export type Role = (typeof ALL_ROLES)[number];
/**
 * What `run` starts without `--roles`. The webhook role (Tencent's state-change callbacks, on a port of its own) is
 * asked for by name: it needs the callback URL configured in the console first.
 */
export const DEFAULT_ROLES: readonly Role[] = ['scheduler', 'poller', 'relay'];

/** Something a role started and must stop: closed in reverse order of start. */
export type Closer = () => Promise<unknown>;

/** Closers run newest first, one at a time; a failing one is reported and the rest still run. */
export interface CloserStack {
  push(...closers: Closer[]): void;
  closeAll(onError: (error: unknown) => void): Promise<void>;
}

export function createCloserStack(): CloserStack {
  const closers: Closer[] = [];
  return {
    push: (...added) => void closers.push(...added),
    async closeAll(onError) {
      for (const close of closers.splice(0).reverse()) {
        await close().catch(onError);
      }
    },
  };
}
