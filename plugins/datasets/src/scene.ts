/**
 * CLEVR / TRANCE-like scenes drawn from above with a slight 3-D hint: cubes are squares, spheres
 * circles with a soft highlight, cylinders upright bodies with a light elliptical top. Metal gets a
 * white specular spot, glass is translucent, rubber flat. Positions are in [0, 1] image units.
 */
import type { Random } from '@ekipl/core';
import { Canvas, mix, type Rgb } from './raster.js';

/** CLEVR's eight colours (the values TRANCE and CLEVR-Math questions use). */
export const colors = {
  gray: [87, 87, 87],
  red: [173, 35, 35],
  blue: [42, 75, 215],
  green: [29, 105, 20],
  brown: [129, 74, 25],
  purple: [129, 38, 192],
  cyan: [41, 208, 208],
  yellow: [255, 238, 51],
} as const satisfies Record<string, Rgb>;

export type ColorName = keyof typeof colors;
export const colorNames = Object.keys(colors) as ColorName[];
export const shapes = ['cube', 'sphere', 'cylinder'] as const;
export type Shape = (typeof shapes)[number];
export const sizes = ['small', 'medium', 'large'] as const;
export type Size = (typeof sizes)[number];
export const materials = ['rubber', 'metal', 'glass'] as const;
export type Material = (typeof materials)[number];

/** Radius of each size as a share of the image side. */
export const sizeRadius: Record<Size, number> = { small: 0.055, medium: 0.075, large: 0.095 };

export interface SceneObject {
  id: number;
  shape: Shape;
  size: Size;
  color: ColorName;
  material: Material;
  /** Centre, in [0, 1] image units (y grows towards the viewer: "front"). */
  x: number;
  y: number;
}

export const background: Rgb = [214, 214, 208];
const white: Rgb = [255, 255, 255];
const black: Rgb = [0, 0, 0];

/** How a scene is looked at: an offset and a zoom about the centre (OOD shifted viewpoints). */
export interface View {
  dx: number;
  dy: number;
  zoom: number;
}

export const frontView: View = { dx: 0, dy: 0, zoom: 1 };

export function project(
  object: Pick<SceneObject, 'x' | 'y'>,
  view: View,
  imageSize: number,
): { x: number; y: number } {
  return {
    x: ((object.x - 0.5) * view.zoom + 0.5 + view.dx) * imageSize,
    y: ((object.y - 0.5) * view.zoom + 0.5 + view.dy) * imageSize,
  };
}

/** Draws the objects back to front (smaller y first), optionally with their ids. */
export function drawScene(
  objects: readonly SceneObject[],
  imageSize: number,
  options: { view?: View; labels?: boolean } = {},
): Canvas {
  const view = options.view ?? frontView;
  const canvas = new Canvas(imageSize, imageSize, background);
  const ordered = objects.slice().sort((a, b) => a.y - b.y || a.id - b.id);
  for (const object of ordered) drawObject(canvas, object, imageSize, view);
  if (options.labels === true) {
    for (const object of ordered) drawLabel(canvas, object, imageSize, view);
  }
  return canvas;
}

function drawObject(canvas: Canvas, object: SceneObject, imageSize: number, view: View): void {
  const { x, y } = project(object, view, imageSize);
  const r = sizeRadius[object.size] * imageSize * view.zoom;
  const base = colors[object.color];
  const alpha = object.material === 'glass' ? 0.55 : 1;
  const outline = mix(base, black, 0.45);
  const edge = Math.max(0.6, r * 0.12);
  switch (object.shape) {
    case 'cube': {
      const half = r * 0.85;
      canvas.fillRect(x - half - edge, y - half - edge, 2 * (half + edge), 2 * (half + edge), outline);
      canvas.fillRect(x - half, y - half, 2 * half, 2 * half, base, alpha);
      break;
    }
    case 'sphere': {
      canvas.fillCircle(x, y, r + edge, outline);
      canvas.fillCircle(x, y, r, base, alpha);
      canvas.fillCircle(x - r * 0.25, y - r * 0.25, r * 0.45, mix(base, white, 0.35), 0.6 * alpha);
      break;
    }
    case 'cylinder': {
      const halfWidth = r * 0.8;
      const top = y - r * 0.55;
      const bottom = y + r * 0.65;
      const cap = r * 0.32;
      canvas.fillRect(x - halfWidth - edge, top, 2 * (halfWidth + edge), bottom - top, outline);
      canvas.fillEllipse(x, bottom, halfWidth + edge, cap + edge, outline);
      canvas.fillEllipse(x, top, halfWidth + edge, cap + edge, outline);
      canvas.fillRect(x - halfWidth, top, 2 * halfWidth, bottom - top, base, alpha);
      canvas.fillEllipse(x, bottom, halfWidth, cap, base, alpha);
      canvas.fillEllipse(x, top, halfWidth, cap, mix(base, white, 0.35), alpha);
      break;
    }
  }
  if (object.material === 'metal')
    canvas.fillCircle(x + r * 0.3, y - r * 0.3, Math.max(0.7, r * 0.22), white, 0.9);
}

function drawLabel(canvas: Canvas, object: SceneObject, imageSize: number, view: View): void {
  const { x, y } = project(object, view, imageSize);
  const r = sizeRadius[object.size] * imageSize * view.zoom;
  const pixel = Math.max(1, Math.round(imageSize / 96));
  const text = String(object.id);
  const width = (text.length * 4 - 1) * pixel;
  // Below-right of the object, on a white plate so it reads on any colour.
  const left = Math.min(imageSize - width - pixel, x + r * 0.55);
  const top = Math.min(imageSize - 6 * pixel, y + r * 0.55);
  canvas.fillRect(left - pixel, top - pixel, width + 2 * pixel, 7 * pixel, white);
  canvas.digits(text, left, top, pixel, black);
}

/** Positions for `count` objects of the given sizes, far enough apart not to overlap, or undefined. */
export function placeObjects(
  random: Random,
  radii: readonly number[],
  margin = 0.04,
): { x: number; y: number }[] | undefined {
  const placed: { x: number; y: number; r: number }[] = [];
  for (const r of radii) {
    let found = false;
    for (let attempt = 0; attempt < 200 && !found; attempt++) {
      const candidate = {
        x: r + margin + random.float() * (1 - 2 * (r + margin)),
        y: r + margin + random.float() * (1 - 2 * (r + margin)),
        r,
      };
      if (
        placed.every(
          (other) => Math.hypot(other.x - candidate.x, other.y - candidate.y) > other.r + r + margin,
        )
      ) {
        placed.push(candidate);
        found = true;
      }
    }
    if (!found) return undefined;
  }
  return placed.map(({ x, y }) => ({ x, y }));
}

/** "a large red metal cube" */
export function describeObject(object: SceneObject, withMaterial = true): string {
  return `a ${object.size} ${object.color}${withMaterial ? ` ${object.material}` : ''} ${object.shape}`;
}
