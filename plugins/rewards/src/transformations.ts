/**
 * TRANCE transformation answers, scored as Reason-RFT's `func_accuracy_reward` does:
 * - calls `func(object, value)` are read from the answer (value optionally quoted);
 * - repeated calls count once, and every call's credit is scaled by (distinct calls / all calls);
 * - each call is worth 1 / max(distinct predicted, distinct ground-truth) of the score;
 * - greedy matching in four passes, predicted calls in order: exact triple 1, same func and object
 *   0.5, same func and value 0.5, same func 0.25; each call is matched at most once.
 * A text with no call scores 0 (Reason-RFT divides by zero there and returns 0).
 * Departure: whitespace is allowed around the arguments (`change_size( 2 , small )`); Reason-RFT's
 * pattern only allows it after the comma.
 */

export interface Transformation {
  func: string;
  object: string;
  value: string;
}

const wordCharacter = /[\p{L}\p{N}_]/u;
const isWord = (character: string | undefined) => character !== undefined && wordCharacter.test(character);
const isSpace = (character: string | undefined) =>
  character === ' ' || character === '\t' || character === '\n' || character === '\r';

/** Every well-formed `func(object, value)` call in the text, in order (repeats kept). Linear time. */
export function parseTransformations(text: string): Transformation[] {
  const calls: Transformation[] = [];
  for (let paren = text.indexOf('('); paren >= 0; paren = text.indexOf('(', paren + 1)) {
    let funcStart = paren;
    while (funcStart > 0 && isWord(text[funcStart - 1])) funcStart--;
    if (funcStart === paren) continue;
    let position = paren + 1;
    const skipSpaces = () => {
      while (isSpace(text[position])) position++;
    };
    const readWord = () => {
      const start = position;
      while (isWord(text[position])) position++;
      return text.slice(start, position);
    };
    skipSpaces();
    const object = readWord();
    skipSpaces();
    if (object === '' || text[position] !== ',') continue;
    position++;
    skipSpaces();
    const quote = text[position] === "'" || text[position] === '"' ? text[position] : undefined;
    if (quote !== undefined) position++;
    const value = readWord();
    if (quote !== undefined && text[position] === quote) position++;
    skipSpaces();
    if (value === '' || text[position] !== ')') continue;
    calls.push({ func: text.slice(funcStart, paren), object, value });
  }
  return calls;
}

export function transformationScore(predictedText: string, groundTruthText: string): number {
  const predictedAll = parseTransformations(predictedText);
  if (predictedAll.length === 0) return 0;
  const predicted = distinct(predictedAll);
  const truth = distinct(parseTransformations(groundTruthText));
  const repeatPenalty = predicted.length / predictedAll.length;
  const itemScore = repeatPenalty / Math.max(predicted.length, truth.length);
  const unmatchedPredicted = new Set(predicted.keys());
  const unmatchedTruth = new Set(truth.keys());
  const pass = (credit: number, same: (p: Transformation, s: Transformation) => boolean) => {
    let matched = 0;
    for (const p of [...unmatchedPredicted]) {
      for (const s of unmatchedTruth) {
        if (same(predicted[p]!, truth[s]!)) {
          unmatchedPredicted.delete(p);
          unmatchedTruth.delete(s);
          matched++;
          break;
        }
      }
    }
    return matched * credit * itemScore;
  };
  return (
    pass(1, (p, s) => p.func === s.func && p.object === s.object && p.value === s.value) +
    pass(0.5, (p, s) => p.func === s.func && p.object === s.object) +
    pass(0.5, (p, s) => p.func === s.func && p.value === s.value) +
    pass(0.25, (p, s) => p.func === s.func)
  );
}

function distinct(calls: readonly Transformation[]): Transformation[] {
  const seen = new Set<string>();
  return calls.filter((call) => {
    const key = `${call.func}\u0000${call.object}\u0000${call.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
