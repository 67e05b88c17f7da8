/**
 * Structure perception: diagrams and charts with numeric or A/B/C/D multiple-choice questions.
 *
 * Kinds:
 * - bar chart: 3-5 coloured bars over unit gridlines. "What is the value of the red bar?", "How much
 *   larger is the red bar than the blue bar?", "What is the sum of the red and blue bars?" (numbers);
 *   "Which bar is the tallest?" (choices of colours).
 * - polygon: a regular polygon. "How many sides does the polygon have?" (number); "Which shape is
 *   shown?" (choices of names).
 * - clock: a dial with 12 ticks (the 12 o'clock tick long) and one hand. "What hour does the clock show?"
 *
 * Splits: train and id draw bar values 1-7 and polygons of 3-7 sides, bars and polygons only; ood draws
 * bar values 8-12 and polygons of 8-10 sides (a held-out value range), and adds clocks (a held-out kind).
 */
import type { Random, Task, TaskSplit } from '@ekipl/core';
import { encodePng } from './png.js';
import { Canvas, mix, type Rgb } from './raster.js';
import { background, type ColorName, colorNames, colors } from './scene.js';

export interface StructureOptions {
  imageSize: number;
}

export const polygonNames: Record<number, string> = {
  3: 'triangle',
  4: 'square',
  5: 'pentagon',
  6: 'hexagon',
  7: 'heptagon',
  8: 'octagon',
  9: 'nonagon',
  10: 'decagon',
};

/** What was drawn, kept in the task's metadata for oracles and checks. */
export type Diagram =
  | { kind: 'bars'; bars: { color: ColorName; value: number }[]; maxValue: number }
  | { kind: 'polygon'; sides: number; color: ColorName; rotation: number }
  | { kind: 'clock'; hour: number };

const letters = ['A', 'B', 'C', 'D'];
const black: Rgb = [20, 20, 20];

export async function structureTask(
  random: Random,
  split: TaskSplit,
  index: number,
  options: StructureOptions,
): Promise<Task> {
  const ood = split === 'ood';
  const kind = random.pick(ood ? (['bars', 'polygon', 'clock'] as const) : (['bars', 'polygon'] as const));
  const diagram = drawDiagram(random, kind, ood);
  const { question, answer, choices, reasoning, distractors } = askAbout(random, diagram);
  const image = await encodePng(render(diagram, options.imageSize));
  return {
    id: `structure-${split}-${index}`,
    family: 'structure',
    images: [{ data: image, mediaType: 'image/png' }],
    question,
    answer,
    ...(choices === undefined ? {} : { choices }),
    split,
    metadata: { diagram, reasoning, distractors },
  };
}

function drawDiagram(random: Random, kind: Diagram['kind'], ood: boolean): Diagram {
  switch (kind) {
    case 'bars': {
      const count = 3 + random.int(3);
      const barColors = random.shuffle(colorNames).slice(0, count);
      const [low, high] = ood ? [8, 12] : [1, 7];
      return {
        kind,
        bars: barColors.map((color) => ({ color, value: low + random.int(high - low + 1) })),
        maxValue: ood ? 12 : 7,
      };
    }
    case 'polygon': {
      const sides = ood ? 8 + random.int(3) : 3 + random.int(5);
      return { kind, sides, color: random.pick(colorNames), rotation: random.float() * 2 * Math.PI };
    }
    case 'clock':
      return { kind, hour: 1 + random.int(12) };
  }
}

interface Question {
  question: string;
  answer: string;
  choices?: string[];
  reasoning: string[];
  distractors: string[];
}

/** Numeric distractors more than 20 % off, so the tolerance curve gives them 0. */
function numericDistractors(value: number): string[] {
  const step = Math.max(1, Math.ceil(value * 0.25));
  return [value + step, value - step, value + 2 * step].filter((candidate) => candidate >= 0).map(String);
}

function multipleChoice(
  random: Random,
  correct: string,
  others: readonly string[],
): { choices: string[]; answer: string; wrong: string[] } {
  const choices = random.shuffle([
    correct,
    ...random.shuffle(others.filter((option) => option !== correct)).slice(0, 3),
  ]);
  const answer = letters[choices.indexOf(correct)]!;
  return { choices, answer, wrong: letters.slice(0, choices.length).filter((letter) => letter !== answer) };
}

