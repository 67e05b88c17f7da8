// Scaled dot-product attention for the tiny VLM, written in AssemblyScript and compiled to WebAssembly
// with 128-bit SIMD (`npm run build` runs asc; the output is wasm/attention.wasm). TensorFlow.js's wasm
// backend runs batched matMuls outside XNNPACK at ~1.3 GFLOP/s; these loops run the same products at
// ~6 GFLOP/s and skip the masked half of causal attention.
//
// Pointers are byte offsets into the module's linear memory (the host places the arrays); every array
// is float32, row-major. Shapes: q / out / dout / dq [batch, heads, queries, width]; k / v / dk / dv
// [batch, heads, capacity, width] of which the first `keys` rows are used (capacity > keys is the
// generation cache); valid [batch, capacity] (1 = a real token, 0 = a pad) or 0 for all valid; probs
// [batch, heads, queries, keys]. `width` (the head dimension) must be a multiple of 4.
//
// Query i sits at absolute position i + keys - queries, so a causal query sees keys up to its own
// position (a one-token generation step sees the whole cache). A query with no visible key outputs 0.

/** sum over c < width of a[c] * b[c]. */
function dot(a: usize, b: usize, width: i32): f32 {
  let sum = f32x4.splat(0);
  for (let c = 0; c < width; c += 4) {
    const offset = (c as usize) << 2;
    sum = f32x4.add(sum, f32x4.mul(v128.load(a + offset), v128.load(b + offset)));
  }
  return (
    f32x4.extract_lane(sum, 0) +
    f32x4.extract_lane(sum, 1) +
    f32x4.extract_lane(sum, 2) +
    f32x4.extract_lane(sum, 3)
  );
}

/** y[c] += alpha * x[c] for c < width. */
function axpy(alpha: f32, x: usize, y: usize, width: i32): void {
  const scale = f32x4.splat(alpha);
  for (let c = 0; c < width; c += 4) {
    const offset = (c as usize) << 2;
    v128.store(y + offset, f32x4.add(v128.load(y + offset), f32x4.mul(scale, v128.load(x + offset))));
  }
}

function zero(pointer: usize, count: i32): void {
  memory.fill(pointer, 0, (count as usize) << 2);
}

/** One past the last key query i may see. */
function visibleKeys(i: i32, queries: i32, keys: i32, causal: i32): i32 {
  return causal !== 0 ? min(keys, i + keys - queries + 1) : keys;
}

/**
 * One query's attention: row[j] = softmax_j(scale query·k_j) over the visible keys j < last that are
 * valid (0 for the others, up to `keys`), output = sum_j row[j] v_j. Rows are `width` floats apart.
 */
function attendRow(
  query: usize,
  kGroup: usize,
  vGroup: usize,
  validRow: usize,
  last: i32,
  keys: i32,
  row: usize,
  output: usize,
  width: i32,
  scale: f32,
): void {
  const rowBytes = (width as usize) << 2;
  let max: f32 = -Infinity;
  for (let j = 0; j < last; j++) {
    if (validRow !== 0 && load<f32>(validRow + ((j as usize) << 2)) === 0) {
      store<f32>(row + ((j as usize) << 2), -Infinity);
      continue;
    }
    const score = scale * dot(query, kGroup + (j as usize) * rowBytes, width);
    store<f32>(row + ((j as usize) << 2), score);
    if (score > max) max = score;
  }
  zero(output, width);
  if (max === -Infinity) {
    zero(row, keys); // no visible key
    return;
  }
  let total: f32 = 0;
  for (let j = 0; j < last; j++) {
    const weight = Mathf.exp(load<f32>(row + ((j as usize) << 2)) - max);
    store<f32>(row + ((j as usize) << 2), weight);
    total += weight;
  }
  const inverse: f32 = 1 / total;
  for (let j = 0; j < last; j++) {
    store<f32>(row + ((j as usize) << 2), load<f32>(row + ((j as usize) << 2)) * inverse);
  }
  if (width === 32) weightedSum32(row, 4, vGroup, 0, last, output);
  else {
    for (let j = 0; j < last; j++) {
      const p = load<f32>(row + ((j as usize) << 2));
      if (p !== 0) axpy(p, vGroup + (j as usize) * rowBytes, output, width);
    }
  }
  if (last < keys) zero(row + ((last as usize) << 2), keys - last);
}

