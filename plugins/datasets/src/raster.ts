/**
 * A tiny deterministic rasteriser: shapes are filled by testing supersampled pixel centres, then box-
 * filtered down. Plain double arithmetic, no platform libraries, so the same scene gives the same bytes
 * on every machine (sharp only encodes the result as PNG).
 */
export type Rgb = readonly [number, number, number];

export type Point = readonly [number, number];

export class Canvas {
  private readonly samples: Float64Array;
  private readonly sampledWidth: number;
  private readonly sampledHeight: number;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb,
    /** Samples per pixel along each axis (anti-aliasing). */
    private readonly supersample = 4,
  ) {
    this.sampledWidth = width * supersample;
    this.sampledHeight = height * supersample;
    this.samples = new Float64Array(this.sampledWidth * this.sampledHeight * 3);
    for (let i = 0; i < this.sampledWidth * this.sampledHeight; i++) this.samples.set(background, i * 3);
  }

  /** Fills every sample whose centre (in pixel units) satisfies `inside`, within the bounding box. */
  fill(
    box: { left: number; top: number; right: number; bottom: number },
    inside: (x: number, y: number) => boolean,
    color: Rgb,
    alpha = 1,
  ): void {
    const s = this.supersample;
    const x0 = Math.max(0, Math.floor(box.left * s));
    const y0 = Math.max(0, Math.floor(box.top * s));
    const x1 = Math.min(this.sampledWidth - 1, Math.ceil(box.right * s));
    const y1 = Math.min(this.sampledHeight - 1, Math.ceil(box.bottom * s));
    for (let sy = y0; sy <= y1; sy++) {
      const y = (sy + 0.5) / s;
      for (let sx = x0; sx <= x1; sx++) {
        const x = (sx + 0.5) / s;
        if (!inside(x, y)) continue;
        const offset = (sy * this.sampledWidth + sx) * 3;
        for (let c = 0; c < 3; c++) {
          this.samples[offset + c] = this.samples[offset + c]! * (1 - alpha) + color[c]! * alpha;
        }
      }
    }
  }

  fillEllipse(cx: number, cy: number, rx: number, ry: number, color: Rgb, alpha = 1): void {
    this.fill(
      { left: cx - rx, top: cy - ry, right: cx + rx, bottom: cy + ry },
      (x, y) => ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1,
      color,
      alpha,
    );
  }

  fillCircle(cx: number, cy: number, r: number, color: Rgb, alpha = 1): void {
    this.fillEllipse(cx, cy, r, r, color, alpha);
  }

  fillRect(left: number, top: number, width: number, height: number, color: Rgb, alpha = 1): void {
    this.fill(
      { left, top, right: left + width, bottom: top + height },
      (x, y) => x >= left && x <= left + width && y >= top && y <= top + height,
      color,
      alpha,
    );
  }

  /** Even-odd filled polygon. */
  fillPolygon(points: readonly Point[], color: Rgb, alpha = 1): void {
    const xs = points.map((point) => point[0]);
    const ys = points.map((point) => point[1]);
    this.fill(
      { left: Math.min(...xs), top: Math.min(...ys), right: Math.max(...xs), bottom: Math.max(...ys) },
      (x, y) => {
        let inside = false;
        for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
          const [xi, yi] = points[i]!;
          const [xj, yj] = points[j]!;
          if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
        }
        return inside;
      },
      color,
      alpha,
    );
  }

  /** A straight stroke of the given width (a filled quadrilateral). */
  line(x0: number, y0: number, x1: number, y1: number, width: number, color: Rgb): void {
    const length = Math.hypot(x1 - x0, y1 - y0) || 1;
    const nx = ((y0 - y1) / length) * (width / 2);
    const ny = ((x1 - x0) / length) * (width / 2);
    this.fillPolygon(
      [
        [x0 + nx, y0 + ny],
        [x1 + nx, y1 + ny],
        [x1 - nx, y1 - ny],
        [x0 - nx, y0 - ny],
      ],
      color,
    );
  }

  /** Digits from a 3x5 bitmap font, each font pixel `pixel` wide, top-left at (left, top). */
  digits(text: string, left: number, top: number, pixel: number, color: Rgb): void {
    [...text].forEach((character, index) => {
      const glyph = digitGlyphs[character];
      if (glyph === undefined) return;
      glyph.forEach((row, y) => {
        for (let x = 0; x < 3; x++) {
          if (row[x] === '#')
            this.fillRect(left + (index * 4 + x) * pixel, top + y * pixel, pixel, pixel, color);
        }
      });
    });
  }

  /** 8-bit RGB pixels, each the rounded mean of its samples. */
  toRgb(): Uint8Array {
    const s = this.supersample;
    const result = new Uint8Array(this.width * this.height * 3);
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) {
        for (let c = 0; c < 3; c++) {
          let total = 0;
          for (let dy = 0; dy < s; dy++) {
            for (let dx = 0; dx < s; dx++)
              total += this.samples[((y * s + dy) * this.sampledWidth + x * s + dx) * 3 + c]!;
          }
          result[(y * this.width + x) * 3 + c] = Math.round(total / (s * s));
        }
      }
    }
    return result;
  }
}

/** Width of `digits(text)` in font pixels. */
export function digitsWidth(text: string): number {
  return text.length * 4 - 1;
}

const digitGlyphs: Record<string, readonly string[]> = {
  '0': ['###', '#.#', '#.#', '#.#', '###'],
  '1': ['.#.', '##.', '.#.', '.#.', '###'],
  '2': ['###', '..#', '###', '#..', '###'],
  '3': ['###', '..#', '.##', '..#', '###'],
  '4': ['#.#', '#.#', '###', '..#', '..#'],
  '5': ['###', '#..', '###', '..#', '###'],
  '6': ['###', '#..', '###', '#.#', '###'],
  '7': ['###', '..#', '.#.', '.#.', '.#.'],
  '8': ['###', '#.#', '###', '#.#', '###'],
  '9': ['###', '#.#', '###', '..#', '###'],
};

export function mix(color: Rgb, other: Rgb, amount: number): Rgb {
  return [0, 1, 2].map((c) => color[c]! * (1 - amount) + other[c]! * amount) as unknown as Rgb;
}
