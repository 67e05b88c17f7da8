/**
 * Reason-RFT's answer extraction: the first `<answer>(.*?)</answer>` match (Python's `.` does not
 * cross a newline), stripped; a text without one is taken whole, stripped, as the answer. Written as a
 * single forward scan: no regular expression, linear in the text's length.
 */
export function extractAnswer(text: string): string {
  const tagged = firstAnswerTag(text);
  return (tagged ?? text).trim();
}

/** Content of the first single-line `<answer>...</answer>`, or undefined. */
export function firstAnswerTag(text: string): string | undefined {
  const open = '<answer>';
  const close = '</answer>';
  let closeAt = -1;
  let newlineAt = -1;
  for (let openAt = text.indexOf(open); openAt >= 0; openAt = text.indexOf(open, openAt + 1)) {
    const contentStart = openAt + open.length;
    if (closeAt < contentStart) {
      closeAt = text.indexOf(close, contentStart);
      if (closeAt < 0) return undefined; // no closing tag after here, nor after any later opening tag
    }
    if (newlineAt < contentStart && newlineAt !== Number.POSITIVE_INFINITY) {
      const found = text.indexOf('\n', contentStart);
      newlineAt = found < 0 ? Number.POSITIVE_INFINITY : found;
    }
    if (newlineAt > closeAt) return text.slice(contentStart, closeAt);
  }
  return undefined;
}

/** Content of every `<tag>...</tag>` block, non-overlapping, left to right (dotall). */
export function tagContents(text: string, tag: string): string[] {
  const open = `<${tag}>`;
  const close = `</${tag}>`;
  const contents: string[] = [];
  let from = 0;
  for (;;) {
    const openAt = text.indexOf(open, from);
    if (openAt < 0) return contents;
    const closeAt = text.indexOf(close, openAt + open.length);
    if (closeAt < 0) return contents;
    contents.push(text.slice(openAt + open.length, closeAt));
    from = closeAt + close.length;
  }
}

/** An answer in the format every sampler is asked for: `<think>reasoning</think><answer>answer</answer>`. */
export function formatAnswer(reasoning: string, answer: string): string {
  return `<think>${reasoning}</think><answer>${answer}</answer>`;
}
