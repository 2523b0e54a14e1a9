/**
 * One member of an adaptive fleet in its own process, run by runAdaptiveFleetProcesses
 * (adaptive-fleet.ts): argv[2] is its options as JSON. Once connected it says 'ready' over
 * IPC, waits for `{ startAt }`, runs, and answers its MembersResult.
 */
import { runMembers } from './adaptive-fleet.js';

const startAt = (): Promise<number> =>
  new Promise((resolve) => {
    process.once('message', (message) => resolve((message as { startAt: number }).startAt));
    process.send!('ready');
  });
const result = await runMembers({ ...(JSON.parse(process.argv[2]!) as Omit<Parameters<typeof runMembers>[0], 'startAt'>), startAt });
process.send!(result, () => process.disconnect());
