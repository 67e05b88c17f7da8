#!/usr/bin/env node
// Run by each package's `prepack`: a published package carries the project's licence text, which
// lives once at the repository root.
import { copyFileSync } from 'node:fs';

copyFileSync(new URL('../LICENSE', import.meta.url), 'LICENSE');
