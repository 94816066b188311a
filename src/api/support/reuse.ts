/**
 * `build`, reused for `ttlMs` after it settles: calls that come together share one build, and an
 * answer polled by many callers is built at most once per window. The window starts when the
 * build settles, so an answer is never older than the build's own time plus `ttlMs`. A build
 * that rejects is not reused: the next call builds again.
 */
export function reuseFor<T>(ttlMs: number, build: () => Promise<T>): () => Promise<T> {
  // `at`: when the answer came; a build in flight is never expired.
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      const entry = { at: Number.POSITIVE_INFINITY, value: build() };
      cached = entry;
      entry.value.then(
        () => (entry.at = Date.now()),
        () => {
          if (cached === entry) cached = undefined;
        },
      );
    }
    return cached.value;
  };
}
