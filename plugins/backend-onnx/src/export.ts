import { hiddenSize, parameterShapes, patchDimension, type TinyVlmConfig } from '@ekipl/tiny-vlm';
import { GraphBuilder } from './onnx-graph.js';

/**
 * Where the weights live in the exported graphs: `inputs` (fed on every run: a weight sync is free) or
 * `initializers` (stored in the model: a sync rebuilds the session).
 */
export type WeightPlacement = 'inputs' | 'initializers';

export interface ExportedTinyVlm {
  /** patches [B, images, patches, patch^2 * 3] -> image tokens [B * images, patches, D]. */
  vision: Uint8Array;
  /**
   * One decoder graph for the prefix and for each next token: image tokens [B, Ti, D] (Ti may be 0),
   * text tokens [B, Lt], rotary tables cos / sin [B, 1, L, hd], an additive mask [B, 1, L, Lp + L] and
   * each layer's past keys / values [B, H, Lp, hd] (positions the mask hides may hold anything finite)
   * -> logits [B, L, V] and each layer's keys / values of this run's L positions [B, H, L, hd], for
   * the caller to keep: the graph never copies the cache.
   */
  decoder: Uint8Array;
  /**
   * The decoder for teacher-forced scoring: the decoder's inputs (the past empty), except that
   * `key_valid` [B, L] (1 where a position holds a token) replaces the mask, which the graph builds
   * (causal, valid keys only), and `temperature` (a scalar) -> `target_log_probs` [B, Lt - 1], the
   * tempered log-prob of each text token after the first given the ones before it. The log-softmax
   * runs in the graph, so a score call reads B x Lt numbers rather than the logits' B x L x V, and
   * sends B x L numbers rather than a B x L x L mask.
   */
  scorer: Uint8Array;
  /** The weight inputs of each graph (with `inputs` placement). */
  visionWeights: WeightInput[];
  decoderWeights: WeightInput[];
  scorerWeights: WeightInput[];
}

/**
 * A weight input of an exported graph: the model's parameters `parts` joined along their last axis
 * (the query, key and value projections run as one matrix product, as do the gate and up ones).
 */
export interface WeightInput {
  name: string;
  parts: string[];
}

/** Parameters [..., w_i] joined along the last axis into [..., sum w_i]. */
export function joinWeights(parts: ReadonlyArray<{ data: Float32Array; shape: readonly number[] }>): {
  data: Float32Array;
  shape: number[];
} {
  if (parts.length === 1) return { data: parts[0]!.data, shape: [...parts[0]!.shape] };
  const widths = parts.map(({ shape }) => shape[shape.length - 1]!);
  const total = widths.reduce((sum, width) => sum + width, 0);
  const rows = parts[0]!.data.length / widths[0]!;
  const data = new Float32Array(rows * total);
  for (let row = 0; row < rows; row++) {
    let column = 0;
    parts.forEach(({ data: part }, i) => {
      data.set(part.subarray(row * widths[i]!, (row + 1) * widths[i]!), row * total + column);
      column += widths[i]!;
    });
  }
  return { data, shape: [...parts[0]!.shape.slice(0, -1), total] };
}

