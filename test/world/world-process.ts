/**
 * The world (a counting server behind a delaying proxy) in a child process of its own, as a
 * real server is: the client's event loop and the server's then stall independently, and
 * the server stamps each arrival on its own loop. Run by `spawnWorld` (index.ts) with the
 * options as JSON in argv; answers 'ready' with its URL over IPC, then `'arrivals'` with
 * the arrivals so far, `'reset'` by forgetting them, and `'close'` by closing and exiting.
 */
import { startWorld } from './index.js';

const world = await startWorld(JSON.parse(process.argv[2]!) as Parameters<typeof startWorld>[0]);
process.on('message', (message: string) => {
  if (message === 'arrivals') process.send!({ arrivals: world.server.arrivals, timeOrigin: performance.timeOrigin });
  else if (message === 'reset') {
    world.server.reset();
    process.send!({ reset: true });
  } else if (message === 'close') void world.close().then(() => process.disconnect());
});
process.send!({ url: world.url });