function askAbout(random: Random, diagram: Diagram): Question {
  switch (diagram.kind) {
    case 'bars': {
      const values = diagram.bars.map((bar) => `${bar.color} ${bar.value}`).join(', ');
      const reasoning = [`Reading each bar against the gridlines: ${values}.`];
      const [first, second] = random.shuffle(diagram.bars);
      const form = random.pick(['value', 'difference', 'sum', 'tallest'] as const);
      if (form === 'value') {
        reasoning.push(`The ${first!.color} bar reaches ${first!.value}.`);
        return {
          question: `What is the value of the ${first!.color} bar?`,
          answer: String(first!.value),
          reasoning,
          distractors: numericDistractors(first!.value),
        };
      }
      if (form === 'difference' && first!.value !== second!.value) {
        const [larger, smaller] = first!.value > second!.value ? [first!, second!] : [second!, first!];
        const difference = larger.value - smaller.value;
        reasoning.push(`${larger.value} - ${smaller.value} = ${difference}.`);
        return {
          question: `How much larger is the ${larger.color} bar than the ${smaller.color} bar?`,
          answer: String(difference),
          reasoning,
          distractors: numericDistractors(difference),
        };
      }
      const tallest = diagram.bars.reduce((a, b) => (b.value > a.value ? b : a));
      const unique = diagram.bars.filter((bar) => bar.value === tallest.value).length === 1;
      if (form === 'tallest' && unique) {
        const { choices, answer, wrong } = multipleChoice(
          random,
          tallest.color,
          diagram.bars.map((bar) => bar.color).concat(colorNames),
        );
        reasoning.push(`The tallest bar is the ${tallest.color} one (${tallest.value}).`);
        return { question: 'Which bar is the tallest?', answer, choices, reasoning, distractors: wrong };
      }
      const sum = first!.value + second!.value;
      reasoning.push(`${first!.value} + ${second!.value} = ${sum}.`);
      return {
        question: `What is the sum of the ${first!.color} and ${second!.color} bars?`,
        answer: String(sum),
        reasoning,
        distractors: numericDistractors(sum),
      };
    }
    case 'polygon': {
      const reasoning = [
        `The ${diagram.color} polygon has ${diagram.sides} corners, so ${diagram.sides} sides.`,
      ];
      if (random.float() < 0.5) {
        return {
          question: 'How many sides does the polygon have?',
          answer: String(diagram.sides),
          reasoning,
          distractors: numericDistractors(diagram.sides),
        };
      }
      const name = polygonNames[diagram.sides]!;
      const { choices, answer, wrong } = multipleChoice(random, name, Object.values(polygonNames));
      reasoning.push(`A polygon with ${diagram.sides} sides is a ${name}.`);
      return { question: 'Which shape is shown?', answer, choices, reasoning, distractors: wrong };
    }
    case 'clock': {
      const reasoning = [
        `The hand points at the ${diagram.hour}${ordinalSuffix(diagram.hour)} tick counting clockwise from the long tick at the top.`,
      ];
      const wrong = [
        ((diagram.hour + 2) % 12) + 1,
        ((diagram.hour + 5) % 12) + 1,
        ((diagram.hour + 8) % 12) + 1,
      ].filter((hour) => hour !== diagram.hour);
      return {
        question: 'What hour does the clock show?',
        answer: String(diagram.hour),
        reasoning,
        distractors: wrong.map(String),
      };
    }
  }
}

function ordinalSuffix(n: number): string {
  return n === 1 ? 'st' : n === 2 ? 'nd' : n === 3 ? 'rd' : 'th';
}

/** Geometry of a bar chart, shared by the renderer and the tests that read the image back. */
export function barLayout(diagram: Extract<Diagram, { kind: 'bars' }>, imageSize: number) {
  const left = imageSize * 0.12;
  const right = imageSize * 0.95;
  const bottom = imageSize * 0.9;
  const top = imageSize * 0.08;
  const unit = (bottom - top) / diagram.maxValue;
  const slot = (right - left) / diagram.bars.length;
  return {
    left,
    right,
    bottom,
    unit,
    bars: diagram.bars.map((bar, i) => ({
      ...bar,
      x: left + slot * (i + 0.2),
      width: slot * 0.6,
      top: bottom - bar.value * unit,
    })),
  };
}

function render(diagram: Diagram, imageSize: number): Canvas {
  const canvas = new Canvas(imageSize, imageSize, background);
  const line = Math.max(0.6, imageSize / 110);
  switch (diagram.kind) {
    case 'bars': {
      const layout = barLayout(diagram, imageSize);
      for (let value = 1; value <= diagram.maxValue; value++) {
        const y = layout.bottom - value * layout.unit;
        canvas.line(layout.left, y, layout.right, y, line * 0.6, [165, 165, 160]);
      }
      for (const bar of layout.bars) {
        canvas.fillRect(
          bar.x - line * 0.5,
          bar.top - line * 0.5,
          bar.width + line,
          layout.bottom - bar.top + line * 0.5,
          mix(colors[bar.color], black, 0.5),
        );
        canvas.fillRect(bar.x, bar.top, bar.width, layout.bottom - bar.top, colors[bar.color]);
      }
      canvas.line(layout.left, layout.bottom, layout.right, layout.bottom, line, black);
      canvas.line(layout.left, layout.bottom, layout.left, imageSize * 0.05, line, black);
      break;
    }
    case 'polygon': {
      const center = imageSize / 2;
      const radius = imageSize * 0.38;
      const corner = (i: number, r: number) =>
        [
          center + r * Math.cos(diagram.rotation + (2 * Math.PI * i) / diagram.sides),
          center + r * Math.sin(diagram.rotation + (2 * Math.PI * i) / diagram.sides),
        ] as const;
      canvas.fillPolygon(
        Array.from({ length: diagram.sides }, (_, i) => corner(i, radius + line)),
        black,
      );
      canvas.fillPolygon(
        Array.from({ length: diagram.sides }, (_, i) => corner(i, radius)),
        colors[diagram.color],
      );
      break;
    }
    case 'clock': {
      const center = imageSize / 2;
      const radius = imageSize * 0.42;
      canvas.fillCircle(center, center, radius + line, black);
      canvas.fillCircle(center, center, radius, [250, 250, 245]);
      for (let tick = 0; tick < 12; tick++) {
        const angle = (tick / 12) * 2 * Math.PI - Math.PI / 2;
        const inner = radius * (tick === 0 ? 0.68 : 0.82);
        canvas.line(
          center + inner * Math.cos(angle),
          center + inner * Math.sin(angle),
          center + radius * 0.97 * Math.cos(angle),
          center + radius * 0.97 * Math.sin(angle),
          line * (tick === 0 ? 1.6 : 1),
          black,
        );
      }
      const handAngle = (diagram.hour / 12) * 2 * Math.PI - Math.PI / 2;
      canvas.line(
        center,
        center,
        center + radius * 0.72 * Math.cos(handAngle),
        center + radius * 0.72 * Math.sin(handAngle),
        line * 1.8,
        colors.red,
      );
      canvas.fillCircle(center, center, line * 1.5, black);
      break;
    }
  }
  return canvas;
}
