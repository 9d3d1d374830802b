// The app's typed subjects: the room validates with them, the browser code types itself by them.
import * as z from 'zod';

export const subjects = {
  chat: z.object({ text: z.string().min(1).max(200) }),
  'cursor*': z.object({ x: z.number(), y: z.number() }),
};