/** The tiny VLM as ONNX graphs, computing exactly what backend-tfjs's TinyVlm computes. */
export function exportTinyVlm(
  config: TinyVlmConfig,
  placement: WeightPlacement,
  values?: ReadonlyMap<string, { data: Float32Array; shape: number[] }>,
): ExportedTinyVlm {
  const shapes = new Map(parameterShapes(config));
  const make = (name: string) => {
    const graph = new GraphBuilder(name);
    const used: WeightInput[] = [];
    /** One weight, or several joined along their last axis (`parts` share every other axis). */
    const weight = (...parts: string[]) => {
      const inputName = parts.join('+');
      if (!used.some((input) => input.name === inputName)) {
        used.push({ name: inputName, parts });
        const joined = joinWeights(
          parts.map((parameter) => ({
            shape: shapes.get(parameter)!,
            data: placement === 'inputs' ? new Float32Array(0) : storedValue(parameter),
          })),
        );
        if (placement === 'inputs') graph.input(inputName, 'float', joined.shape);
        else graph.floats(inputName, joined.data, joined.shape);
      }
      return inputName;
    };
    return { graph, weight, used };
  };
  const storedValue = (parameter: string) => {
    const value = values?.get(parameter);
    if (value === undefined) throw new Error(`no value for weight ${parameter}`);
    return value.data;
  };

  // ------------------------------------------------------------------------------------------ vision
  const patches = (config.imageSize / config.patchSize) ** 2;
  const vision = make('tiny-vlm-vision');
  {
    const { graph: g, weight } = vision;
    const input = g.input('patches', 'float', ['batch', 'images', patches, patchDimension(config)]);
    const imageIds = g.input('image_ids', 'int64', ['images']);
    let v = g.op('MatMul', [input, weight('vision.patch.weight')]); // [B, I, P, vd]
    v = g.op('Add', [v, weight('vision.position')]);
    const index = g.op('Gather', [weight('vision.image_index'), imageIds], { axis: 0 }); // [I, vd]
    v = g.op('Add', [v, g.op('Unsqueeze', [index, g.ints([1])])]); // + [I, 1, vd]
    v = g.op('Reshape', [v, g.ints([-1, patches, config.visionDimension])]);
    for (let i = 0; i < config.visionLayers; i++) {
      v = block(
        g,
        weight,
        v,
        `vision.blocks.${i}`,
        config.visionDimension,
        config.visionHeads,
        undefined,
      ).output;
    }
    const projected = g.op('MatMul', [
      rmsNorm(g, v, weight('vision.norm.weight')),
      weight('projector.weight'),
    ]);
    g.output(projected, 'image_tokens', 'float', ['batch_images', patches, config.dimension]);
  }

  // ---------------------------------------------------------------------------- decoder and scorer
  const decoder = make('tiny-vlm-decoder');
  {
    const { graph: g, weight } = decoder;
    const stack = decoderStack(g, weight, config, () =>
      g.input('mask', 'float', ['batch', 1, 'length', 'total_length']),
    );
    const shape = ['batch', config.heads, 'length', config.dimension / config.heads];
    stack.caches.forEach(({ keys, values }, i) => {
      g.output(keys, `key_${i}`, 'float', shape);
      g.output(values, `value_${i}`, 'float', shape);
    });
    g.output(stack.logitsOf(stack.hidden), 'logits', 'float', ['batch', 'length', config.vocabularySize]);
  }
  const scorer = make('tiny-vlm-scorer');
  {
    const { graph: g, weight } = scorer;
    const { imageTokens, tokens, hidden, logitsOf } = decoderStack(g, weight, config, () =>
      selfMask(g, g.input('key_valid', 'float', ['batch', 'length'])),
    );
    // Text positions but the last predict the next text token: hidden [B, Ti : Ti + Lt - 1], targets
    // tokens [B, 1 :]. The image positions never reach the output layer.
    const imageLength = g.op('Shape', [imageTokens], { start: 1, end: 2 });
    const predicting = g.op('Slice', [hidden, imageLength, g.ints([-1]), g.ints([1])]);
    const targets = g.op('Slice', [tokens, g.ints([1]), g.ints([2 ** 62]), g.ints([1])]);
    const temperature = g.input('temperature', 'float', []);
    const logProbs = g.op('LogSoftmax', [g.op('Div', [logitsOf(predicting), temperature])], { axis: -1 });
    const chosen = g.op('GatherElements', [logProbs, g.op('Unsqueeze', [targets, g.ints([-1])])], {
      axis: -1,
    });
    g.output(g.op('Squeeze', [chosen, g.ints([-1])]), 'target_log_probs', 'float', [
      'batch',
      'text_length_minus_1',
    ]);
  }
  return {
    vision: vision.graph.toBytes(),
    decoder: decoder.graph.toBytes(),
    scorer: scorer.graph.toBytes(),
    visionWeights: vision.used,
    decoderWeights: decoder.used,
    scorerWeights: scorer.used,
  };
}

