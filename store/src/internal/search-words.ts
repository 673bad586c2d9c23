/** The words of a free-text filter, both stores alike; capped, so a long paste cannot make a huge query. */
export function searchWords(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter(Boolean).slice(0, 16);
}
