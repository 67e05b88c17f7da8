/** Byte-level vocabulary: ids 0-255 are bytes; then the special tokens. */
export const specialTokens = { bos: 256, eos: 257, pad: 258 } as const;
export const vocabularySize = 260; // one spare id, kept for a future special token

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Prompt tokens: beginning-of-sequence, then the first `limit - 1` bytes of the text. */
export function encodePrompt(text: string, limit: number): number[] {
  return [specialTokens.bos, ...encoder.encode(text).subarray(0, Math.max(0, limit - 1))];
}

/** Completion tokens: the text's bytes, then end-of-sequence (what the policy would have generated). */
export function encodeCompletion(text: string): number[] {
  return [...encoder.encode(text), specialTokens.eos];
}

/** Text of a completion: bytes up to end-of-sequence; invalid UTF-8 becomes U+FFFD. */
export function decodeTokens(tokens: readonly number[]): string {
  const end = tokens.indexOf(specialTokens.eos);
  const bytes = (end < 0 ? tokens : tokens.slice(0, end)).filter((token) => token < 256);
  return decoder.decode(Uint8Array.from(bytes));
}
