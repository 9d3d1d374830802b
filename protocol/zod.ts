/**
 * zod/mini, the way every schema of the Worker imports it (`import * as z from
 * '../protocol/zod.ts'`). zod classic keeps every method on its schemas'
 * prototypes, so a bundler keeps all of them (about 100 KB of a Worker);
 * zod/mini's functional API (`z.optional(s)`, `s.check(z.minLength(1))`) lets it
 * keep only what is used. Same core, same issues, same inferred types.
 *
 * One difference matters to us: zod classic registers its English messages when
 * it builds its first schema, zod/mini registers none (every issue would read
 * "Invalid input"). Config errors quote zod's English (`prettifyError`), and so
 * do a few token refusals and wire errors, so it is registered here, as zod
 * classic does: only when no locale was chosen first (an app's `z.config`).
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

if (!z.config().localeError) z.config(en());

export * from 'zod/mini';