/**
 * output = sum over t in [from, to) of weight_t x_t, for rows x_t of 32 floats (the default head width)
 * and weight_t at weights + t * weightStride bytes: the sum is held in eight vector registers instead of
 * reloaded and stored for every row. Zero weights are skipped.
 */
function weightedSum32(
  weights: usize,
  weightStride: usize,
  x: usize,
  from: i32,
  to: i32,
  output: usize,
): void {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0);
  let a5 = f32x4.splat(0);
  let a6 = f32x4.splat(0);
  let a7 = f32x4.splat(0);
  for (let t = from; t < to; t++) {
    const weight = load<f32>(weights + (t as usize) * weightStride);
    if (weight === 0) continue;
    const w = f32x4.splat(weight);
    const row = x + ((t as usize) << 7);
    a0 = f32x4.add(a0, f32x4.mul(w, v128.load(row, 0)));
    a1 = f32x4.add(a1, f32x4.mul(w, v128.load(row, 16)));
    a2 = f32x4.add(a2, f32x4.mul(w, v128.load(row, 32)));
    a3 = f32x4.add(a3, f32x4.mul(w, v128.load(row, 48)));
    a4 = f32x4.add(a4, f32x4.mul(w, v128.load(row, 64)));
    a5 = f32x4.add(a5, f32x4.mul(w, v128.load(row, 80)));
    a6 = f32x4.add(a6, f32x4.mul(w, v128.load(row, 96)));
    a7 = f32x4.add(a7, f32x4.mul(w, v128.load(row, 112)));
  }
  v128.store(output, a0, 0);
  v128.store(output, a1, 16);
  v128.store(output, a2, 32);
  v128.store(output, a3, 48);
  v128.store(output, a4, 64);
  v128.store(output, a5, 80);
  v128.store(output, a6, 96);
  v128.store(output, a7, 112);
}

/**
 * out = softmax(scale q kᵀ + mask) v. With keepProbs the probabilities are written to probs (the
 * backward pass needs them); otherwise probs is a scratch row of `keys` floats.
 */
export function forward(
  q: usize,
  k: usize,
  v: usize,
  valid: usize,
  out: usize,
  probs: usize,
  keepProbs: i32,
  batch: i32,
  heads: i32,
  queries: i32,
  keys: i32,
  capacity: i32,
  width: i32,
  scale: f32,
  causal: i32,
): void {
  const rowBytes = (width as usize) << 2;
  for (let b = 0; b < batch; b++) {
    const validRow: usize = valid === 0 ? 0 : valid + (((b as usize) * (capacity as usize)) << 2);
    for (let h = 0; h < heads; h++) {
      const group = (b as usize) * (heads as usize) + (h as usize);
      const qGroup = q + group * (queries as usize) * rowBytes;
      const kGroup = k + group * (capacity as usize) * rowBytes;
      const vGroup = v + group * (capacity as usize) * rowBytes;
      const outGroup = out + group * (queries as usize) * rowBytes;
      for (let i = 0; i < queries; i++) {
        const row =
          keepProbs !== 0
            ? probs + (((group * (queries as usize) + (i as usize)) * (keys as usize)) << 2)
            : probs;
        attendRow(
          qGroup + (i as usize) * rowBytes,
          kGroup,
          vGroup,
          validRow,
          visibleKeys(i, queries, keys, causal),
          keys,
          row,
          outGroup + (i as usize) * rowBytes,
          width,
          scale,
        );
      }
    }
  }
}

/** y = x cos + rotate_half(x) sin (rotary positions on pairs (j, j + width / 2)); cos / sin hold width / 2. */
function rotate(x: usize, y: usize, cos: usize, sin: usize, width: i32): void {
  const half = width >> 1;
  for (let j = 0; j < half; j++) {
    const c = load<f32>(cos + ((j as usize) << 2));
    const s = load<f32>(sin + ((j as usize) << 2));
    const first = load<f32>(x + ((j as usize) << 2));
    const second = load<f32>(x + (((j + half) as usize) << 2));
    store<f32>(y + ((j as usize) << 2), first * c - second * s);
    store<f32>(y + (((j + half) as usize) << 2), second * c + first * s);
  }
}

/**
 * One generation step of one layer for `count` sequences, cache rows rows[i] (i32): qkv
 * [count, 3 * heads * width] holds their new q | k | v projections, positions (i32 [count]) their
 * rotary positions, cos / sin the rotary tables [positions, width / 2]. Rotates q and k, writes k and v
 * at cache slot `length`, and attends over the row's slots 0..length that are valid (the host marks slot
 * `length`). out: [count, heads * width]. query and scores are scratch (width and capacity floats).
 */
