import { defineCommand } from 'citty';
import { version } from './version.js';

/** The `ekipl` command: subcommands load lazily, so `ekipl validate` never imports a tensor library. */
export const main = defineCommand({
  meta: {
    name: 'ekipl',
    version,
    description: 'Reinforcement fine-tuning of vision-language models with external knowledge (Vision-EKIPL)',
  },
  subCommands: {
    validate: () => import('./commands/validate.js').then((module) => module.default),
    plugins: () => import('./commands/plugins.js').then((module) => module.default),
    tasks: () => import('./commands/tasks.js').then((module) => module.default),
    train: () => import('./commands/train.js').then((module) => module.default),
    eval: () => import('./commands/eval.js').then((module) => module.default),
    sft: () => import('./commands/sft.js').then((module) => module.default),
    ablate: () => import('./commands/ablate.js').then((module) => module.default),
    report: () => import('./commands/report.js').then((module) => module.default),
  },
});
