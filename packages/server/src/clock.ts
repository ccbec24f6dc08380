/** Milliseconds since the epoch. Injected wherever tests must move time (session expiry). */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