type Weight = (...parts: string[]) => string;

/**
 * The decoder's inputs and blocks, shared by the decoder and the scorer graphs: image tokens, text
 * tokens, rotary tables, the mask `mask` gives (an input, or built in the graph), each layer's past;
 * returns the last hidden state [B, L, D], each layer's keys / values of this run, and the output layer.
 */
function decoderStack(g: GraphBuilder, weight: Weight, config: TinyVlmConfig, mask: () => string) {
  const headDimension = config.dimension / config.heads;
  const imageTokens = g.input('image_tokens', 'float', ['batch', 'image_length', config.dimension]);
  const tokens = g.input('tokens', 'int64', ['batch', 'text_length']);
  const rotary = {
    cos: g.input('cos', 'float', ['batch', 1, 'length', headDimension]),
    sin: g.input('sin', 'float', ['batch', 1, 'length', headDimension]),
    mask: mask(),
  };
  const text = g.op('Gather', [weight('embed.weight'), tokens], { axis: 0 }); // [B, Lt, D]
  let hidden = g.op('Concat', [imageTokens, text], { axis: 1 });
  const caches: { keys: string; values: string }[] = [];
  for (let i = 0; i < config.layers; i++) {
    const past = {
      k: g.input(`past_k_${i}`, 'float', ['batch', config.heads, 'past_length', headDimension]),
      v: g.input(`past_v_${i}`, 'float', ['batch', config.heads, 'past_length', headDimension]),
    };
    const result = block(g, weight, hidden, `blocks.${i}`, config.dimension, config.heads, {
      ...rotary,
      past,
    });
    hidden = result.output;
    caches.push({ keys: result.keys, values: result.values });
  }
  const embedding = g.op('Transpose', [weight('embed.weight')], { perm: [1, 0] });
  const logitsOf = (states: string) => g.op('MatMul', [rmsNorm(g, states, weight('norm.weight')), embedding]);
  return { imageTokens, tokens, hidden, caches, logitsOf };
}

/**
 * The additive mask of a run without past, [B, 1, L, L] from validity [B, L]: 0 where the key is at
 * or before the query and holds a token, -1e9 elsewhere (the same numbers the policy builds for the
 * decoder's `mask` input).
 */
function selfMask(g: GraphBuilder, keyValid: string): string {
  const length = g.op('Shape', [keyValid], { start: 1, end: 2 });
  const square = g.op('Concat', [length, length], { axis: 0 });
  const blocked = g.op('Expand', [g.scalar(-1e9), square]);
  const future = g.op('Trilu', [blocked, g.ints([1])], { upper: 1 }); // -1e9 above the diagonal
  const invalid = g.op('Mul', [g.op('Sub', [g.scalar(1), keyValid]), g.scalar(-1e9)]); // [B, L]
  const perKey = g.op('Unsqueeze', [invalid, g.ints([1, 2])]); // [B, 1, 1, L]
  return g.op('Min', [future, perKey]);
}

/**
 * x / sqrt(mean(x^2) + 1e-6) * w over the last axis, in the node pattern ONNX Runtime fuses into one
 * SimplifiedLayerNormalization kernel (Pow, ReduceMean, Add, Sqrt, Div, Mul).
 */
function rmsNorm(g: GraphBuilder, x: string, w: string): string {
  const meanSquare = g.op('ReduceMean', [g.op('Pow', [x, g.scalar(2)])], { axes: [-1], keepdims: 1 });
  const root = g.op('Sqrt', [g.op('Add', [meanSquare, g.scalar(1e-6)])]);
  return g.op('Mul', [g.op('Div', [x, root]), w]);
}