export function decode(
  qkv: usize,
  rows: usize,
  count: i32,
  positions: usize,
  cos: usize,
  sin: usize,
  k: usize,
  v: usize,
  valid: usize,
  out: usize,
  query: usize,
  scores: usize,
  heads: i32,
  length: i32,
  capacity: i32,
  width: i32,
  scale: f32,
): void {
  const rowBytes = (width as usize) << 2;
  const dimensionBytes = (heads as usize) * rowBytes;
  const tableBytes = ((width >> 1) as usize) << 2;
  for (let i = 0; i < count; i++) {
    const row = load<i32>(rows + ((i as usize) << 2)) as usize;
    const position = load<i32>(positions + ((i as usize) << 2)) as usize;
    const cosRow = cos + position * tableBytes;
    const sinRow = sin + position * tableBytes;
    const projections = qkv + (i as usize) * 3 * dimensionBytes;
    const validRow = valid + ((row * (capacity as usize)) << 2);
    for (let h = 0; h < heads; h++) {
      const group = row * (heads as usize) + (h as usize);
      const kGroup = k + group * (capacity as usize) * rowBytes;
      const vGroup = v + group * (capacity as usize) * rowBytes;
      const slot = (length as usize) * rowBytes;
      const head = (h as usize) * rowBytes;
      rotate(projections + head, query, cosRow, sinRow, width);
      rotate(projections + dimensionBytes + head, kGroup + slot, cosRow, sinRow, width);
      memory.copy(vGroup + slot, projections + 2 * dimensionBytes + head, rowBytes);
      attendRow(
        query,
        kGroup,
        vGroup,
        validRow,
        length + 1,
        length + 1,
        scores,
        out + (i as usize) * dimensionBytes + head,
        width,
        scale,
      );
    }
  }
}

/**
 * Gradients of forward (kept probs, capacity = keys) given dout: with dP = dout vᵀ and
 * dS = P * (dP - rowsum(P * dP)), dq = scale dS k, dk = scale dSᵀ q, dv = Pᵀ dout. scratch holds
 * queries x keys floats (scale dS of one group). dq, dk and dv are overwritten.
 */
export function backward(
  q: usize,
  k: usize,
  v: usize,
  probs: usize,
  dout: usize,
  dq: usize,
  dk: usize,
  dv: usize,
  scratch: usize,
  batch: i32,
  heads: i32,
  queries: i32,
  keys: i32,
  width: i32,
  scale: f32,
  causal: i32,
): void {
  const rowBytes = (width as usize) << 2;
  const keyBytes = (keys as usize) << 2;
  const groups = (batch as usize) * (heads as usize);
  if (width !== 32) {
    zero(dk, (groups * (keys as usize) * (width as usize)) as i32);
    zero(dv, (groups * (keys as usize) * (width as usize)) as i32);
  }
  for (let group: usize = 0; group < groups; group++) {
    const qGroup = q + group * (queries as usize) * rowBytes;
    const dqGroup = dq + group * (queries as usize) * rowBytes;
    const doutGroup = dout + group * (queries as usize) * rowBytes;
    const kGroup = k + group * (keys as usize) * rowBytes;
    const vGroup = v + group * (keys as usize) * rowBytes;
    const dkGroup = dk + group * (keys as usize) * rowBytes;
    const dvGroup = dv + group * (keys as usize) * rowBytes;
    const probsGroup = probs + group * (queries as usize) * keyBytes;
    for (let i = 0; i < queries; i++) {
      const row = probsGroup + (i as usize) * keyBytes;
      const gradScores = scratch + (i as usize) * keyBytes;
      const query = qGroup + (i as usize) * rowBytes;
      const gradOut = doutGroup + (i as usize) * rowBytes;
      const gradQuery = dqGroup + (i as usize) * rowBytes;
      const last = visibleKeys(i, queries, keys, causal);
      let weighted: f32 = 0; // sum_j P_ij dP_ij
      for (let j = 0; j < last; j++) {
        const p = load<f32>(row + ((j as usize) << 2));
        const gradProb: f32 = p === 0 ? 0 : dot(gradOut, vGroup + (j as usize) * rowBytes, width);
        store<f32>(gradScores + ((j as usize) << 2), gradProb);
        weighted += p * gradProb;
      }
      for (let j = 0; j < last; j++) {
        const p = load<f32>(row + ((j as usize) << 2));
        const gradProb = load<f32>(gradScores + ((j as usize) << 2));
        store<f32>(
          gradScores + ((j as usize) << 2),
          p === 0 ? (0 as f32) : scale * p * (gradProb - weighted),
        );
      }
      if (width === 32) {
        weightedSum32(gradScores, 4, kGroup, 0, last, gradQuery);
        continue;
      }
      zero(gradQuery, width);
      for (let j = 0; j < last; j++) {
        const p = load<f32>(row + ((j as usize) << 2));
        if (p === 0) continue;
        const gradScore = load<f32>(gradScores + ((j as usize) << 2));
        axpy(gradScore, kGroup + (j as usize) * rowBytes, gradQuery, width);
        axpy(gradScore, query, dkGroup + (j as usize) * rowBytes, width);
        axpy(p, gradOut, dvGroup + (j as usize) * rowBytes, width);
      }
    }
    if (width !== 32) continue;
    // Key by key, down the columns of dS and P: each key's sums stay in registers.
    for (let j = 0; j < keys; j++) {
      const from = causal !== 0 ? max(0, j - (keys - queries)) : 0;
      const column = (j as usize) << 2;
      weightedSum32(scratch + column, keyBytes, qGroup, from, queries, dkGroup + (j as usize) * rowBytes);
      weightedSum32(
        probsGroup + column,
        keyBytes,
        doutGroup,
        from,
        queries,
        dvGroup + (j as usize) * rowBytes,
      );
    }
  }
}

