/**
 * A foreground command that runs until Ctrl-C / SIGTERM: on the first signal (or `stop()`), run `cleanup` once
 * and exit 0 when it settles. Returns that stop, for a --duration timer or the like.
 */
export function exitOnSignal(cleanup: () => Promise<void>): () => void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void cleanup().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return stop;
}
