/** The entries whose value is not `undefined`: an absent option and one passed as `undefined` read the same. */
export function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The named entries of `from` that are set. */
export function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  return definedOnly(Object.fromEntries(keys.map((k) => [k, from[k]])) as Pick<T, K>);
}