/** Pre-norm block: attention then SwiGLU, both residual. Causal rotary attention when `decoder` is given. */
function block(
  g: GraphBuilder,
  weight: Weight,
  x: string,
  prefix: string,
  width: number,
  heads: number,
  decoder: { cos: string; sin: string; mask: string; past: { k: string; v: string } } | undefined,
): { output: string; keys: string; values: string } {
  const headDimension = width / heads;
  const normed = rmsNorm(g, x, weight(`${prefix}.attn_norm.weight`));
  const split = (value: string) =>
    g.op('Transpose', [g.op('Reshape', [value, g.ints([0, 0, heads, headDimension])])], {
      perm: [0, 2, 1, 3],
    });
  const projections = g.op('MatMul', [
    normed,
    weight(`${prefix}.attn.q.weight`, `${prefix}.attn.k.weight`, `${prefix}.attn.v.weight`),
  ]);
  const [query, key, value] = g.ops('Split', [projections, g.ints([width, width, width])], 3, {
    axis: -1,
  }) as [string, string, string];
  let q = split(query);
  let k = split(key);
  const v = split(value);
  const keysOf = (keys: string) => g.op('Transpose', [keys], { perm: [0, 1, 3, 2] });
  let mixed: string; // [B, H, L, hd]
  if (decoder === undefined) {
    const scores = g.op('Mul', [g.op('MatMul', [q, keysOf(k)]), g.scalar(1 / Math.sqrt(headDimension))]);
    mixed = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
  } else {
    q = rope(g, q, decoder.cos, decoder.sin, headDimension);
    k = rope(g, k, decoder.cos, decoder.sin, headDimension);
    // Attention over the past keys and this run's keys side by side, never concatenating the cache
    // itself: joining [B, H, Lp, hd] with the new keys copied the whole cache on every token.
    let scores = g.op(
      'Concat',
      [g.op('MatMul', [q, keysOf(decoder.past.k)]), g.op('MatMul', [q, keysOf(k)])],
      {
        axis: -1,
      },
    );
    scores = g.op('Add', [g.op('Mul', [scores, g.scalar(1 / Math.sqrt(headDimension))]), decoder.mask]);
    const weights = g.op('Softmax', [scores], { axis: -1 }); // [B, H, L, Lp + L]
    const pastLength = g.op('Shape', [decoder.past.k], { start: 2, end: 3 });
    const last = g.ints([3]);
    const pastWeights = g.op('Slice', [weights, g.ints([0]), pastLength, last]);
    const newWeights = g.op('Slice', [weights, pastLength, g.ints([2 ** 62]), last]);
    mixed = g.op('Add', [g.op('MatMul', [pastWeights, decoder.past.v]), g.op('MatMul', [newWeights, v])]);
  }
  const merged = g.op('Reshape', [g.op('Transpose', [mixed], { perm: [0, 2, 1, 3] }), g.ints([0, 0, width])]);
  const afterAttention = g.op('Add', [x, g.op('MatMul', [merged, weight(`${prefix}.attn.o.weight`)])]);
  const hidden = rmsNorm(g, afterAttention, weight(`${prefix}.mlp_norm.weight`));
  const hiddenWidth = hiddenSize(width);
  const [gate, up] = g.ops(
    'Split',
    [
      g.op('MatMul', [hidden, weight(`${prefix}.mlp.gate.weight`, `${prefix}.mlp.up.weight`)]),
      g.ints([hiddenWidth, hiddenWidth]),
    ],
    2,
    { axis: -1 },
  ) as [string, string];
  const swish = g.op('Mul', [gate, g.op('Sigmoid', [gate])]);
  const down = g.op('MatMul', [g.op('Mul', [swish, up]), weight(`${prefix}.mlp.down.weight`)]);
  return { output: g.op('Add', [afterAttention, down]), keys: k, values: v };
}

/** x cos + rotate_half(x) sin, rotate_half(x) = concat(-x[half:], x[:half]). */
function rope(g: GraphBuilder, x: string, cos: string, sin: string, headDimension: number): string {
  const half = headDimension / 2;
  const first = g.op('Slice', [x, g.ints([0]), g.ints([half]), g.ints([-1])]);
  const second = g.op('Slice', [x, g.ints([half]), g.ints([headDimension]), g.ints([-1])]);
  const rotated = g.op('Concat', [g.op('Neg', [second]), first], { axis: -1 });
  return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
}