// ------------------------------------------------------------------------------- generation steps
// A generation step is ~100 tiny tensors; each tfjs op's bookkeeping costs about what its arithmetic
// does. So a step keeps its residual stream here and leaves tfjs only the dense products (XNNPACK).

/** y[r] = x[r] / sqrt(mean(x[r]²) + 1e-6) * weight for `rows` rows of `width` floats. */
export function rmsNorm(x: usize, weight: usize, y: usize, rows: i32, width: i32): void {
  const rowBytes = (width as usize) << 2;
  for (let r = 0; r < rows; r++) {
    const input = x + (r as usize) * rowBytes;
    const output = y + (r as usize) * rowBytes;
    const meanSquare = dot(input, input, width) / (width as f32);
    const scale = f32x4.splat(1 / Mathf.sqrt(meanSquare + 1e-6));
    for (let c = 0; c < width; c += 4) {
      const offset = (c as usize) << 2;
      v128.store(
        output + offset,
        f32x4.mul(f32x4.mul(v128.load(input + offset), scale), v128.load(weight + offset)),
      );
    }
  }
}

/** x[i] += delta[i] for `count` floats (a multiple of 4). */
export function addInto(x: usize, delta: usize, count: i32): void {
  for (let c = 0; c < count; c += 4) {
    const offset = (c as usize) << 2;
    v128.store(x + offset, f32x4.add(v128.load(x + offset), v128.load(delta + offset)));
  }
}

/**
 * SwiGLU: gateUp [rows, 2 * hidden] holds each row's gate | up projections; y [rows, hidden] =
 * gate * sigmoid(gate) * up.
 */
export function swiglu(gateUp: usize, y: usize, rows: i32, hidden: i32): void {
  for (let r = 0; r < rows; r++) {
    const gates = gateUp + (((r as usize) * 2 * (hidden as usize)) << 2);
    const ups = gates + ((hidden as usize) << 2);
    const output = y + (((r as usize) * (hidden as usize)) << 2);
    for (let c = 0; c < hidden; c++) {
      const offset = (c as usize) << 2;
      const gate = load<f32>(gates + offset);
      store<f32>(output + offset, (gate / (1 + Mathf.exp(-gate))) * load<f32>(ups + offset));
    }
  }
}

/** y[r] = table[ids[r]] (i32 ids) for rows of `width` floats: the token embedding. */
export function gatherRows(table: usize, ids: usize, y: usize, rows: i32, width: i32): void {
  const rowBytes = (width as usize) << 2;
  for (let r = 0; r < rows; r++) {
    const id = load<i32>(ids + ((r as usize) << 2)) as usize;
    memory.copy(y + (r as usize) * rowBytes, table + id * rowBytes, rowBytes);
  }
}
