const numberPattern = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A decimal number as Python's float() reads one (infinities and NaN excepted), or undefined. */
export function parseNumber(text: string): number | undefined {
  const trimmed = text.trim();
  // Linear-time pattern (no nested quantifiers over the same characters); length cap keeps it cheap.
  if (trimmed.length === 0 || trimmed.length > 400 || !numberPattern.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}
